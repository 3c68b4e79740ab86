"""Calendar dates by rule, as the label spec defines them, and a pipeline component that applies them.

Dates are regular, and the spec settles their edges exactly: `ngày`/`tháng`/`năm` before the number
are inside, times of day (`sáng 21/5`) and `hôm` are outside, a range whose ends share their month
or year is one DATE (`ngày 25-26/4/2024`, `tháng 3-4/2024`), two complete dates are two. A learned
model gets the edges of rare shapes wrong; these patterns do not. The component runs after the NER:
wherever the rule finds a date it replaces what the model put there, unless a longer name holds the
date whole. Like `tokenizer_callbacks`, this module needs spaCy only, so a packaged model carries it.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import filter_spans

# 21/1, 21/1/2022, 12/03 (year in two digits), 18.1.2014 (dots only with a year: 10.30 is a time)
_SLASHED = r"\d{1,2}(?:/\d{1,2}(?:/\d{4}|/\d{2}(?!\d))?|\.\d{1,2}\.\d{4})"
# 21-12, 31 - 12 – 2004; without a year only where punctuation follows (2-3 tháng, 5-10 năm are counts)
_DASHED = r"\d{1,2}\s?[-–]\s?\d{1,2}(?:\s?[-–]\s?\d{4}|(?=\s*[,.;:)!?]|\s*$))"
_YEAR_AFTER = r"(?:\s*,?\s+năm\s+\d{4}|,\s\d{4})"
_WORD_DATE = rf"\d{{1,2}}\s+tháng\s+\d{{1,2}}{_YEAR_AFTER}?"
_RANGE_JOIN = r"(?:\s?[-–]\s?|\s+(?:đến|và|tới)\s+(?:ngày\s+)?)"
_PREFIX = r"(?:(?:[Nn]gày|[Tt]háng|[Nn]ăm)\s+)"
_MONTH_NAMES = r"(?:Một|Hai|Ba|Tư|Năm|Sáu|Bảy|Tám|Chín|Mười(?: Một| Hai)?)"

# Longest first: a range before its ends, a full date before its parts.
_PATTERNS = [
    # ngày 25-26/4/2024, 19-20/1/2022, ngày 18 đến 22/01/2022, ngày 4-11 tháng 2 năm 1945, ngày 23 đến 25 tháng 7 năm 1993
    rf"{_PREFIX}?\d{{1,2}}{_RANGE_JOIN}\d{{1,2}}(?:/\d{{1,2}}(?:/\d{{4}})?|\s+tháng\s+\d{{1,2}}{_YEAR_AFTER}?)",
    # tháng 3-4/2024
    r"[Tt]háng\s+\d{1,2}\s?[-–]\s?\d{1,2}[/.-]\d{4}",
    # ngày 27 tháng 8 năm 2003, 27 tháng 8 năm 2003, ngày 5 tháng 4, 2009
    rf"{_PREFIX}?{_WORD_DATE}",
    # Tháng Năm 27, 2021 (US datelines: the month by name, day and year in digits)
    rf"[Tt]háng {_MONTH_NAMES} \d{{1,2}}, \d{{4}}",
    # tháng 8 năm 2003, tháng 7-2019, tháng 1/2022, tháng 12
    r"[Tt]háng\s+\d{1,2}(?:\s*(?:[/.-]|\s[-–]\s)\s*\d{4}|\s*,?\s+năm\s+\d{4})?",
    # năm 2002, năm 938
    r"[Nn]ăm\s+\d{3,4}",
    # ngày 21/1/2022, ngày 21-12, 21/1, 8/1994, 18.1.2014, 30 - 10,
    rf"{_PREFIX}(?:{_SLASHED}|\d{{1,2}}\s?[-–]\s?\d{{1,2}}(?:\s?[-–]\s?\d{{4}})?)",
    rf"\d{{1,2}}/\d{{4}}|{_SLASHED}|{_DASHED}",
]
DATE_PATTERN = re.compile(r"(?<![\w/.,-])(?:" + "|".join(_PATTERNS) + r")(?![\w/]|[.,-]\d)")


def _plausible(surface: str) -> bool:
    """Day and month numbers within range: `35/80` or `6/15` are no dates; a date word vouches for itself."""
    if re.search(r"ngày|tháng|năm", surface, re.IGNORECASE):
        return True
    days_months = [int(n) for n in re.findall(r"\d+", surface) if len(n) <= 2]
    if len(days_months) == 1:  # 8/1994: a month and a year
        return 1 <= days_months[0] <= 12
    return all(1 <= n <= 31 for n in days_months) and 1 <= days_months[-1] <= 12


def date_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every calendar expression the spec calls a DATE, longest match first."""
    return [(m.start(), m.end()) for m in DATE_PATTERN.finditer(text) if _plausible(m.group())]


@Language.factory("vndiplo_date_rules")
def make_date_rules(nlp: Language, name: str):
    """Registered under `spacy_factories` in vndiplo's entry points, so `spacy.load` finds it."""
    return apply_date_rules


def apply_date_rules(doc: Doc) -> Doc:
    """Each date the rule finds replaces the entities it overlaps, unless one of them holds it whole.

    A name that contains a date (`Hội nghị Genève 1954`, `Ngày Quốc khánh 2 tháng 9`) keeps it;
    anything else over a date (the model's DATE with `sáng` in it, or a date read as a place) gives way.
    """
    ents = list(doc.ents)
    for start, end in date_spans(doc.text):
        span = doc.char_span(start, end, label="DATE", alignment_mode="contract")
        if span is None or not len(span):
            continue
        overlapping = [ent for ent in ents if ent.start < span.end and span.start < ent.end]
        if any(ent.start <= span.start and span.end <= ent.end and len(ent) > len(span) and ent.label_ != "DATE" for ent in overlapping):
            continue
        ents = [ent for ent in ents if ent not in overlapping] + [span]
    doc.ents = filter_spans(ents)
    return doc
