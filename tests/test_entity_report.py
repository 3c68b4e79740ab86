import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from test_entity_ids import KB_FILE, linked_pipeline
from vndiplo.annotations import AnnotatedDoc, Span, read_annotations
from vndiplo.cli import app
from vndiplo.entity_report import count_entities, sentence_bounds, write_entity_report
from vndiplo.stream import TextDoc, pipe_spans

from conftest import flat

runner = CliRunner()

CORPUS = [
    TextDoc("a", "Ngoại trưởng Sergei Lavrov đến Mỹ. Lavrov gặp NATO ở Hoa Kỳ.\nNga phản đối."),
    TextDoc("b", "Nga và Mỹ đàm phán. Ông Trần Văn Xyz ở Zaosheng."),
]


@pytest.fixture(scope="module")
def linked_model(tmp_path_factory) -> Path:
    """A small blank pipeline (entity ruler + entity_ids) saved like a trained model."""
    from test_entity_ids import RULER_NAMES

    RULER_NAMES.extend([("Hoa Kỳ", "GPE"), ("Trần Văn Xyz", "PER")])
    folder = tmp_path_factory.mktemp("linked") / "model"
    linked_pipeline(KB_FILE).to_disk(folder)
    return folder


def test_sentences_end_at_line_breaks_and_final_punctuation():
    text = "Một câu. Hai câu!\nBa câu “trích.” Bốn"
    assert [text[s:e] for s, e in sentence_bounds(text)] == ["Một câu.", "Hai câu!", "Ba câu “trích.”", "Bốn"]


def test_mentions_add_up_by_id_whatever_the_spelling_and_people_pair_with_partners_by_sentence():
    text = "Lavrov đến Mỹ. Hoa Kỳ và NATO họp; Zaosheng."
    spans = [Span(0, 6, "PER", "lavrov"), Span(11, 13, "GPE", "Q30"), Span(15, 21, "GPE", "Q30"), Span(25, 29, "ORG", "Q7184"), Span(35, 43, "GPE")]
    counts = count_entities([AnnotatedDoc("d", text, spans)])
    assert counts.mentions == {"Q30": 2, "lavrov": 1, "Q7184": 1}
    assert counts.spellings["Q30"] == {"Mỹ": 1, "Hoa Kỳ": 1}
    assert counts.together == {("lavrov", "Q30"): 1}  # NATO is in the next sentence, without Lavrov
    assert counts.unlinked["GPE"] == 1


def test_the_entities_report_lists_ids_spellings_and_pairs_on_a_tiny_corpus(tmp_path, linked_model):
    import spacy

    nlp = spacy.load(linked_model)
    names = {entity_id: entity.name for entity_id, entity in nlp.get_pipe("entity_ids").kb.entities.items()}
    report = write_entity_report(pipe_spans(nlp, CORPUS), names, tmp_path / "out", top=10)
    top = {entity["name"]: entity for entity in report["entities"]}
    assert top["Hoa Kỳ"]["mentions"] == 3 and top["Hoa Kỳ"]["spellings"] == {"Mỹ": 2, "Hoa Kỳ": 1}
    assert top["Hoa Kỳ"]["documents"] == 2
    assert top["Sergei Lavrov"]["mentions"] == 2
    pairs = {(pair["person_name"], pair["with_name"]): pair["sentences"] for pair in report["people_with"]}
    assert pairs[("Sergei Lavrov", "Hoa Kỳ")] == 2 and pairs[("Sergei Lavrov", "NATO")] == 1
    assert report["coverage"]["PER"] == {"linked": 2, "unlinked": 1}
    markdown = (tmp_path / "out" / "entities.md").read_text(encoding="utf-8")
    assert "| Hoa Kỳ | Q30 | GPE | 3 | 2 | Mỹ (2), Hoa Kỳ (1) |" in markdown
    assert (tmp_path / "out" / "entities.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "out" / "entities.json").read_text(encoding="utf-8")) == report


def test_the_entities_command_writes_the_report_and_refuses_a_model_without_ids(tmp_path, linked_model, tiny_gold):
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"id": doc.id, "text": doc.text}, ensure_ascii=False) + "\n" for doc in CORPUS), encoding="utf-8")
    result = runner.invoke(app, ["entities", str(corpus), "--model", str(linked_model), "--out", str(tmp_path / "who")])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "who").iterdir()} == {"entities.md", "entities.json", "entities.png"}
    import spacy

    plain = spacy.blank("vi")
    plain.to_disk(tmp_path / "plain")
    refused = runner.invoke(app, ["entities", str(corpus), "--model", str(tmp_path / "plain"), "--out", str(tmp_path / "x")])
    assert refused.exit_code == 1 and "no entity_ids component" in flat(refused.output)


def test_predict_writes_the_ids_beside_a_doccano_label_list_that_still_validates(tmp_path, linked_model):
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"id": doc.id, "text": doc.text}, ensure_ascii=False) + "\n" for doc in CORPUS), encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    result = runner.invoke(app, ["predict", str(corpus), str(out), "--model", str(linked_model)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert all(len(span) == 3 for span in record["label"])
    text = record["text"]
    assert {text[s:e]: kb_id for s, e, kb_id in record["kb_ids"]}["Mỹ"] == "Q30"
    assert {(s, e) for s, e, _ in record["kb_ids"]} <= {(s, e) for s, e, _ in record["label"]}
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    assert len(read_annotations(out)) == 2


def test_visualize_shows_the_id_and_name_on_hover(tmp_path, linked_model):
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": CORPUS[0].text}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "ents.html"
    result = runner.invoke(app, ["visualize", str(corpus), "--output", str(out), "--model", str(linked_model)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert 'title="Q30 · Hoa Kỳ"' in page and "https://www.wikidata.org/wiki/Q30" in page
