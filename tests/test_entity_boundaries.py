import pytest

from vndiplo.dataset import blank_nlp
from vndiplo.entity_boundaries import (
    extend_event_ordinals,
    fix_entity_edges,
    join_organ_countries,
    mark_line_starts,
    organ_terms_and_tails,
    split_title_chains,
    trim_leading_words,
)


def with_ents(text: str, ents: list[tuple[str, str]]):
    """A doc of `text` whose entities are the given (surface, label) pairs, found left to right."""
    doc = blank_nlp().make_doc(text)
    spans, offset = [], 0
    for surface, label in ents:
        start = text.index(surface, offset)
        offset = start + len(surface)
        spans.append(doc.char_span(start, offset, label=label))
    doc.ents = spans
    return doc


def test_each_line_and_the_break_before_it_start_sentences():
    doc = mark_line_starts(blank_nlp().make_doc("Hội nghị Tương lai châu Á\nNhận lời mời"))
    starts = [token.text for token in doc if token.is_sent_start]
    assert starts == ["Hội", "\n", "Nhận"]


def test_the_trained_pipeline_keeps_every_entity_on_one_line(tiny_model):
    from vndiplo.model import load

    nlp = load(tiny_model)
    assert "line_breaks" in nlp.pipe_names
    text = "\n".join(["Ngoại trưởng Nga Sergei Lavrov", "Hội nghị An ninh Munich", "Tổng thống Mỹ Joe Biden", "Bộ Ngoại giao Việt Nam"])
    assert all("\n" not in ent.text for ent in nlp(text).ents)


@pytest.mark.parametrize(
    "text, org, expected",
    [
        ("Chủ tịch Quốc hội Việt Nam Vương Đình Huệ phát biểu", "Quốc hội Việt Nam Vương Đình Huệ", [("Chủ tịch", "TITLE"), ("Quốc hội Việt Nam", "ORG"), ("Vương Đình Huệ", "PER")]),
        ("Bộ trưởng Bộ Ngoại giao Bùi Thanh Sơn cho biết", "Bộ Ngoại giao Bùi Thanh Sơn", [("Bộ trưởng", "TITLE"), ("Bộ Ngoại giao", "ORG"), ("Bùi Thanh Sơn", "PER")]),
    ],
)
def test_a_name_run_into_the_organ_of_a_title_chain_becomes_a_person(text, org, expected):
    doc = split_title_chains(with_ents(text, [(expected[0][0], "TITLE"), (org, "ORG")]))
    assert [(ent.text, ent.label_) for ent in doc.ents] == expected


@pytest.mark.parametrize(
    "text, ents",
    [
        # a place or an organ's namesake closes the organ's name
        ("Bí thư Thành ủy Hà Nội phát biểu", [("Bí thư", "TITLE"), ("Thành ủy Hà Nội", "ORG")]),
        ("Giám đốc Học viện Chính trị Quốc gia Hồ Chí Minh", [("Giám đốc", "TITLE"), ("Học viện Chính trị Quốc gia Hồ Chí Minh", "ORG")]),
        # no title before the organ: no chain
        ("tại Trung tâm Cộng đồng Trần Văn Thọ", [("Trung tâm Cộng đồng Trần Văn Thọ", "ORG")]),
        # a title not touching the organ
        ("Chủ tịch và Quốc hội Việt Nam Vương Đình Huệ", [("Chủ tịch", "TITLE"), ("Quốc hội Việt Nam Vương Đình Huệ", "ORG")]),
        # the ending is not a name (a lower-case syllable)
        ("Bộ trưởng Bộ Ngoại giao Lê hai nước", [("Bộ trưởng", "TITLE"), ("Bộ Ngoại giao Lê hai nước", "ORG")]),
    ],
)
def test_other_organs_are_left_whole(text, ents):
    doc = split_title_chains(with_ents(text, ents))
    assert [(ent.text, ent.label_) for ent in doc.ents] == ents


@pytest.mark.parametrize(
    "text, ents, expected",
    [
        # a legislature's term is part of its name, in Roman or Arabic numerals
        ("về kỳ họp thứ 11, Quốc hội khóa XIV, dự kiến", [("Quốc hội", "ORG")], [("Quốc hội khóa XIV", "ORG")]),
        ("Quốc hội khoá 15 họp", [("Quốc hội", "ORG")], [("Quốc hội khoá 15", "ORG")]),
        # words that count or point are no part of the organ's name
        ("giữa Bộ Ngoại giao hai nước nhằm", [("Bộ Ngoại giao hai nước", "ORG")], [("Bộ Ngoại giao", "ORG")]),
        # a term that another entity holds, a tail that would leave too little, other labels: unchanged
        ("Quốc hội khóa học", [("Quốc hội", "ORG")], [("Quốc hội", "ORG")]),
        ("Bộ hai nước", [("Bộ hai nước", "ORG")], [("Bộ hai nước", "ORG")]),
        ("Hội nghị khóa XIV", [("Hội nghị", "EVENT")], [("Hội nghị", "EVENT")]),
    ],
)
def test_an_organ_runs_through_its_term_and_stops_before_a_generic_tail(text, ents, expected):
    doc = organ_terms_and_tails(with_ents(text, ents))
    assert [(ent.text, ent.label_) for ent in doc.ents] == expected


@pytest.mark.parametrize(
    "text, ents, expected",
    [
        # one meeting of a forum, the ordinal outside the model's span
        ("tại Diễn đàn Kinh tế Phương Đông lần thứ 8 ở Nga", [("Diễn đàn Kinh tế Phương Đông", "ORG")], [("Diễn đàn Kinh tế Phương Đông lần thứ 8", "EVENT")]),
        # the ordinal inside an ORG span, in words and in Roman numerals
        ("Đại hội Đảng lần thứ XIII", [("Đại hội Đảng lần thứ XIII", "ORG")], [("Đại hội Đảng lần thứ XIII", "EVENT")]),
        ("Hội nghị Cấp cao ASEAN lần thứ nhất", [("Hội nghị Cấp cao ASEAN", "EVENT")], [("Hội nghị Cấp cao ASEAN lần thứ nhất", "EVENT")]),
        # the other party of a bilateral meeting between the name and its ordinal becomes part of the EVENT
        ("Vòng Đối thoại Nhân quyền Hoa Kỳ-Việt Nam lần thứ 18 sẽ", [("Đối thoại Nhân quyền Hoa Kỳ", "EVENT"), ("Việt Nam", "GPE")], [("Đối thoại Nhân quyền Hoa Kỳ-Việt Nam lần thứ 18", "EVENT")]),
        ("1. Diễn đàn ASEAN – Úc lần thứ 33", [("Diễn đàn ASEAN", "ORG"), ("Úc", "GPE")], [("Diễn đàn ASEAN – Úc lần thứ 33", "EVENT")]),
        # a partner with no ordinal after it stays its own entity
        ("Đối thoại Nhân quyền Hoa Kỳ – Việt Nam được tổ chức", [("Đối thoại Nhân quyền Hoa Kỳ", "EVENT"), ("Việt Nam", "GPE")], [("Đối thoại Nhân quyền Hoa Kỳ", "EVENT"), ("Việt Nam", "GPE")]),
        # no ordinal after it, or not an ORG/EVENT: unchanged
        ("Diễn đàn Kinh tế Phương Đông lần này", [("Diễn đàn Kinh tế Phương Đông", "ORG")], [("Diễn đàn Kinh tế Phương Đông", "ORG")]),
        ("Ông Putin lần thứ 5 thăm", [("Putin", "PER")], [("Putin", "PER")]),
    ],
)
def test_an_event_name_runs_through_its_ordinal(text, ents, expected):
    doc = extend_event_ordinals(with_ents(text, ents))
    assert [(ent.text, ent.label_) for ent in doc.ents] == expected


@pytest.mark.parametrize(
    "text, ents, expected",
    [
        ("Ngài Nguyễn Phú Trọng", [("Ngài Nguyễn Phú Trọng", "PER")], [("Nguyễn Phú Trọng", "PER")]),
        ("ông Putin cho biết", [("ông Putin", "PER")], [("Putin", "PER")]),
        ("Ông", [("Ông", "PER")], [("Ông", "PER")]),  # nothing would be left
        ("Bà Rịa", [("Bà Rịa", "GPE")], [("Bà Rịa", "GPE")]),  # not an honorific before a place
        ("Ngài Ngoại trưởng", [("Ngài Ngoại trưởng", "TITLE")], [("Ngoại trưởng", "TITLE")]),
        ("Thành phố Hồ Chí Minh", [("Thành phố Hồ Chí Minh", "GPE")], [("Hồ Chí Minh", "GPE")]),
        ("trên Bán đảo Triều Tiên", [("Bán đảo Triều Tiên", "LOC")], [("Triều Tiên", "LOC")]),
        ("tỉnh Hà Nam", [("tỉnh Hà Nam", "GPE")], [("Hà Nam", "GPE")]),
        ("thành phố cảng", [("thành phố cảng", "GPE")], [("thành phố cảng", "GPE")]),  # no name after the classifier
    ],
)
def test_honorifics_and_place_classifiers_stay_outside(text, ents, expected):
    doc = trim_leading_words(with_ents(text, ents))
    assert [(ent.text, ent.label_) for ent in doc.ents] == expected


@pytest.mark.parametrize(
    "text, ents, expected",
    [
        ("Quốc hội Hungary", [("Quốc hội", "ORG"), ("Hungary", "GPE")], [("Quốc hội Hungary", "ORG")]),
        ("JICA Nhật Bản", [("JICA", "ORG"), ("Nhật Bản", "GPE")], [("JICA", "ORG"), ("Nhật Bản", "GPE")]),  # an acronym, then its country
        ("Quốc hội, Hungary", [("Quốc hội", "ORG"), ("Hungary", "GPE")], [("Quốc hội", "ORG"), ("Hungary", "GPE")]),
        ("Nga Quốc hội", [("Nga", "GPE"), ("Quốc hội", "ORG")], [("Nga", "GPE"), ("Quốc hội", "ORG")]),
    ],
)
def test_an_organ_and_the_country_right_after_it_are_one_name(text, ents, expected):
    doc = join_organ_countries(with_ents(text, ents))
    assert [(ent.text, ent.label_) for ent in doc.ents] == expected


def test_the_edges_component_applies_every_rule():
    text = "Tổng thống Ngài Joe Biden, Bộ trưởng Bộ Ngoại giao Việt Nam Bùi Thanh Sơn dự Diễn đàn Shangri-La lần thứ 20"
    ents = [("Tổng thống", "TITLE"), ("Ngài Joe Biden", "PER"), ("Bộ trưởng", "TITLE"), ("Bộ Ngoại giao", "ORG"), ("Việt Nam Bùi Thanh Sơn", "GPE"), ("Diễn đàn Shangri-La", "ORG")]
    doc = fix_entity_edges(with_ents(text, ents))
    assert [(ent.text, ent.label_) for ent in doc.ents] == [
        ("Tổng thống", "TITLE"), ("Joe Biden", "PER"), ("Bộ trưởng", "TITLE"), ("Bộ Ngoại giao Việt Nam", "ORG"),
        ("Bùi Thanh Sơn", "PER"), ("Diễn đàn Shangri-La lần thứ 20", "EVENT"),
    ]


def test_the_components_are_found_by_name_without_importing_vndiplo_first():
    import spacy

    nlp = spacy.blank("vi")
    nlp.add_pipe("vndiplo_line_breaks")
    nlp.add_pipe("vndiplo_entity_edges")
    assert nlp.pipe_names == ["vndiplo_line_breaks", "vndiplo_entity_edges"]
