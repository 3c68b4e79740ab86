import json

from vndiplo.benchmark import KINDS, Measurement, speed_ratios, texts_by_kind, write_repeated
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


def test_the_steady_speed_takes_the_start_up_out_before_comparing_with_underthesea():
    rows = [
        Measurement("news", "vndiplo, 1 process", 10_000, 3.0, 3_333.3, 250.0, 250.0),  # 2 s of start-up + 1 s of work
        Measurement("news", "vndiplo, 1 process", 1_000_000, 102.0, 9_803.9, 260.0, 260.0),
        Measurement("news", "vndiplo, --n-process 2", 1_000_000, 51.0, 19_607.8, 250.0, 700.0),
        Measurement("news", "vndiplo, Ray, 2 workers", 1_000_000, 68.0, 14_705.9, 400.0, 2000.0),
        Measurement("news", "underthesea NER (50,000 words)", 50_000, 50.0, 1_000.0, 180.0, 180.0),
        Measurement("encyclopedia", "vndiplo, 1 process", 10_000, 3.0, 3_333.3, 250.0, 250.0),  # no other run: no ratios
    ]
    (news,) = speed_ratios(rows)
    assert news.kind == "news"
    assert news.steady_words_per_second == 10_000
    assert news.over_underthesea == 10
    assert round(news.n_process_over_one, 2) == 2.0
    assert round(news.ray_over_one, 2) == 1.5
