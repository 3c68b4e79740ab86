"""What the trained pipeline is measured against: a gazetteer, rules, and underthesea's NER.

Each baseline is a predictor, a function from documents to documents with spans,
so it is scored by :func:`scoring.score` exactly as the model is. The gazetteer
learns surface strings from training gold; the rules need no training data
(the project's entity lists plus date patterns); underthesea is the public
Vietnamese NER, on its four coarse labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from . import errors
from .annotations import AnnotatedDoc, Span
from .date_rules import date_spans
from .labels import load_labels
from .paths import GAZETTEER, shipped_file
from .text import decode_utf8, is_word_bounded

Predictor = Callable[[list[AnnotatedDoc]], list[AnnotatedDoc]]


def build_gazetteer(train_docs: list[AnnotatedDoc]) -> dict[str, str]:
    """Every surface string seen in training, with the label it had most often."""
    seen: dict[str, Counter] = {}
    for doc in train_docs:
        for span in doc.spans:
            seen.setdefault(doc.text[span.start : span.end], Counter())[span.label] += 1
    return {surface: counts.most_common(1)[0][0] for surface, counts in seen.items()}


def gazetteer_spans(text: str, gazetteer: dict[str, str]) -> list[Span]:
    """Longest-first, non-overlapping, whole-word matches of the gazetteer's surfaces."""
    taken = [False] * len(text)
    spans = []
    for surface in sorted(gazetteer, key=len, reverse=True):
        position = text.find(surface)
        while position != -1:
            end = position + len(surface)
            if is_word_bounded(text, position, end) and not any(taken[position:end]):
                spans.append(Span(position, end, gazetteer[surface]))
                for i in range(position, end):
                    taken[i] = True
            position = text.find(surface, position + 1)
    return sorted(spans)


def gazetteer_predictor(train_docs: list[AnnotatedDoc]) -> Predictor:
    gazetteer = build_gazetteer(train_docs)
    return lambda docs: [AnnotatedDoc(d.id, d.text, gazetteer_spans(d.text, gazetteer)) for d in docs]


def read_gazetteer(path: Path | None = None) -> dict[str, str]:
    """The project's own entity lists (`configs/gazetteers/entities.tsv`): `surface<TAB>LABEL` per line."""
    path = path or shipped_file(GAZETTEER)
    if not path.is_file():
        raise errors.missing_file(str(path), "Gazetteer", "Run from the project folder, or give the path of a surface<TAB>LABEL file.")
    entries = {}
    for number, line in enumerate(decode_utf8(path.read_bytes(), str(path)).splitlines(), start=1):
        if line.strip():
            surface, _, label = line.partition("\t")
            if label not in load_labels():
                raise errors.VndiploError(f"{path}:{number}: unknown label {label!r}", line, "Use a label of configs/labels.json.")
            entries[surface] = label
    return entries


def fill_gaps(spans: list[Span], extra: list[Span]) -> list[Span]:
    """`spans` plus the `extra` spans that overlap none of them (an entity ruler that never overrides)."""
    return sorted(spans + [e for e in extra if not any(e.start < s.end and s.start < e.end for s in spans)])


def rules_spans(text: str, gazetteer: dict[str, str]) -> list[Span]:
    """Calendar expressions by pattern, then gazetteer names where no date is."""
    return fill_gaps([Span(start, end, "DATE") for start, end in date_spans(text)], gazetteer_spans(text, gazetteer))


def rules_predictor(gazetteer: dict[str, str]) -> Predictor:
    """A baseline with no training data: project gazetteers (`read_gazetteer`) plus date patterns."""
    return lambda docs: [AnnotatedDoc(d.id, d.text, rules_spans(d.text, gazetteer)) for d in docs]


def add_rules(predicted: list[AnnotatedDoc], gazetteer: dict[str, str]) -> list[AnnotatedDoc]:
    """Predicted spans, gaps filled by the rules baseline: does the gazetteer add to a model?"""
    return [AnnotatedDoc(d.id, d.text, fill_gaps(d.spans, rules_spans(d.text, gazetteer))) for d in predicted]


def underthesea_spans(text: str) -> list[Span]:
    """underthesea's CRF NER (PER/ORG/LOC/MISC), tokens mapped back to character offsets."""
    from underthesea import ner

    spans: list[Span] = []
    offset = 0
    for line in text.split("\n"):
        cursor = 0
        current: tuple[int, int, str] | None = None  # start, end, label of the entity being read
        for token, _pos, _chunk, tag in ner(line) if line.strip() else []:
            found = line.find(token, cursor)
            if found == -1:
                current = None
                continue
            start, end = found, found + len(token)
            cursor = end
            kind = tag[2:] if "-" in tag else ""
            if tag.startswith("B-") or (tag.startswith("I-") and (current is None or current[2] != kind)):
                if current:
                    spans.append(Span(offset + current[0], offset + current[1], current[2]))
                current = (start, end, kind)
            elif tag.startswith("I-") and current:
                current = (current[0], end, current[2])
            else:
                if current:
                    spans.append(Span(offset + current[0], offset + current[1], current[2]))
                current = None
        if current:
            spans.append(Span(offset + current[0], offset + current[1], current[2]))
        offset += len(line) + 1
    return spans


def underthesea_predictor() -> Predictor:
    return lambda docs: [AnnotatedDoc(d.id, d.text, underthesea_spans(d.text)) for d in docs]
