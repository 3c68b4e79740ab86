from pathlib import Path

import spacy

from vndiplo.dataset import blank_nlp, paragraphs
from vndiplo.train import train_model

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


def test_swap_mentions_replaces_names_and_moves_the_offsets():
    import random

    from vndiplo.train import swap_mentions

    text = "Ngoại trưởng Nga Sergei Lavrov gặp Antony Blinken."
    entities = [(0, 12, "TITLE"), (13, 16, "GPE"), (17, 30, "PER"), (35, 49, "PER")]
    pool = {"PER": ["Kim Ki Nam"], "GPE": ["Hoa Kỳ"]}
    new_text, new_entities = swap_mentions(text, entities, pool, random.Random(0), {"PER", "GPE"})
    assert new_text == "Ngoại trưởng Hoa Kỳ Kim Ki Nam gặp Kim Ki Nam."
    assert [(new_text[s:e], label) for s, e, label in new_entities] == [
        ("Ngoại trưởng", "TITLE"), ("Hoa Kỳ", "GPE"), ("Kim Ki Nam", "PER"), ("Kim Ki Nam", "PER"),
    ]


def test_mention_swap_augmenter_adds_aligned_copies(tmp_path, tiny_gold):
    from spacy.training import Example

    from vndiplo.dataset import write_docbin
    from vndiplo.train import create_mention_swap

    write_docbin(tiny_gold, tmp_path / "train.spacy")
    augment = create_mention_swap(str(tmp_path / "train.spacy"), level=1.0, labels=["PER", "GPE"])
    nlp = blank_nlp()
    source = nlp.make_doc(tiny_gold[0].text)
    source.ents = [source.char_span(s.start, s.end, s.label) for s in tiny_gold[0].spans]
    examples = list(augment(nlp, Example(nlp.make_doc(source.text), source)))
    assert len(examples) == 2 and examples[0].reference is source
    copy = examples[1].reference
    assert [e.label_ for e in copy.ents] == [e.label_ for e in source.ents]
    names = {doc.text[s.start:s.end] for doc in tiny_gold for s in doc.spans if s.label in ("PER", "GPE")}
    assert all(e.text in names for e in copy.ents if e.label_ in ("PER", "GPE"))
    assert examples[1].predicted.text == copy.text


def test_mention_swap_with_a_missing_gazetteer_says_where_to_run(tmp_path):
    import pytest

    from vndiplo.errors import VndiploError
    from vndiplo.train import create_mention_swap

    with pytest.raises(VndiploError, match="project folder"):
        create_mention_swap(str(tmp_path / "train.spacy"), level=0.5, labels=["PER"], gazetteer=str(tmp_path / "none.tsv"))
