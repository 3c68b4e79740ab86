import json

from vndiplo.benchmark import KINDS, Measurement, texts_by_kind, write_repeated
from vndiplo.corpus import make_document, write_corpus
from vndiplo.reports import benchmark_markdown


def test_documents_are_grouped_into_news_and_encyclopedia_by_source(tmp_path):
    docs = [make_document(f"d{i}", "Nga và Mỹ.", source=source, path="x")[0] for i, source in enumerate(["seeds", "viwiki", "vtb", "other"])]
    write_corpus(docs, tmp_path / "c.jsonl")
    grouped = texts_by_kind([tmp_path / "c.jsonl"])
    assert set(grouped) == set(KINDS)
    assert [doc_id for doc_id, _ in grouped["news"]] == ["d0", "d2"]
    assert [doc_id for doc_id, _ in grouped["encyclopedia"]] == ["d1"]


def test_texts_are_repeated_with_unique_ids_until_the_words_are_reached(tmp_path):
    path = tmp_path / "big.jsonl"
    words = write_repeated([("a", "một hai ba"), ("b", "bốn năm")], 12, path)
    ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert words == 13
    assert ids == ["a~1", "b~1", "a~2", "b~2", "a~3"]
    assert len(set(ids)) == len(ids)


def test_the_table_has_one_row_per_measurement():
    rows = [Measurement("news", "vndiplo, 1 process", 1000, 0.5, 2000.0, 250.0, 250.0)]
    assert "| news | vndiplo, 1 process | 1,000 | 0.5 | 2,000 | 250 | 250 |" in benchmark_markdown(rows)
