from pathlib import Path

from vndiplo.dataset import blank_nlp

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"


def test_swap_mentions_replaces_names_and_moves_the_offsets():
    import random

    from vndiplo.augment import swap_mentions

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

    from vndiplo.augment import create_mention_swap
    from vndiplo.dataset import write_docbin

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

    from vndiplo.augment import create_mention_swap
    from vndiplo.errors import VndiploError

    with pytest.raises(VndiploError, match="project folder"):
        create_mention_swap(str(tmp_path / "train.spacy"), level=0.5, labels=["PER"], gazetteer=str(tmp_path / "none.tsv"))
