"""Entity edges that news text gets wrong and the label spec settles: line breaks, title chains, ordinals, honorifics.

News pages put a headline, a dateline or a credit on a line of its own (`Hội nghị Tương lai châu Á`
then `Nhận lời mời...`); a learned model reads on across the break and makes one long span. The spec
never lets a name cross a line, so `line_breaks` (before the NER) marks every line as a sentence
start, and spaCy's NER does not extend an entity across a sentence start.

After the NER, one component, `entity_edges`, applies five rules of the spec in turn.

The longest name wins: `Quốc hội Hungary`, `Bộ Ngoại giao Nga` are one ORG each, though the model
often cuts the country off as a GPE. `join_organ_countries` makes an ORG and the GPE right after it
one ORG, unless the ORG is an acronym (`JICA Nhật Bản`: the agency, then its country).

In a title chain (`Chủ tịch Quốc hội Việt Nam Vương Đình Huệ`) the spec gives the organ and the
person a span each; the model often runs the organ on into the name. `split_title_chains` splits an ORG that follows a TITLE and ends in a Vietnamese personal name (a surname and one to
three more capitalised syllables) into the ORG and a PER, unless that ending is a place or an organ's
namesake (`Thành ủy Hà Nội`, `Học viện ... Hồ Chí Minh`).

An event's name runs to its end, ordinal included (`Diễn đàn Kinh tế Phương Đông lần thứ 8`), and
one meeting of a standing forum is an EVENT, not the forum's ORG. `extend_event_ordinals` makes an ORG or EVENT that holds or is directly followed by `lần thứ N` one EVENT through the ordinal.

An organ's name runs through its term (`Quốc hội khóa XIV`) but not through words that count or point
(`Bộ Ngoại giao hai nước`): `organ_terms_and_tails`.

A person's span holds only the name and a place's only its name: `trim_leading_words` takes a leading
`Ngài`, `ông` or `bà` out of a PER or TITLE, and a classifier (`thành phố`, `tỉnh`) out of a GPE or LOC.

Like `date_rules`, this module needs spaCy only, so a packaged model carries it.
"""

from __future__ import annotations

import re
from typing import cast

import numpy
from spacy.attrs import IS_SPACE, SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span
from thinc.types import Ints2d

# The commonest Vietnamese surnames, plus the Chinese ones news writes in Vietnamese reading (Tập, Vương).
SURNAMES = frozenset(
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Vương Tô Trương Đinh Mai "
    "Lương Hà Đào Tạ Lâm Thái Trịnh Đoàn Cao Chu Triệu Kiều Hầu Quách Lưu Tống Đàm Thân Mạc La Nông Lại "
    "Lò Tăng Khổng Phùng Giang Kim Tập".split()
)
# Endings of organ names that begin with a surname but are places or namesakes, not the person after the organ.
NOT_PERSONS = frozenset(
    {
        "Hà Nội", "Hà Nam", "Hà Giang", "Hà Tĩnh", "Thái Nguyên", "Thái Bình", "Thái Lan", "Thái Bình Dương",
        "Lâm Đồng", "Cao Bằng", "La Gi", "Hồ Chí Minh", "Nguyễn Ái Quốc", "Nguyễn Tri Phương",
    }
)
MAX_NAME_TOKENS = 4


@Language.factory("vndiplo_line_breaks")
def make_line_breaks(nlp: Language, name: str):
    """Registered under `spacy_factories` in vndiplo's entry points, so `spacy.load` finds it."""
    return mark_line_starts


def mark_line_starts(doc: Doc) -> Doc:
    """A line break and the token after it start sentences, so no entity the NER builds crosses a line.

    Only whitespace tokens can hold a break (the tokenizer cuts at whitespace), so only they are
    looked at, and the starts are written as one array: setting `token.is_sent_start` one token
    at a time makes spaCy scan the whole document on each call.
    """
    breaks = [int(i) for i in numpy.flatnonzero(doc.to_array(IS_SPACE)) if i > 0 and "\n" in doc[int(i)].text]
    if not breaks:
        return doc
    sent_starts = doc.to_array([SENT_START])
    for i in breaks:
        sent_starts[i : i + 2] = 1
    doc.from_array([SENT_START], cast(Ints2d, sent_starts))  # ints, though spaCy's stub types to_array as floats
    return doc


def _is_name_syllable(text: str) -> bool:
    return text[:1].isupper() and text[1:].islower()


def person_start(org: Span) -> int | None:
    """The token index where a personal name closing this organ span begins, or None when it has none.

    The organ keeps at least two tokens; the name is a surname and one to three more capitalised syllables.
    """
    for start in range(max(org.start + 2, org.end - MAX_NAME_TOKENS), org.end - 1):
        name = org.doc[start : org.end]
        if name[0].text in SURNAMES and all(_is_name_syllable(token.text) for token in name) and name.text not in NOT_PERSONS:
            return start
    return None


def split_title_chains(doc: Doc) -> Doc:
    """TITLE, then an ORG ending in a person's name: the name becomes its own PER span."""
    ents = list(doc.ents)
    split: list[Span] = []
    for previous, ent in zip([None, *ents], ents):
        cut = person_start(ent) if ent.label_ == "ORG" and previous is not None and previous.label_ == "TITLE" and previous.end == ent.start else None
        if cut is None:
            split.append(ent)
        else:
            split += [Span(doc, ent.start, cut, label="ORG"), Span(doc, cut, ent.end, label="PER")]
    doc.ents = split
    return doc


ORDINAL = re.compile(r"^(?:\d+|[IVXLC]+|nhất|hai|ba|tư|năm|sáu|bảy|tám|chín|mười)$")


def _numbered_end(doc: Doc, start: int, heads: tuple[frozenset[str], ...], number: re.Pattern[str]) -> int | None:
    """The end of the head words then a number (`lần thứ 8`, `khóa XIV`) starting at token `start`, or None."""
    size = len(heads) + 1
    words = doc[start : start + size]
    if len(words) == size and all(word.lower_ in head for word, head in zip(words, heads)) and number.match(words[-1].text):
        return start + size
    return None


def _ordinal_end(doc: Doc, start: int) -> int | None:
    """The end of `lần thứ N` starting at token `start`, or None when no ordinal starts there."""
    return _numbered_end(doc, start, (frozenset({"lần"}), frozenset({"thứ"})), ORDINAL)


DASH_TOKENS = frozenset({"-", "–", "—"})


def _partner_end(doc: Doc, start: int, ents_by_start: dict[int, Span]) -> int:
    """Past `– <entity>` at token `start` (the other party of a bilateral name, `Hoa Kỳ – Việt Nam`), else `start`."""
    partner = ents_by_start.get(start + 1) if start < len(doc) and doc[start].text in DASH_TOKENS else None
    return partner.end if partner is not None and partner.label_ in ("GPE", "ORG") else start


def extend_event_ordinals(doc: Doc) -> Doc:
    """An ORG or EVENT holding or followed by `lần thứ N` becomes one EVENT that ends after the ordinal.

    The other party of a bilateral meeting may stand between the name and its ordinal
    (`Đối thoại Nhân quyền Hoa Kỳ – Việt Nam lần thứ 25`): it becomes part of the EVENT.
    """
    ents = list(doc.ents)
    ents_by_start = {ent.start: ent for ent in ents}
    taken = {token.i for ent in ents for token in ent}
    swallowed: set[int] = set()
    extended: list[Span] = []
    for ent in ents:
        if ent.start in swallowed:
            continue
        if ent.label_ not in ("ORG", "EVENT"):
            extended.append(ent)
            continue
        partner_end = _partner_end(doc, ent.end, ents_by_start)
        end = _ordinal_end(doc, partner_end)
        if end is not None and not taken & set(range(partner_end, end)):
            swallowed |= {start for start in ents_by_start if ent.end < start < partner_end}
            extended.append(Span(doc, ent.start, end, label="EVENT"))
        elif any(_ordinal_end(doc, i) for i in range(ent.start + 1, ent.end - 2)):
            extended.append(Span(doc, ent.start, ent.end, label="EVENT"))
        else:
            extended.append(ent)
    doc.ents = extended
    return doc


def join_organ_countries(doc: Doc) -> Doc:
    """An ORG, one space, then a GPE: one ORG, unless the ORG is a single acronym."""
    joined: list[Span] = []
    for ent in doc.ents:
        previous = joined[-1] if joined else None
        if (
            ent.label_ == "GPE"
            and previous is not None
            and previous.label_ == "ORG"
            and previous.end == ent.start
            and doc[previous.end - 1].whitespace_ == " "
            and not (len(previous) == 1 and previous.text.isupper())
        ):
            joined[-1] = Span(doc, previous.start, ent.end, label="ORG")
        else:
            joined.append(ent)
    doc.ents = joined
    return doc


TERM = re.compile(r"^(?:[IVXLC]+|\d+)$")
# Words that end a model's ORG span but tell which or how many, not the organ's name (`Bộ Ngoại giao hai nước`).
GENERIC_TAILS = (("hai", "nước"), ("hai", "bên"), ("các", "nước"), ("nước", "này"), ("nước", "đó"))


def _term_end(doc: Doc, start: int) -> int | None:
    """The end of `khóa N` (a legislature's term: `khóa XIV`, `khoá 15`) starting at token `start`, or None."""
    return _numbered_end(doc, start, (frozenset({"khóa", "khoá"}),), TERM)


def organ_terms_and_tails(doc: Doc) -> Doc:
    """An ORG runs on through its term (`Quốc hội khóa XIV`, one name) and stops before a generic tail (`hai nước`)."""
    ents = list(doc.ents)
    taken = {token.i for ent in ents for token in ent}
    fixed: list[Span] = []
    for ent in ents:
        if ent.label_ != "ORG":
            fixed.append(ent)
            continue
        end = _term_end(doc, ent.end)
        if end is not None and not taken & set(range(ent.end, end)):
            ent = Span(doc, ent.start, end, label="ORG")
        words = tuple(token.lower_ for token in ent)
        tail = next((len(t) for t in GENERIC_TAILS if words[-len(t):] == t and len(words) > len(t) + 1), 0)
        fixed.append(Span(doc, ent.start, ent.end - tail, label="ORG") if tail else ent)
    doc.ents = fixed
    return doc


HONORIFICS = frozenset({"ngài", "ông", "bà"})
# Classifier words before a place's name (spec: `thành phố Brest` → GPE `Brest`), as token sequences.
PLACE_CLASSIFIERS = (("thành", "phố"), ("thủ", "đô"), ("bán", "đảo"), ("quần", "đảo"), ("tỉnh",), ("tp",), ("tp.",))


def _leading_words(ent: Span) -> int:
    """How many tokens at the start of `ent` the spec leaves outside it: an honorific or a place classifier."""
    words = [token.lower_ for token in ent]
    if ent.label_ in ("PER", "TITLE") and words[0] in HONORIFICS:
        return 1
    if ent.label_ in ("GPE", "LOC"):
        for classifier in PLACE_CLASSIFIERS:
            n = len(classifier)
            if tuple(words[:n]) == classifier and len(ent) > n and ent[n].text[:1].isupper():
                return n
    return 0


def trim_leading_words(doc: Doc) -> Doc:
    """A person or title without its honorific (`Ngài`, `ông`, `bà`), a place without its classifier word."""
    trimmed = []
    for ent in doc.ents:
        cut = _leading_words(ent) if len(ent) > 1 else 0
        trimmed.append(Span(doc, ent.start + cut, ent.end, label=ent.label_) if cut else ent)
    doc.ents = trimmed
    return doc


@Language.factory("vndiplo_entity_edges")
def make_entity_edges(nlp: Language, name: str):
    """Registered under `spacy_factories` in vndiplo's entry points, so `spacy.load` finds it."""
    return fix_entity_edges


def fix_entity_edges(doc: Doc) -> Doc:
    """The spec's edges after the NER: organs joined to their country, title chains split, event ordinals
    taken in, legislature terms taken in and generic tails left out, honorifics and place classifiers left out."""
    return trim_leading_words(organ_terms_and_tails(extend_event_ordinals(split_title_chains(join_organ_countries(doc)))))
