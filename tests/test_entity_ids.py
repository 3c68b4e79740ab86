import json
from pathlib import Path

import pytest
import spacy

from vndiplo.dataset import blank_nlp
from vndiplo.entity_ids import (
    TYPES,
    Entity,
    KnowledgeBase,
    KnowledgeBaseError,
    normalise_alias,
    resolve_ids,
)

KB_FILE = Path(__file__).resolve().parents[1] / "configs" / "kb" / "entities.jsonl"

TINY_KB = [
    Entity("Q159", "Nga", "GPE", ("Nga", "Liên bang Nga", "Russia")),
    Entity("Q30", "Hoa Kỳ", "GPE", ("Hoa Kỳ", "Mỹ")),
    Entity("Q7184", "NATO", "ORG", ("NATO",)),
    Entity("lavrov", "Sergei Lavrov", "PER", ("Sergei Lavrov", "Xéc-gây La-vrốp")),
    Entity("trong", "Nguyễn Phú Trọng", "PER", ("Nguyễn Phú Trọng",)),
    Entity("vn-na", "Quốc hội Việt Nam", "ORG", ("Quốc hội Việt Nam",), ambiguous=("Quốc hội",)),
    Entity("hu-na", "Quốc hội Hungary", "ORG", ("Quốc hội Hungary",), ambiguous=("Quốc hội",)),
    Entity("Q881", "Việt Nam", "GPE", ("Việt Nam",)),
    Entity("Q28", "Hungary", "GPE", ("Hungary",)),
    Entity("thuy-si", "Thụy Sĩ", "GPE", ("Thụy Sĩ",)),
    Entity("hoa-binh", "Hòa Bình", "GPE", ("Hòa Bình",)),
]


def mentions(text: str, spans: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """(start, end, label) of each surface, searched left to right."""
    found, cursor = [], 0
    for surface, label in spans:
        start = text.index(surface, cursor)
        found.append((start, start + len(surface), label))
        cursor = start + len(surface)
    return found


@pytest.fixture
def kb() -> KnowledgeBase:
    return KnowledgeBase.from_entities(TINY_KB)


@pytest.mark.parametrize(
    "a, b",
    [
        ("hoà", "hòa"),
        ("Thuỵ Sĩ", "Thụy Sĩ"),  # the tone on either vowel of `uy`
        ("Thuỷ", "thủy"),
        ("Uỷ ban", "Ủy ban"),
        ("Xéc-gây La-vrốp", "Xéc gây La vrốp"),
        ("NATO", "nato"),
        ("Hồ Cẩm Ðào", "Hồ Cẩm Đào"),  # the Icelandic eth typed for Đ
        ("Quảng Nam – Đà Nẵng", "Quảng Nam - Đà Nẵng"),
        ("  Nga, ", "Nga"),
    ],
)
def test_normalisation_makes_spelling_variants_one_key(a, b):
    assert normalise_alias(a) == normalise_alias(b)


@pytest.mark.parametrize("a, b", [("Mỹ", "My"), ("Hà", "Hạ"), ("đảng", "dang"), ("Ban", "Bản")])
def test_normalisation_keeps_marks_that_make_other_words(a, b):
    assert normalise_alias(a) != normalise_alias(b)


def test_aliases_resolve_by_label_after_normalisation(kb):
    text = "Xéc gây La vrốp thăm liên bang nga và Hoà Bình; cô Mỹ cũng đi."
    found = mentions(text, [("Xéc gây La vrốp", "PER"), ("liên bang nga", "GPE"), ("Hoà Bình", "GPE"), ("Mỹ", "PER")])
    assert resolve_ids(text, found, kb) == ["lavrov", "Q159", "hoa-binh", ""]  # `Mỹ` as a person is not the state


def test_a_person_named_later_by_the_last_syllables_of_a_resolved_name_gets_its_id(kb):
    text = "Ngoại trưởng Sergei Lavrov gặp ông Nguyễn Phú Trọng. Lavrov nói, ông Trọng đáp, ông Phú Trọng cười."
    found = mentions(text, [("Sergei Lavrov", "PER"), ("Nguyễn Phú Trọng", "PER"), ("Lavrov", "PER"), ("Trọng", "PER"), ("Phú Trọng", "PER")])
    assert resolve_ids(text, found, kb) == ["lavrov", "trong", "lavrov", "trong", "trong"]


def test_a_short_form_before_the_full_name_or_in_another_document_stays_empty(kb):
    text = "Lavrov nói."
    assert resolve_ids(text, mentions(text, [("Lavrov", "PER")]), kb) == [""]


def test_a_bracketed_abbreviation_takes_the_id_of_the_full_name_and_keeps_it(kb):
    text = "Tổ chức Hiệp ước Bắc Đại Tây Dương (NATO) họp; NATO tuyên bố. Liên minh Chưa Biết (LMCB) họp, LMCB nói."
    found = mentions(
        text,
        [("Tổ chức Hiệp ước Bắc Đại Tây Dương", "ORG"), ("NATO", "ORG"), ("NATO", "ORG"), ("Liên minh Chưa Biết", "ORG"), ("LMCB", "ORG"), ("LMCB", "ORG")],
    )
    assert resolve_ids(text, found, kb) == ["Q7184", "Q7184", "Q7184", "", "", ""]


def test_a_place_with_its_province_in_brackets_keeps_its_own_id(kb):
    text = "huyện An Lão (Hải Phòng) và thành phố Brest (Nga)"
    found = mentions(text, [("An Lão", "GPE"), ("Hải Phòng", "GPE"), ("Brest", "GPE"), ("Nga", "GPE")])
    assert resolve_ids(text, found, kb) == ["", "", "", "Q159"]


def test_a_full_name_takes_the_id_of_its_bracketed_known_abbreviation_and_lends_it_on(kb):
    kb_with_full_name = KnowledgeBase.from_entities([*TINY_KB, Entity("osce", "OSCE", "ORG", ("Tổ chức An ninh và Hợp tác châu Âu",))])
    text = "Tổ chức An ninh và Hợp tác châu Âu (OSCE) họp. OSCE ra tuyên bố."
    found = mentions(text, [("Tổ chức An ninh và Hợp tác châu Âu", "ORG"), ("OSCE", "ORG"), ("OSCE", "ORG")])
    assert resolve_ids(text, found, kb_with_full_name) == ["osce", "osce", "osce"]


def test_an_ambiguous_alias_resolves_only_after_the_document_names_one_of_its_entities_in_full(kb):
    alone = "Quốc hội thông qua luật."
    assert resolve_ids(alone, mentions(alone, [("Quốc hội", "ORG")]), kb) == [""]
    named = "Quốc hội Việt Nam họp. Quốc hội thông qua luật."
    assert resolve_ids(named, mentions(named, [("Quốc hội Việt Nam", "ORG"), ("Quốc hội", "ORG")]), kb) == ["vn-na", "vn-na"]
    both = "Quốc hội Việt Nam và Quốc hội Hungary họp. Quốc hội thông qua luật."
    found = mentions(both, [("Quốc hội Việt Nam", "ORG"), ("Quốc hội Hungary", "ORG"), ("Quốc hội", "ORG")])
    assert resolve_ids(both, found, kb) == ["vn-na", "hu-na", ""]


@pytest.fixture
def home_kb() -> KnowledgeBase:
    """The tiny knowledge base with `Quốc hội` and `Chính phủ` as Vietnam's bare organ names (rule 4)."""
    entities = [entity for entity in TINY_KB if entity.id != "vn-na"] + [
        Entity("vn-na", "Quốc hội Việt Nam", "ORG", ("Quốc hội Việt Nam",), ambiguous=("Quốc hội",), home=("Quốc hội",)),
        Entity("vn-gov", "Chính phủ Việt Nam", "ORG", ("Chính phủ Việt Nam",), ambiguous=("Chính phủ",), home=("Chính phủ",)),
        Entity("us-gov", "Chính phủ Hoa Kỳ", "ORG", ("Chính phủ Hoa Kỳ",), ambiguous=("Chính phủ",)),
        Entity("fr-na", "Quốc hội Pháp", "ORG", ("Quốc hội Pháp", "Hạ viện Pháp"), ambiguous=("Quốc hội",)),
        Entity("Q148", "Trung Quốc", "GPE", ("Trung Quốc",)),
    ]
    return KnowledgeBase.from_entities(entities)


def test_a_bare_organ_name_is_the_home_states_in_a_document_about_it(home_kb):
    text = "Việt Nam và Hungary ký hiệp định. Quốc hội sẽ phê chuẩn; Chính phủ chỉ đạo."
    found = mentions(text, [("Việt Nam", "GPE"), ("Hungary", "GPE"), ("Quốc hội", "ORG"), ("Chính phủ", "ORG")])
    assert resolve_ids(text, found, home_kb) == ["Q881", "Q28", "vn-na", "vn-gov"]


def test_a_bare_organ_name_stays_empty_where_the_document_is_not_about_the_home_state(home_kb):
    nothing = "Quốc hội thông qua luật."
    assert resolve_ids(nothing, mentions(nothing, [("Quốc hội", "ORG")]), home_kb) == [""]
    text = "Hungary mời Việt Nam. Hungary và Nga họp. Quốc hội thông qua luật."  # Hungary named more often
    found = mentions(text, [("Hungary", "GPE"), ("Việt Nam", "GPE"), ("Hungary", "GPE"), ("Nga", "GPE"), ("Quốc hội", "ORG")])
    assert resolve_ids(text, found, home_kb)[-1] == ""


def test_a_bare_organ_name_stays_empty_where_the_document_names_another_holder_of_it(home_kb):
    text = "Việt Nam đón đoàn Quốc hội Ba Lan. Quốc hội đã họp."  # an organ the knowledge base does not know
    found = mentions(text, [("Việt Nam", "GPE"), ("Quốc hội Ba Lan", "ORG"), ("Quốc hội", "ORG")])
    assert resolve_ids(text, found, home_kb) == ["Q881", "", ""]


def test_a_bare_organ_name_tied_to_several_organs_or_another_state_gets_no_id_even_one_the_document_taught(home_kb):
    text = "Quốc hội Hungary và Việt Nam: hợp tác giữa hai Quốc hội. Chính phủ nước này và Nhà nước họp."
    found = mentions(text, [("Quốc hội Hungary", "ORG"), ("Việt Nam", "GPE"), ("Quốc hội", "ORG"), ("Chính phủ", "ORG")])
    assert resolve_ids(text, found, home_kb) == ["hu-na", "Q881", "", ""]
    owned = "Việt Nam cảm ơn Chính phủ và nhân dân Trung Quốc."
    found = mentions(owned, [("Việt Nam", "GPE"), ("Chính phủ", "ORG"), ("Trung Quốc", "GPE")])
    assert resolve_ids(owned, found, home_kb) == ["Q881", "", "Q148"]


def test_the_home_state_named_right_after_a_bare_organ_name_overrides_what_the_document_taught(home_kb):
    text = "Chính phủ Hoa Kỳ hỗ trợ. Cảm ơn Chính phủ và nhân dân Việt Nam."
    found = mentions(text, [("Chính phủ Hoa Kỳ", "ORG"), ("Chính phủ", "ORG"), ("Việt Nam", "GPE")])
    assert resolve_ids(text, found, home_kb) == ["us-gov", "vn-gov", "Q881"]


def test_an_organ_teaches_its_ambiguous_name_only_where_its_mention_begins_with_it(home_kb):
    text = "Việt Nam đón đoàn Hạ viện Pháp. Chủ tịch Quốc hội tiếp đoàn."
    found = mentions(text, [("Việt Nam", "GPE"), ("Hạ viện Pháp", "ORG"), ("Quốc hội", "ORG")])
    assert resolve_ids(text, found, home_kb) == ["Q881", "fr-na", "vn-na"]


def test_a_home_spelling_must_be_ambiguous_and_claimed_by_one_entity_only(tmp_path):
    bad = tmp_path / "kb.jsonl"
    bad.write_text(json.dumps({"id": "a", "name": "A", "type": "ORG", "aliases": ["A"], "home": ["Quốc hội"]}) + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="kb.jsonl:1: every `home` spelling must also be in `ambiguous`"):
        KnowledgeBase.from_file(bad)
    twice = KnowledgeBase.from_entities([Entity(name, name, "ORG", (), ("Quốc hội",), ("Quốc hội",)) for name in ("a", "b")])
    assert twice.conflicts() == [(normalise_alias("Quốc hội"), "ORG", ["a", "b"])]


@pytest.mark.parametrize(
    "spelling",
    ["Hội nghị Cấp cao ASEAN lần thứ 36", "Hội nghị cấp cao ASEAN 36", "hội nghị Cấp cao ASEAN lần thứ XXXVI", "Hội nghị Cấp cao ASEAN thứ 36"],
)
def test_an_events_ordinal_is_one_key_however_it_is_written(spelling):
    kb = KnowledgeBase.from_entities([Entity("s36", "Hội nghị Cấp cao ASEAN lần thứ 36", "EVENT", ("Hội nghị Cấp cao ASEAN lần thứ 36",))])
    assert kb.lookup(spelling, "EVENT") == "s36"
    assert kb.lookup("Hội nghị Cấp cao ASEAN lần thứ 37", "EVENT") == ""


def test_ordinal_words_count_only_after_thu_and_roman_numerals_only_where_no_syllable_looks_like_one():
    kb = KnowledgeBase.from_entities(
        [Entity("ww2", "Chiến tranh thế giới thứ hai", "EVENT", ("Chiến tranh thế giới thứ hai",)), Entity("vi", "Lễ hội Vi", "EVENT", ("Lễ hội Tường Vi Hà Nội",))]
    )
    assert kb.lookup("Chiến tranh thế giới lần thứ hai", "EVENT") == kb.lookup("Chiến tranh thế giới II", "EVENT") == "ww2"
    assert kb.lookup("Lễ hội Tường Vi Hà Nội", "EVENT") == "vi"  # `Vi` before other words is a syllable, not 6


def test_unknown_names_stay_empty(kb):
    text = "Ông Trần Văn Xyz đến Zaosheng gặp Hội Nông dân."
    found = mentions(text, [("Trần Văn Xyz", "PER"), ("Zaosheng", "GPE"), ("Hội Nông dân", "ORG")])
    assert resolve_ids(text, found, kb) == ["", "", ""]


def test_an_alias_two_entities_share_is_a_conflict_unless_marked_ambiguous():
    shared = KnowledgeBase.from_entities([Entity("a", "A", "GPE", ("Hà Nam",)), Entity("b", "B", "GPE", ("Hà Nam",))])
    assert shared.conflicts() == [(normalise_alias("Hà Nam"), "GPE", ["a", "b"])]
    marked = KnowledgeBase.from_entities([Entity("a", "A", "GPE", ("Hà Nam",), ("Hà Nam",)), Entity("b", "B", "GPE", (), ("Hà Nam",))])
    assert marked.conflicts() == []
    assert marked.lookup("Hà Nam", "GPE") == ""


def test_the_shipped_knowledge_base_has_no_alias_that_names_two_entities_of_one_type():
    kb = KnowledgeBase.from_file(KB_FILE)
    assert len(kb) > 800
    assert kb.conflicts() == []
    assert {entity.type for entity in kb.entities.values()} <= set(TYPES)


def test_the_shipped_knowledge_base_knows_the_spellings_of_the_issue():
    kb = KnowledgeBase.from_file(KB_FILE)
    assert {kb.lookup(surface, "GPE") for surface in ("Mỹ", "Hoa Kỳ", "Hợp chúng quốc Hoa Kỳ", "Washington")} == {"Q30", "Q61"}
    assert len({kb.lookup(surface, "GPE") for surface in ("Mỹ", "Hoa Kỳ", "Hợp chúng quốc Hoa Kỳ")}) == 1
    assert len({kb.lookup(surface, "GPE") for surface in ("Moskva", "Mát-xcơ-va", "Moscow")}) == 1
    assert len({kb.lookup(surface, "PER") for surface in ("Sergei Lavrov", "Lavrov", "Xéc-gây La-vrốp")}) == 1
    assert kb.lookup("Tổ chức Hiệp ước Bắc Đại Tây Dương", "ORG") == kb.lookup("NATO", "ORG") != ""


def test_a_bad_knowledge_base_line_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text(json.dumps({"id": "Q1", "name": "X", "type": "GPE", "aliases": ["X"]}) + "\n" + json.dumps({"id": "Q2", "name": "Y", "type": "CITY", "aliases": []}) + "\n")
    with pytest.raises(KnowledgeBaseError, match=r"kb.jsonl:2: type 'CITY'"):
        KnowledgeBase.from_file(path)


RULER_NAMES = [("Sergei Lavrov", "PER"), ("Lavrov", "PER"), ("Mỹ", "GPE"), ("Zaosheng", "GPE"), ("Nga", "GPE"), ("NATO", "ORG")]


def linked_pipeline(kb_path: Path):
    """A blank pipeline whose entities come from a ruler, then `entity_ids` filled from `kb_path`."""
    nlp = blank_nlp()
    ruler = nlp.add_pipe("entity_ruler")
    nlp.add_pipe("vndiplo_entity_ids", name="entity_ids")
    nlp.config["initialize"]["components"]["entity_ids"] = {"kb_path": str(kb_path)}  # as configs/ner.cfg does
    nlp.initialize()
    ruler.add_patterns([{"label": label, "pattern": name} for name, label in RULER_NAMES])
    return nlp


def test_the_component_sets_kb_ids_and_leaves_the_spans_as_they_were():
    nlp = linked_pipeline(KB_FILE)
    text = "Sergei Lavrov gặp người đồng cấp Mỹ ở Zaosheng; Lavrov nói."
    without = [(e.start_char, e.end_char, e.label_) for e in nlp(text, disable=["entity_ids"]).ents]
    doc = nlp(text)
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == without
    ids = [e.kb_id_ for e in doc.ents]
    assert ids[0] == ids[3] != "" and ids[1] == "Q30" and ids[2] == ""


def test_the_knowledge_base_is_saved_with_the_pipeline_and_loaded_back(tmp_path):
    kb_path = tmp_path / "kb.jsonl"
    kb_path.write_text(KnowledgeBase.from_entities(TINY_KB).to_jsonl(), encoding="utf-8")
    nlp = linked_pipeline(kb_path)
    nlp.to_disk(tmp_path / "model")
    kb_path.unlink()  # the model must not need the file it was initialised from
    assert (tmp_path / "model" / "entity_ids" / "entities.jsonl").exists()
    loaded = spacy.load(tmp_path / "model")
    assert [e.kb_id_ for e in loaded("Sergei Lavrov ở Mỹ.").ents] == ["lavrov", "Q30"]
    from_bytes = blank_nlp()
    from_bytes.add_pipe("vndiplo_entity_ids", name="entity_ids").from_bytes(nlp.get_pipe("entity_ids").to_bytes())
    assert from_bytes.get_pipe("entity_ids").kb.entities == loaded.get_pipe("entity_ids").kb.entities


def test_initialising_without_a_knowledge_base_says_which_setting_to_add():
    nlp = blank_nlp()
    nlp.add_pipe("vndiplo_entity_ids", name="entity_ids")
    with pytest.raises(KnowledgeBaseError, match=r"initialize.components.entity_ids"):
        nlp.initialize()


def test_a_model_whose_knowledge_base_is_broken_is_refused_with_the_file_and_line(tmp_path):
    from vndiplo.errors import VndiploError
    from vndiplo.model import load

    linked_pipeline(KB_FILE).to_disk(tmp_path / "model")
    (tmp_path / "model" / "entity_ids" / "entities.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(VndiploError, match="knowledge base") as excinfo:
        load(tmp_path / "model")
    assert "entities.jsonl:1" in excinfo.value.detail
