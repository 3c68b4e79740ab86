import json
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vndiplo.cli import app
from vndiplo.corpus import ingest, read_corpus, write_corpus
from vndiplo.errors import VndiploError
from vndiplo.text import count_words, detokenise_treebank, normalise_line

from conftest import flat

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
runner = CliRunner()

ARTICLE = "Ngoại trưởng Nga cảnh báo Mỹ\nNgày 21/1, Ngoại trưởng Nga Sergei Lavrov gặp người đồng cấp Mỹ tại Geneva.\n"


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_seeds_ingest_into_five_documents_with_stable_ids():
    report = ingest([SEEDS])
    assert [doc.id for doc in report.documents] == sorted(p.stem for p in SEEDS.glob("*.txt"))
    assert len(report.documents) == 5
    assert all(doc.source == "seeds" and doc.words > 0 and len(doc.hash) == 64 for doc in report.documents)


def test_boilerplate_lines_are_removed_and_listed_but_captions_kept():
    report = ingest([SEEDS])
    assert ("003_5e381044bb73209e", "Video đang HOT") in report.removed_lines
    doc = next(d for d in report.documents if d.id == "003_5e381044bb73209e")
    assert "Video đang HOT" not in doc.text
    assert "Ảnh: AFP/TTXVN" in doc.text


def test_title_is_the_first_line(tmp_path):
    path = write(tmp_path, "a.txt", ARTICLE)
    (doc,) = ingest([path]).documents
    assert doc.title == "Ngoại trưởng Nga cảnh báo Mỹ"
    assert doc.text.startswith(doc.title + "\n")


def test_decomposed_unicode_comes_out_identical_to_nfc(tmp_path):
    (tmp_path / "nfd").mkdir()
    (tmp_path / "nfc").mkdir()
    nfd = write(tmp_path / "nfd", "a.txt", unicodedata.normalize("NFD", ARTICLE))
    nfc = write(tmp_path / "nfc", "a.txt", unicodedata.normalize("NFC", ARTICLE))
    assert nfd.read_bytes() != nfc.read_bytes()
    (from_nfd,) = ingest([nfd], source="x").documents
    (from_nfc,) = ingest([nfc], source="x").documents
    assert from_nfd.text == from_nfc.text
    assert from_nfd.hash == from_nfc.hash
    assert unicodedata.is_normalized("NFC", from_nfd.text)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Nga\t và\u00a0Mỹ  ", "Nga và Mỹ"),
        ("NATO-Nga  (NRC)", "NATO-Nga (NRC)"),
    ],
)
def test_whitespace_is_normalised_without_changing_words(raw, expected):
    assert normalise_line(raw) == expected


def test_crlf_and_blank_lines_are_normalised(tmp_path):
    path = write(tmp_path, "a.txt", ARTICLE.replace("\n", "\r\n\r\n"))
    (doc,) = ingest([path]).documents
    assert doc.text == ARTICLE.strip()


def test_latin1_file_is_refused_with_name_and_byte_offset(tmp_path):
    path = write(tmp_path, "latin.txt", "Caf\u00e9 Geneva".encode("latin-1"))
    with pytest.raises(VndiploError) as excinfo:
        ingest([path])
    assert "latin.txt" in excinfo.value.title and "byte offset 3" in excinfo.value.detail


def test_binary_file_is_refused(tmp_path):
    path = write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(VndiploError, match="binary"):
        ingest([path])


def test_empty_document_is_refused(tmp_path):
    path = write(tmp_path, "empty.txt", " \n\n\t\n")
    with pytest.raises(VndiploError, match="empty"):
        ingest([path])


def test_exact_duplicates_are_dropped_and_reported(tmp_path):
    write(tmp_path, "a.txt", ARTICLE)
    write(tmp_path, "b.txt", ARTICLE.replace("\n", "\n\n"))
    report = ingest([tmp_path])
    assert [doc.id for doc in report.documents] == ["a"]
    assert report.exact_duplicates == [("b", "a")]


def test_near_duplicates_are_reported(tmp_path):
    long_text = " ".join(f"từ{i}" for i in range(200))
    write(tmp_path, "a.txt", "Tiêu đề\n" + long_text)
    write(tmp_path, "b.txt", "Tiêu đề\n" + long_text + " thêm một câu.")
    report = ingest([tmp_path])
    assert len(report.documents) == 2
    assert [(a, b) for a, b, _ in report.near_duplicates] == [("a", "b")]


def test_jsonl_records_keep_their_metadata(tmp_path):
    record = {"id": "doc-1", "text": ARTICLE, "url": "https://example.org/a"}
    path = write(tmp_path, "batch.jsonl", json.dumps(record, ensure_ascii=False) + "\n")
    (doc,) = ingest([path]).documents
    assert doc.id == "doc-1" and doc.meta == {"url": "https://example.org/a"}


def test_malformed_jsonl_names_the_line(tmp_path):
    path = write(tmp_path, "batch.jsonl", '{"text": "Nga"}\n{not json}\n')
    with pytest.raises(VndiploError, match=r"batch.jsonl:2"):
        ingest([path])


def test_rerun_gives_a_byte_identical_file(tmp_path):
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    write_corpus(ingest([SEEDS]).documents, first)
    write_corpus(ingest([SEEDS]).documents, second)
    assert first.read_bytes() == second.read_bytes()
    assert set(read_corpus(first)) == {p.stem for p in SEEDS.glob("*.txt")}


def test_treebank_text_is_restored_to_running_text():
    line = 'Đổi hộ chiếu ở Matxcơva : Cũng mất " phí dịch vụ " , LBKT CPC RBKT .'
    assert detokenise_treebank(line) == 'Đổi hộ chiếu ở Matxcơva: Cũng mất "phí dịch vụ", (CPC).'


def test_word_count_ignores_punctuation_tokens():
    assert count_words("Nga , Mỹ và NATO - 2022 .") == 5


def test_cli_ingest_writes_five_documents(tmp_path):
    out = tmp_path / "docs.jsonl"
    result = runner.invoke(app, ["ingest", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5
    assert "documents: 5" in flat(result.output)


def test_cli_bad_file_prints_one_error_and_writes_nothing(tmp_path):
    bad = write(tmp_path, "latin.txt", "Caf\u00e9".encode("latin-1"))
    out = tmp_path / "docs.jsonl"
    result = runner.invoke(app, ["ingest", str(SEEDS), str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert "not valid UTF-8" in flat(result.output)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    from vndiplo.corpus import atomic_write_text

    path = tmp_path / "x.txt"
    atomic_write_text(path, "Nga")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


CONLLU = """# sent_id = train-s1
# text = Ông Lộc nói : " Được " .
1	Ông	ông	NOUN	N	_	0	root	_	_

# sent_id = train-s2
# text = Hà Nội LBKT Việt Nam RBKT .
1	Hà Nội	Hà Nội	PROPN	Np	_	0	root	_	_

# sent_id = train-s3
# text = Câu thứ ba .
1	Câu	câu	NOUN	N	_	0	root	_	_
"""


def test_treebank_file_becomes_documents_of_consecutive_sentences_without_skipped_ones(tmp_path, monkeypatch):
    import vndiplo.corpus as corpus

    monkeypatch.setattr(corpus, "TREEBANK_SENTENCES_PER_DOC", 1)
    folder = tmp_path / "vtb"
    folder.mkdir()
    write(folder, "vi_vtb-ud-train.conllu", CONLLU)
    report = ingest([folder / "vi_vtb-ud-train.conllu"], skip_sentences=frozenset({"train-s1"}))
    assert [doc.id for doc in report.documents] == ["vtb-train-001", "vtb-train-002"]
    assert report.documents[0].text == "Hà Nội (Việt Nam)."
    assert report.documents[0].meta == {"sent_ids": ["train-s2"], "restored_from_treebank_tokens": True}


def test_treebank_documents_are_restored_whatever_the_folder_name(tmp_path):
    write(tmp_path, "t-dev.conllu", CONLLU)
    (doc,) = ingest([tmp_path / "t-dev.conllu"]).documents
    assert doc.id.endswith("-dev-001")
    assert doc.text.split("\n") == ['Ông Lộc nói: "Được".', "Hà Nội (Việt Nam).", "Câu thứ ba."]


def test_cli_skip_list_and_broken_treebank_are_clear_errors(tmp_path):
    write(tmp_path, "a-train.conllu", "# text = no id before me\n")
    result = runner.invoke(app, ["ingest", str(tmp_path / "a-train.conllu"), "--out", str(tmp_path / "c.jsonl")])
    assert result.exit_code == 1 and "sent_id" in flat(result.output)
    result = runner.invoke(app, ["ingest", str(tmp_path), "--skip-sentences", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "c.jsonl")])
    assert result.exit_code == 1 and "missing.txt" in flat(result.output)
    assert not (tmp_path / "c.jsonl").exists()


# --- ids, encodings and sizes that later stages cannot take ---------------------------------


@pytest.mark.parametrize(
    "doc_id, rule",
    [
        ("", "it is empty"),
        ("../../etc/x", "it holds '/'"),
        (".hidden", "it starts with '.'"),
        ("a b", "it holds ' '"),
        (17, "it is of type int, not a string"),
        (None, "it is of type NoneType, not a string"),
        ("x" * 201, "it is 201 characters long"),
    ],
)
def test_an_unusable_document_id_is_refused_naming_the_rule(tmp_path, doc_id, rule):
    (tmp_path / "in").mkdir()
    path = write(tmp_path / "in", "a.jsonl", json.dumps({"id": doc_id, "text": ARTICLE}, ensure_ascii=False) + "\n")
    result = runner.invoke(app, ["ingest", str(path), "--out", str(tmp_path / "docs.jsonl")])
    assert result.exit_code == 1, result.output
    assert f"{path}:1: unusable document id {doc_id!r}" in flat(result.output) and rule in flat(result.output)
    assert not (tmp_path / "docs.jsonl").exists()


def test_ids_of_vietnamese_file_names_are_kept(tmp_path):
    write(tmp_path, "hội-nghị_Yalta.1945.txt", ARTICLE)
    assert [doc.id for doc in ingest([tmp_path]).documents] == ["hội-nghị_Yalta.1945"]


def test_a_corpus_file_with_an_unusable_id_is_refused_when_read(tmp_path):
    path = write(tmp_path, "docs.jsonl", json.dumps({"id": "", "text": "Nga", "title": "Nga", "source": "s", "path": "p", "hash": "h", "words": 1, "meta": {}}) + "\n")
    with pytest.raises(VndiploError, match="unusable document id ''"):
        read_corpus(path)


@pytest.mark.parametrize("encoding, name", [("utf-16", "UTF-16LE"), ("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")])
def test_a_utf16_file_is_called_utf16_with_the_command_that_converts_it(tmp_path, encoding, name):
    path = write(tmp_path, "a.txt", ARTICLE.encode(encoding))
    result = runner.invoke(app, ["ingest", str(path), "--out", str(tmp_path / "docs.jsonl")])
    assert result.exit_code == 1
    assert f"{path} is {name} text, not UTF-8" in flat(result.output) and f"iconv -f {name} -t UTF-8" in flat(result.output)
    assert "binary" not in flat(result.output)


def test_ingest_warns_about_a_document_too_large_for_doccano(tmp_path):
    from vndiplo.doccano.client import MAX_REQUEST_BYTES

    write(tmp_path, "long.txt", ("Ngoại trưởng Nga gặp người đồng cấp Mỹ tại Geneva.\n" * 60_000))
    write(tmp_path, "short.txt", ARTICLE)
    result = runner.invoke(app, ["ingest", str(tmp_path), "--out", str(tmp_path / "out" / "docs.jsonl")])
    assert result.exit_code == 0, result.output
    assert "long is too large for Doccano" in flat(result.output) and f"the limit is {MAX_REQUEST_BYTES:,}" in flat(result.output)
    assert "short is too large" not in flat(result.output)
