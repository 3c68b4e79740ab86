from pathlib import Path

import spacy

from vndiplo.dataset import blank_nlp
from vndiplo.train import paragraphs, train_model

from conftest import annotated

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"


def test_paragraphs_rebase_spans_onto_each_line():
    doc = annotated(1)
    pieces = paragraphs(doc)
    assert len(pieces) == 2
    for piece in pieces:
        assert all(piece.text[s.start:s.end] for s in piece.spans)
    assert [piece.text[s.start:s.end] for s in pieces[1].spans for piece in [pieces[1]]] == ["AFP", "TTXVN"]


def test_trained_pipeline_uses_the_dataset_tokenizer(tiny_model):
    nlp = spacy.load(tiny_model)
    text = "Ngày 21/1, Ngoại trưởng Nga gặp Tổng thư ký NATO-Nga ở Đông Nam Á. (OSCE)-AEC"
    assert [t.text for t in nlp.make_doc(text)] == [t.text for t in blank_nlp().make_doc(text)]
    assert nlp.pipe_names == ["tok2vec", "line_breaks", "ner", "entity_edges", "date_rules", "entity_ids"]
    assert set(nlp.get_pipe("ner").labels) <= {"PER", "TITLE", "ORG", "GPE", "LOC", "EVENT", "AGREEMENT", "DATE"}


def test_training_is_deterministic_for_a_seed(tmp_path, tiny_gold):
    settings = {"training.max_steps": 15, "training.eval_frequency": 15, "system.seed": 7}
    outputs = [train_model(tiny_gold, tiny_gold, tmp_path / name, config=CONFIG, overrides=settings, quiet=True) for name in ("a", "b")]
    weights = [(out / "model-last" / "ner" / "model").read_bytes() for out in outputs]
    assert weights[0] == weights[1]
