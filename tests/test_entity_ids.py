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
