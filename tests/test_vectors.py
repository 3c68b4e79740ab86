import json
import lzma

import pytest
from typer.testing import CliRunner

from vndiplo.cli import app
from vndiplo.errors import VndiploError
from vndiplo.vectors import FloretSettings, read_plain_texts, tokenised_lines, train_floret

from conftest import flat

runner = CliRunner()
LINES = ["Ngoại trưởng Nga Sergei Lavrov gặp Antony Blinken tại Geneva (Thụy Sĩ).", "Hà Nội là thủ đô của Việt Nam, ngày 21/1."]
TINY = FloretSettings(dim=8, bucket=500, epoch=1, min_count=1, threads=1)


def test_texts_are_read_from_compressed_jsonl(tmp_path):
    path = tmp_path / "wiki.jsonl.xz"
    with lzma.open(path, "wt", encoding="utf-8") as handle:
        for line in LINES:
            handle.write(json.dumps({"title": "t", "text": line}, ensure_ascii=False) + "\n")
    assert list(read_plain_texts(path)) == LINES


def test_lines_are_cut_by_the_pipelines_syllable_tokenizer():
    from vndiplo.dataset import blank_nlp

    first = next(tokenised_lines(LINES, blank_nlp().tokenizer))
    assert first.endswith("Geneva ( Thụy Sĩ ) .")


def test_trained_vectors_load_in_floret_mode_and_cover_unseen_words(tmp_path):
    import spacy

    text = tmp_path / "text.txt"
    text.write_text("\n".join(LINES * 50), encoding="utf-8")
    facts = train_floret([text], tmp_path / "vectors", TINY)
    nlp = spacy.load(tmp_path / "vectors")
    assert "Geneva" not in nlp.vocab.strings  # the folder keeps hashed rows, not the strings of the training text
    assert nlp.vocab.vectors.mode == "floret"
    assert nlp.vocab.vectors.shape == (500, 8)
    assert facts["training_tokens"] == 50 * 27
    assert nlp("Lavrovski")[0].has_vector  # never seen: its subwords give it a vector


def test_a_failed_run_keeps_the_previous_vectors(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(LINES * 20), encoding="utf-8")
    out = tmp_path / "vectors"
    train_floret([text], out, TINY)
    before = (out / "vocab" / "vectors").read_bytes()
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(VndiploError):
        train_floret([tmp_path / "empty.txt"], out, TINY)
    assert (out / "vocab" / "vectors").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_names_a_broken_input(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\nnot json\n')
    result = runner.invoke(app, ["vectors", str(bad), "--out", str(tmp_path / "v")])
    assert result.exit_code == 1 and "bad.jsonl:2" in flat(result.output)
    assert not (tmp_path / "v").exists()


def test_cli_names_a_missing_input_without_drawing_a_progress_bar(tmp_path):
    result = runner.invoke(app, ["vectors", str(tmp_path / "absent.txt"), "--out", str(tmp_path / "v")])
    assert result.exit_code == 1 and "absent.txt" in flat(result.output)
    assert "Tokenising" not in result.output
