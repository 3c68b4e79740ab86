import pytest

from vndiplo.date_rules import apply_date_rules, date_spans


def dates(text: str) -> list[str]:
    return [text[start:end] for start, end in date_spans(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ngày 16/12, Nga gửi đề xuất", ["Ngày 16/12"]),  # capitalised Ngày opening a sentence stays in
        ("sáng 21/5 và Chiều 2/7", ["21/5", "2/7"]),  # times of day stay out
        ("hôm 11/1 tại Geneva", ["11/1"]),
        ("ngày 25-26/4/2024 tại Hà Nội", ["ngày 25-26/4/2024"]),  # a range sharing month and year is one DATE
        ("ngày 4-11 tháng 2 năm 1945", ["ngày 4-11 tháng 2 năm 1945"]),
        ("tháng 3-4/2024", ["tháng 3-4/2024"]),
        ("từ ngày 3/8 đến ngày 6/8", ["ngày 3/8", "ngày 6/8"]),  # two complete dates are two
        ("15/3/1990 - 15/3/2020", ["15/3/1990", "15/3/2020"]),
        ("Giữa tháng 12/2021, đầu tháng 1-2022", ["tháng 12/2021", "tháng 1-2022"]),
        ("ngày 27 tháng 8 năm 2003", ["ngày 27 tháng 8 năm 2003"]),
        ("năm 2002", ["năm 2002"]),
    ],
)
def test_spec_examples(text, expected):
    assert dates(text) == expected


@pytest.mark.parametrize("text", ["lúc 10.30 sáng", "trong 2-3 tháng tới", "Nghị định 181/2004/NĐ-CP", "tỷ lệ 35/80", "Năm 9 tuổi", "hôm thứ Tư"])
def test_numbers_that_are_not_dates(text):
    assert dates(text) == []


def test_rule_dates_replace_what_the_model_put_there_unless_a_name_holds_them():
    from vndiplo.dataset import blank_nlp

    text = "Sáng 21/5, Ngày Quốc khánh 2 tháng 9, 3/2/1950."
    doc = blank_nlp().make_doc(text)
    # the model's DATE took the time of day; an EVENT holds a date; a date was read as a place
    doc.ents = [
        doc.char_span(0, 9, label="DATE"),
        doc.char_span(11, text.index(", 3/2"), label="EVENT"),
        doc.char_span(text.index("3/2"), len(text) - 1, label="GPE"),
    ]
    doc = apply_date_rules(doc)
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("21/5", "DATE"), ("Ngày Quốc khánh 2 tháng 9", "EVENT"), ("3/2/1950", "DATE")]


def test_the_component_is_found_by_name_without_importing_vndiplo_first():
    import spacy

    nlp = spacy.blank("vi")
    nlp.add_pipe("vndiplo_date_rules")
    assert [(e.text, e.label_) for e in nlp("ngày 21/1/2022 tại Geneva").ents] == [("ngày 21/1/2022", "DATE")]
