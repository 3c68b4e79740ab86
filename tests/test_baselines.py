
import pytest

from vndiplo.annotations import Span
from vndiplo.baselines import build_gazetteer, gazetteer_spans, underthesea_spans
from vndiplo.errors import VndiploError


def test_gazetteer_uses_longest_whole_word_matches(tiny_gold):
    gazetteer = build_gazetteer(tiny_gold)
    text = "Bộ Ngoại giao Nga và Ngan hàng Nga"
    spans = gazetteer_spans(text, gazetteer)
    assert [(text[s.start:s.end], s.label) for s in spans] == [("Bộ Ngoại giao Nga", "ORG"), ("Nga", "GPE")]


def test_underthesea_spans_are_character_offsets():
    text = "Ngoại trưởng Antony Blinken đến Hà Nội.\nÔng gặp Thủ tướng Việt Nam."
    spans = underthesea_spans(text)
    assert spans, "underthesea found no entity"
    assert all(text[s.start:s.end].strip() == text[s.start:s.end] and s.label in {"PER", "ORG", "LOC", "MISC"} for s in spans)


def test_rules_baseline_finds_dates_and_listed_names():
    from vndiplo.baselines import read_gazetteer, rules_spans

    text = "Ngày 21/1, Ngoại trưởng Nga gặp Tổng thống Mỹ hôm 11/1 và ngày 27 tháng 8 năm 2003."
    found = [(text[s.start:s.end], s.label) for s in rules_spans(text, read_gazetteer())]
    assert found == [
        ("Ngày 21/1", "DATE"), ("Ngoại trưởng", "TITLE"), ("Nga", "GPE"), ("Tổng thống", "TITLE"),
        ("Mỹ", "GPE"), ("11/1", "DATE"), ("ngày 27 tháng 8 năm 2003", "DATE"),
    ]


def test_gazetteer_file_with_an_unknown_label_is_refused(tmp_path):
    from vndiplo.baselines import read_gazetteer

    path = tmp_path / "g.tsv"
    path.write_text("Nga\tCOUNTRY\n", encoding="utf-8")
    with pytest.raises(VndiploError, match="unknown label"):
        read_gazetteer(path)


def test_fill_gaps_adds_only_spans_that_overlap_nothing():
    from vndiplo.baselines import fill_gaps

    model = [Span(0, 3, "GPE")]
    rules = [Span(0, 9, "ORG"), Span(12, 16, "DATE")]
    assert fill_gaps(model, rules) == [Span(0, 3, "GPE"), Span(12, 16, "DATE")]
