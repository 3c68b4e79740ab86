import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vndiplo.cli import app
from vndiplo.errors import VndiploError
from vndiplo.stream import (
    TextDoc,
    count_docs,
    local_engine,
    part_path,
    piece_bounds,
    pipe_spans,
    predict_to_file,
    read_docs,
    read_jsonl_docs,
    word_batches,
)

from conftest import SENTENCES, flat

runner = CliRunner()
TEXTS = [text for text, _ in SENTENCES]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    data = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.jsonl.gz"])
def test_a_jsonl_input_is_read_one_record_at_a_time(tmp_path, name):
    # A broken record far down the file: reading the first documents must not reach it.
    path = write_jsonl(tmp_path / name, [{"id": f"d{i}", "text": TEXTS[i % len(TEXTS)]} for i in range(200)])
    with open(path, "ab") as handle:
        handle.write(gzip.compress(b"{not json\n") if name.endswith(".gz") else b"{not json\n")
    docs = read_jsonl_docs(path)
    assert [next(docs).id for _ in range(3)] == ["d0", "d1", "d2"]
    with pytest.raises(VndiploError, match=f"{name}:201"):
        list(docs)


def test_records_without_an_id_are_named_after_the_file_and_their_place(tmp_path):
    path = write_jsonl(tmp_path / "news.jsonl.gz", [{"text": "Một."}, {"id": "x", "text": "Hai."}, {"text": "Ba."}])
    assert [doc.id for doc in read_jsonl_docs(path)] == ["news-0001", "x", "news-0003"]


def test_a_folder_of_txt_files_is_one_document_per_file_in_name_order(tmp_path):
    (tmp_path / "b.txt").write_text(TEXTS[1], encoding="utf-8")
    (tmp_path / "a.txt").write_text(TEXTS[0], encoding="utf-8")
    (tmp_path / "notes.md").write_text("not read", encoding="utf-8")
    assert list(read_docs([tmp_path])) == [TextDoc("a", TEXTS[0]), TextDoc("b", TEXTS[1])]
    assert count_docs([tmp_path]) == 2


@pytest.mark.parametrize(
    "text, max_chars, expected",
    [
        ("aaaa. bbbb\ncccc. dd", 16, ["aaaa. bbbb\n", "cccc. dd"]),  # after the last paragraph break that fits
        ("Một câu. Hai câu. Ba bốn", 20, ["Một câu. Hai câu. ", "Ba bốn"]),  # no break: after a sentence end
        ("một hai ba bốn năm", 12, ["một hai ba ", "bốn năm"]),  # no sentence end: at a space
        ("x" * 25, 12, ["x" * 12, "x" * 12, "x"]),  # nothing: inside the word
    ],
)
def test_pieces_cut_at_paragraphs_then_sentences_then_spaces(text, max_chars, expected):
    bounds = piece_bounds(text, max_chars)
    assert [text[start:end] for start, end in bounds] == expected
    assert bounds[0][0] == 0 and bounds[-1][1] == len(text)
    assert all(end == next_start for (_, end), (next_start, _) in zip(bounds, bounds[1:]))


def test_batches_hold_at_least_the_asked_words_and_keep_the_order():
    pieces = [TextDoc(str(i), "một hai ba") for i in range(7)]
    batches = list(word_batches(pieces, batch_words=7))
    assert [len(batch) for batch in batches] == [3, 3, 1]
    assert [piece for batch in batches for piece in batch] == pieces


def test_a_document_longer_than_max_length_gets_its_spans_at_their_offsets(tiny_model):
    import spacy

    nlp = spacy.load(tiny_model)
    nlp.max_length = 400
    text = "\n".join(TEXTS * 12)
    assert len(text) > nlp.max_length
    with pytest.raises(ValueError, match="E088"):
        nlp(text)
    [predicted] = pipe_spans(nlp, [TextDoc("long", text)])
    expected = []
    for start, end in piece_bounds(text, nlp.max_length - 1):
        expected += [(start + ent.start_char, start + ent.end_char, ent.label_) for ent in nlp(text[start:end]).ents]
    assert [(s.start, s.end, s.label) for s in predicted.spans] == expected
    assert expected and all(text[s.start : s.end].strip() for s in predicted.spans)


def test_evaluate_and_visualize_take_a_document_longer_than_max_length(tmp_path, tiny_model):
    import spacy

    from vndiplo.evaluate import model_predictor
    from vndiplo.model import visualize

    nlp = spacy.load(tiny_model)
    nlp.max_length = 400
    doc = TextDoc("long", "\n".join(TEXTS * 12))
    [predicted] = model_predictor(nlp)([doc])
    assert predicted.text == doc.text
    visualize(nlp, [doc], tmp_path / "page.html")
    assert "long" in (tmp_path / "page.html").read_text(encoding="utf-8")


def test_predict_streams_every_input_into_out_and_leaves_no_part_file(tmp_path, tiny_model):
    first = write_jsonl(tmp_path / "a.jsonl.gz", [{"id": f"a{i}", "text": t} for i, t in enumerate(TEXTS)])
    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "t0.txt").write_text(TEXTS[0], encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    result = runner.invoke(app, ["predict", str(first), str(folder), str(out), "--model", str(tiny_model)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == [f"a{i}" for i in range(len(TEXTS))] + ["t0"]
    assert not part_path(out).exists()


def test_two_processes_predict_what_one_does(tmp_path, tiny_model):
    import spacy

    nlp = spacy.load(tiny_model)
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "text": TEXTS[i % len(TEXTS)]} for i in range(30)])
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    predict_to_file(local_engine(nlp, batch_words=20), [path], one)
    predict_to_file(local_engine(nlp, batch_words=20, n_process=2), [path], two)  # many batches, both workers busy
    assert one.read_text(encoding="utf-8") == two.read_text(encoding="utf-8")


def _a_worker_that_is_killed(texts):
    os._exit(9)


def test_a_killed_worker_process_is_one_clear_error_that_names_resume(tmp_path, tiny_model, monkeypatch):
    import spacy

    import vndiplo.stream

    monkeypatch.setattr(vndiplo.stream, "_worker_piece_ents", _a_worker_that_is_killed)
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "text": TEXTS[i % len(TEXTS)]} for i in range(6)])
    with pytest.raises(VndiploError, match="--resume"):
        predict_to_file(local_engine(spacy.load(tiny_model), n_process=2), [path], tmp_path / "out.jsonl")


@pytest.mark.parametrize("command", ["predict", "visualize"])
def test_an_output_that_is_the_input_is_refused_before_anything_is_read_or_written(tmp_path, command):
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": "d", "text": TEXTS[0]}])
    before = path.read_bytes()
    same = str(tmp_path / "." / "docs.jsonl")  # the same file under another spelling
    args = [command, str(path), same] if command == "predict" else [command, str(path), "--output", same]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "is the input" in flat(result.output)
    assert path.read_bytes() == before


def test_binary_input_to_predict_is_one_clear_error(tmp_path, tiny_model):
    path = tmp_path / "archive.jsonl"
    path.write_bytes(b'{"id": "a", "text": "x"}\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\n')
    result = runner.invoke(app, ["predict", str(path), str(tmp_path / "out.jsonl"), "--model", str(tiny_model)])
    assert result.exit_code == 1
    assert "binary" in flat(result.output) and "Traceback" not in flat(result.output)
    assert not (tmp_path / "out.jsonl").exists()


def test_a_run_that_fails_before_its_first_document_leaves_no_part_file(tmp_path, tiny_model):
    path = tmp_path / "archive.jsonl"
    path.write_bytes(b"\x00\x01 not text\n")
    result = runner.invoke(app, ["predict", str(path), str(tmp_path / "out.jsonl"), "--model", str(tiny_model)])
    assert result.exit_code == 1 and "binary" in flat(result.output)
    assert list(tmp_path.iterdir()) == [path]


def test_an_input_of_another_kind_is_refused_with_the_formats_read(tmp_path, tiny_model):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    result = runner.invoke(app, ["predict", str(path), str(tmp_path / "out.jsonl"), "--model", str(tiny_model)])
    assert result.exit_code == 1
    assert ".jsonl.gz" in flat(result.output)


def test_resume_keeps_the_done_documents_and_drops_a_record_cut_by_the_kill(tmp_path, tiny_model):
    import spacy

    nlp = spacy.load(tiny_model)
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "text": TEXTS[i % len(TEXTS)]} for i in range(8)])
    out = tmp_path / "pred.jsonl"
    predict_to_file(local_engine(nlp), [path], out)
    full = out.read_text(encoding="utf-8").splitlines(keepends=True)
    part_path(out).write_text("".join(full[:3]) + full[3][:10], encoding="utf-8")
    run = predict_to_file(local_engine(nlp), [path], tmp_path / "pred.jsonl", resume=True)
    assert run.resumed == 3 and run.documents == 8
    assert out.read_text(encoding="utf-8").splitlines(keepends=True) == full


def test_resume_refuses_a_part_file_of_other_inputs(tmp_path, tiny_model):
    import spacy

    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": "d0", "text": TEXTS[0]}])
    out = tmp_path / "pred.jsonl"
    part_path(out).write_text(json.dumps({"id": "elsewhere", "text": "x", "label": []}) + "\n", encoding="utf-8")
    with pytest.raises(VndiploError, match="does not continue"):
        predict_to_file(local_engine(spacy.load(tiny_model)), [path], out, resume=True)


def test_a_killed_run_resumes_without_redoing_or_duplicating_documents(tmp_path, tiny_model):
    count = 3000
    path = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i:05d}", "text": TEXTS[i % len(TEXTS)]} for i in range(count)])
    out = tmp_path / "pred.jsonl"
    part = part_path(out)
    command = [str(Path(sys.executable).with_name("vndiplo")), "predict", str(path), str(out), "--model", str(tiny_model), "--batch-words", "50"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if part.exists() and part.stat().st_size > 20_000:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = part.read_bytes().count(b"\n")
    assert 0 < done_before < count and not out.exists()

    kept = part.read_bytes()[: part.read_bytes().rfind(b"\n") + 1]
    result = runner.invoke(app, ["predict", str(path), str(out), "--model", str(tiny_model), "--resume"])
    assert result.exit_code == 0, result.output
    assert f"{done_before} kept" in flat(result.output)
    written = out.read_bytes()
    ids = [json.loads(line)["id"] for line in written.decode("utf-8").splitlines()]
    assert ids == [f"d{i:05d}" for i in range(count)]
    assert written.startswith(kept)


def test_a_byte_order_mark_before_the_first_record_is_not_part_of_it(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "a", "text": "Nga."}).encode() + b"\n")
    assert list(read_jsonl_docs(path)) == [TextDoc("a", "Nga.")]
