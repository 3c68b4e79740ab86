"""Data augmentation for training: mention replacement, registered as `vndiplo.mention_swap.v1`.

spaCy finds it through the `spacy_augmenters` entry point (pyproject.toml), so the
training config can name it without vndiplo being imported first.
"""

from __future__ import annotations

import random
from pathlib import Path

from spacy.tokens import DocBin
from spacy.training import Example

from . import errors
from .baselines import read_gazetteer


def mention_pool(docs, gazetteer: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Surface forms per label: entity texts of the training docs, plus gazetteer names."""
    pool: dict[str, set[str]] = {}
    for doc in docs:
        for ent in doc.ents:
            pool.setdefault(ent.label_, set()).add(ent.text)
    for surface, label in (gazetteer or {}).items():
        pool.setdefault(label, set()).add(surface)
    return {label: sorted(surfaces) for label, surfaces in pool.items()}


def swap_mentions(text: str, entities: list[tuple[int, int, str]], pool: dict[str, list[str]], rng: random.Random, labels: set[str]) -> tuple[str, list[tuple[int, int, str]]]:
    """The text with each entity of `labels` replaced by a random mention of the same label; new offsets."""
    pieces, new_entities, cursor, shift = [], [], 0, 0
    for start, end, label in sorted(entities):
        surface = text[start:end]
        if label in labels and pool.get(label):
            surface = rng.choice(pool[label])
        pieces.append(text[cursor:start])
        new_start = start + shift
        pieces.append(surface)
        new_entities.append((new_start, new_start + len(surface), label))
        shift += len(surface) - (end - start)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), new_entities


def create_mention_swap(path: str, level: float, labels: list[str], gazetteer: str | None = None):
    """Mention replacement (Dai & Adel, 2020): copies of training paragraphs with names swapped.

    Each entity of `labels` is replaced by another surface form of its label,
    drawn from the training corpus (`path`) and the project gazetteer. The
    model sees familiar contexts around unfamiliar names, so it must learn the
    context rather than a name list: what held-out news needs.
    """
    if gazetteer is not None and not Path(gazetteer).exists():
        raise errors.missing_file(gazetteer, "Gazetteer of the mention-swap augmenter", "Run from the project folder, or set corpora.train.augmenter.gazetteer in the config.")
    state: dict = {}
    rng = random.Random(0)

    def augment(nlp, example):
        yield example
        if rng.random() >= level or not example.reference.ents:
            return
        if "pool" not in state:
            docs = DocBin().from_disk(path).get_docs(nlp.vocab)
            state["pool"] = mention_pool(docs, read_gazetteer(Path(gazetteer)) if gazetteer else None)
        reference = example.reference
        text, entities = swap_mentions(reference.text, [(e.start_char, e.end_char, e.label_) for e in reference.ents], state["pool"], rng, set(labels))
        gold = nlp.make_doc(text)
        spans = [gold.char_span(start, end, label) for start, end, label in entities]
        if all(span is not None for span in spans):  # a swapped name that splits differently is skipped
            gold.ents = spans
            yield Example(nlp.make_doc(text), gold)

    return augment
