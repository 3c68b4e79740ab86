import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vndiplo.annotations import AnnotatedDoc, Span, read_annotation_paths, write_annotations
from vndiplo.cli import app
from vndiplo.corpus import Document, write_corpus
from vndiplo.dataset import (
    blank_nlp,
    build,
    docs_from_dataset_split,
    misaligned_spans,
    read_docbin,
    write_outputs,
)
from vndiplo.errors import VndiploError
from vndiplo.splits import fold_documents, split_documents

from conftest import SENTENCES, annotated, flat

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIR = ROOT / "annotations" / "gold"
runner = CliRunner()

@pytest.fixture
def gold_dir(tmp_path):
    folder = tmp_path / "gold"
    write_annotations([annotated(i) for i in range(len(SENTENCES))], folder / "gold.jsonl")
    return folder


def test_syllable_tokens_align_with_every_fixture_span():
    assert misaligned_spans(blank_nlp(), [annotated(i) for i in range(len(SENTENCES))]) == []


def test_splits_are_by_document_deterministic_and_disjoint():
    docs = [annotated(i) for i in range(len(SENTENCES))]
    first = split_documents(docs, dev=0.2, test=0.2, seed=3)
    assert first == split_documents(docs, dev=0.2, test=0.2, seed=3)
    ids = [i for split in first.values() for i in split]
    assert sorted(ids) == sorted(d.id for d in docs) and len(ids) == len(set(ids))
    assert len(first["test"]) == 1 and len(first["dev"]) == 1


def test_near_duplicates_land_in_the_same_split_and_fold():
    base = " ".join(f"từ{i}" for i in range(100))
    docs = [AnnotatedDoc(f"d{i}", f"Tiêu đề {i}\n{base}" if i < 2 else f"Khác {i} " * 30, []) for i in range(6)]
    for seed in range(5):
        splits = split_documents(docs, dev=0.2, test=0.2, seed=seed)
        assert any({"d0", "d1"} <= set(ids) for ids in splits.values())
        folds = fold_documents(docs, folds=3, seed=seed)
        assert any({"d0", "d1"} <= set(ids) for ids in folds)


def test_gold_to_dataset_to_docbin_to_spans_is_lossless(gold_dir, tmp_path):
    from datasets import load_from_disk

    built = build([gold_dir], dev=0.2, test=0.2, seed=1)
    out = tmp_path / "corpus"
    write_outputs(built, out)
    dataset = load_from_disk(str(out / "dataset"))
    original = {doc.id: doc for doc in read_annotation_paths([gold_dir])}
    for name in ("train", "dev", "test"):
        from_hf = docs_from_dataset_split(dataset[name])
        from_docbin = read_docbin(out / f"{name}.spacy")
        assert [d.id for d in from_hf] == [d.id for d in from_docbin]
        for hf_doc, bin_doc in zip(from_hf, from_docbin):
            assert hf_doc.text == bin_doc.text == original[hf_doc.id].text
            assert sorted(hf_doc.spans) == sorted(bin_doc.spans) == sorted(original[hf_doc.id].spans)
    tags = dataset["train"].features["ner_tags"].feature.names
    assert tags[0] == "O" and "B-AGREEMENT" in tags
    assert (out / "README.md").read_text(encoding="utf-8").startswith("---\nlanguage:")
    assert "-DOCSTART-" in (out / "train.conll").read_text(encoding="utf-8")


@pytest.mark.skipif(not GOLD_DIR.exists(), reason="no committed gold yet")
def test_all_committed_gold_round_trips_through_docbin():
    gold = read_annotation_paths([GOLD_DIR])
    assert gold, "annotations/gold/ holds no document"
    nlp = blank_nlp()
    assert misaligned_spans(nlp, gold) == []
    from vndiplo.dataset import from_spacy_doc, to_spacy_doc

    for doc in gold:
        again = from_spacy_doc(to_spacy_doc(nlp, doc))
        assert again.text == doc.text and sorted(again.spans) == sorted(doc.spans)


def test_span_on_a_document_missing_from_the_corpus_is_refused(gold_dir, tmp_path):
    corpus = tmp_path / "docs.jsonl"
    doc = annotated(0)
    write_corpus([Document(doc.id, doc.text, "t", "seeds", "x", "h", 3)], corpus)
    with pytest.raises(VndiploError, match="not in the corpus"):
        build([gold_dir], corpus_paths=[corpus])


@pytest.mark.parametrize(
    "spans, message",
    [
        ([Span(0, 9, "DATE"), Span(5, 9, "DATE")], "break the label spec"),
        ([Span(0, 9, "TIME")], "break the label spec"),
    ],
)
def test_overlaps_and_unknown_labels_are_refused(tmp_path, spans, message):
    doc = annotated(0)
    write_annotations([AnnotatedDoc(doc.id, doc.text, spans)], tmp_path / "g" / "gold.jsonl")
    with pytest.raises(VndiploError, match=message):
        build([tmp_path / "g"], dev=0, test=0)


def test_cli_dataset_reports_alignment_and_writes_files(gold_dir, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["dataset", str(gold_dir), "--out", str(out), "--dev", "0.2", "--test", "0.2", "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "off token boundaries" in flat(result.output)
    splits = json.loads((out / "splits.json").read_text(encoding="utf-8"))
    assert len(splits["folds"]) == 2
    assert {p.name for p in out.glob("*.spacy")} == {"train.spacy", "dev.spacy", "test.spacy"}


# --- bad settings, and runs that are killed ------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (["--dev", "-0.5"], "--dev -0.5 is not a fraction"),
        (["--test", "1.5"], "--test 1.5 is not a fraction"),
        (["--dev", "0.5", "--test", "0.5"], "leave no document for training"),
    ],
)
def test_split_shares_outside_zero_to_one_are_refused_before_anything_is_written(gold_dir, tmp_path, options, message):
    result = runner.invoke(app, ["dataset", str(gold_dir), "--out", str(tmp_path / "out"), *options])
    assert result.exit_code == 1 and message in flat(result.output)
    assert not (tmp_path / "out").exists()


def test_an_empty_gold_folder_is_refused_even_beside_a_full_one(gold_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    for paths in ([tmp_path / "empty"], [gold_dir, tmp_path / "empty"]):
        result = runner.invoke(app, ["dataset", *map(str, paths), "--out", str(tmp_path / "out")])
        assert result.exit_code == 1 and f"No annotation files in {tmp_path / 'empty'}" in flat(result.output)
    assert not (tmp_path / "out").exists()


def _one_run(out: Path) -> dict:
    """What each output says the test split is; a consistent folder says it once."""
    from datasets import load_from_disk

    splits = json.loads((out / "splits.json").read_text(encoding="utf-8"))
    return {
        "splits.json": splits["test"],
        "dataset": sorted(load_from_disk(str(out / "dataset"))["test"]["id"]),
        "test.spacy": sorted(d.id for d in read_docbin(out / "test.spacy")),
        "test.conll": sorted(line.split()[1] for line in (out / "test.conll").read_text(encoding="utf-8").splitlines() if line.startswith("-DOCSTART-")),
        "card": f"| test | {len(splits['test'])} |" in (out / "README.md").read_text(encoding="utf-8"),
    }


def _dataset_command(out: Path, seed: int) -> list[str]:
    import sys

    return [sys.executable, "-c", "from vndiplo.cli import main; main()", "dataset", str(GOLD_DIR / "seeds.jsonl"), str(GOLD_DIR / "extra.jsonl"),
            "--out", str(out), "--seed", str(seed)]


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.7])
def test_a_run_killed_with_sigkill_leaves_the_previous_run_whole_and_the_next_run_cleans_up(tmp_path, delay):
    """The second run is killed `delay` seconds after it starts writing (its first new file or folder)."""
    import signal
    import subprocess
    import time

    out = tmp_path / "corpus"
    first = subprocess.run(_dataset_command(out, seed=0), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = _one_run(out)
    assert before["splits.json"] == before["dataset"] == before["test.spacy"] == before["test.conll"] and before["card"]

    entries = set(out.iterdir())
    process = subprocess.Popen(_dataset_command(out, seed=1), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while set(out.iterdir()) == entries and process.poll() is None:
        time.sleep(0.005)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert _one_run(out) == before  # all outputs still from the first run

    again = subprocess.run(_dataset_command(out, seed=1), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "interrupted run" in again.stdout
    after = _one_run(out)
    assert after["splits.json"] == after["dataset"] == after["test.spacy"] == after["test.conll"] != before["splits.json"]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".dataset.lock"]


def test_a_run_killed_while_swapping_is_finished_by_the_next_one_and_refused_by_train(gold_dir, tmp_path):
    from vndiplo.dataset import COMPLETE, STAGING, require_settled, settle_interrupted_run

    out, finished = tmp_path / "corpus", tmp_path / "finished"
    write_outputs(build([gold_dir], dev=0.2, test=0.2, seed=0), out)
    write_outputs(build([gold_dir], dev=0.2, test=0.2, seed=1), finished)
    # the state a kill leaves between two renames: the new run complete, only splits.json moved in
    staging = out / STAGING
    staging.mkdir()
    for entry in finished.iterdir():
        if entry.name != "splits.json" and not entry.name.startswith("."):
            entry.rename(staging / entry.name)
    (finished / "splits.json").replace(out / "splits.json")
    (staging / COMPLETE).write_text("", encoding="utf-8")
    with pytest.raises(VndiploError, match="half replaced"):
        require_settled(out)
    assert settle_interrupted_run(out) == "finished swapping in the outputs of an interrupted run"
    run = _one_run(out)
    assert run["splits.json"] == run["dataset"] == run["test.spacy"] == run["test.conll"]
    require_settled(out)


def test_a_file_that_is_not_a_docbin_is_one_clear_error(tmp_path):
    fake = tmp_path / "train.spacy"
    fake.write_text("hello\n", encoding="utf-8")
    with pytest.raises(VndiploError, match="is not a spaCy DocBin"):
        read_docbin(fake)
    result = runner.invoke(app, ["evaluate", str(tmp_path / "model"), str(fake), "--output", str(tmp_path / "evaluation")])
    assert result.exit_code == 1 and "is not a spaCy DocBin" in flat(result.output)
    assert isinstance(result.exception, SystemExit)  # the CLI's clean exit, not an escaped ValueError
