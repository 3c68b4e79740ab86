"""Doccano's spans as vndiplo's: UTF-16 code units <-> Python indices, and whitespace at span edges.

Doccano's browser UI counts JavaScript string positions, i.e. UTF-16 code
units, so an emoji or another astral character counts twice. Everything in
vndiplo is Python `str` indices; the conversion happens here and only here.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..annotations import ERROR, AnnotatedDoc, Finding, Span


def _astral_positions(text: str) -> list[int]:
    return [index for index, char in enumerate(text) if ord(char) > 0xFFFF]


def to_utf16(text: str, index: int) -> int:
    """The UTF-16 offset of Python index `index` in `text`."""
    return index + sum(1 for char in text[:index] if ord(char) > 0xFFFF)


def _utf16_table(text: str) -> dict[int, int]:
    """UTF-16 offset -> Python index for every character boundary of `text` (the end included)."""
    table, units = {}, 0
    for index, char in enumerate(text):
        table[units] = index
        units += 2 if ord(char) > 0xFFFF else 1
    table[units] = len(text)
    return table


def from_utf16(text: str, offset: int) -> int | None:
    """The Python index of UTF-16 offset `offset`, or None when it splits a surrogate pair or lies outside."""
    return _utf16_table(text).get(offset)


def spans_from_doccano(doc: AnnotatedDoc) -> tuple[AnnotatedDoc, list[Finding]]:
    """The document with UTF-16 offsets turned into Python indices, and the spans that cannot be."""
    if not _astral_positions(doc.text):
        return doc, []
    table = _utf16_table(doc.text)
    spans, problems = [], []
    for span in doc.spans:
        start, end = table.get(span.start), table.get(span.end)
        if start is None or end is None:
            problems.append(Finding(ERROR, doc.id, span.start, span.end, f"{span.label}: UTF-16 offsets split a character or lie outside the text"))
        else:
            spans.append(Span(start, end, span.label))
    return AnnotatedDoc(doc.id, doc.text, spans, doc.meta), problems


def spans_to_doccano(text: str, spans: Iterable[Span]) -> list[Span]:
    """Python-index spans as Doccano's UTF-16 offsets."""
    if not _astral_positions(text):
        return list(spans)
    return [Span(to_utf16(text, s.start), to_utf16(text, s.end), s.label) for s in spans]


def trim_whitespace(doc: AnnotatedDoc) -> tuple[AnnotatedDoc, list[tuple[Span, Span]]]:
    """Spans without leading or trailing whitespace (punctuation stays: that is the annotator's call)."""
    spans, changes = [], []
    for span in doc.spans:
        start, end = span.start, span.end
        while start < end and start < len(doc.text) and doc.text[start].isspace():
            start += 1
        while end > start and end <= len(doc.text) and doc.text[end - 1].isspace():
            end -= 1
        new = Span(start, end, span.label)
        if new != span:
            changes.append((span, new))
        if new.start < new.end:
            spans.append(new)
    return AnnotatedDoc(doc.id, doc.text, spans, doc.meta), changes
