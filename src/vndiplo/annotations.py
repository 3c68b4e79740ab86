"""Annotated documents: reading, checking, comparing and merging span files.

The exchange format is Doccano's sequence-labelling JSONL: one object per
document with `id`, `text` and `label: [[start, end, "LABEL"], ...]`
(character offsets into the NFC text, end exclusive). Every import checks
`text[start:end]` against the spec before anything else sees the spans.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from . import errors
from .corpus import atomic_write_text, iter_jsonl
from .labels import LabelSet, load_labels
from .text import is_word_bounded, splits_a_word

ERROR = "error"
WARNING = "warning"


def _is_edge_junk(char: str) -> bool:
    """Whitespace or punctuation may not open or close a span (spec rule 4)."""
    return char.isspace() or unicodedata.category(char).startswith("P")


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    label: str
    # The entity id the pipeline's `entity_ids` resolved (`ent.kb_id_`); not part of a span's identity.
    kb_id: str = field(default="", compare=False)

    def to_list(self) -> list:
        return [self.start, self.end, self.label]


@dataclass
class AnnotatedDoc:
    id: str
    text: str
    spans: list[Span]
    meta: dict = field(default_factory=dict)

    def to_record(self) -> dict:
        record = {"id": self.id, "text": self.text, "label": [s.to_list() for s in sorted(self.spans)]}
        kb_ids = [[s.start, s.end, s.kb_id] for s in sorted(self.spans) if s.kb_id]
        if kb_ids:  # beside `label`, which keeps Doccano's shape: [start, end, "Q…"] of each resolved span
            record["kb_ids"] = kb_ids
        if self.meta:
            record["meta"] = self.meta
        return record


@dataclass(frozen=True)
class Finding:
    level: str
    doc_id: str
    start: int
    end: int
    message: str
    context: str = ""

    def __str__(self) -> str:
        where = f"{self.doc_id}:{self.start}-{self.end}"
        context = f"  …{self.context}…" if self.context else ""
        return f"{self.level}: {where} {self.message}{context}"


def context_of(text: str, start: int, end: int, width: int = 30) -> str:
    """The span in brackets with some text either side, on one line."""
    left = text[max(0, start - width) : start]
    right = text[end : end + width]
    return f"{left}[{text[start:end]}]{right}".replace("\n", " ⏎ ")


def parse_record(record: object, origin: str) -> AnnotatedDoc:
    """One JSONL object (Doccano `label` lists or `entities` dicts) as a document."""
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise errors.VndiploError(f"{origin}: not an annotation record", "a record needs `id`, `text` and `label`", "Export the file from Doccano as JSONL.")
    meta = dict(record.get("meta") or {}) if isinstance(record.get("meta"), dict) else {}
    doc_id = record.get("doc_id") or meta.get("doc_id") or record.get("id")
    if doc_id is None:
        raise errors.VndiploError(f"{origin}: record without an id", "", "Give every record an `id` (the corpus document id).")
    raw_spans = record.get("label", record.get("entities"))
    raw_spans = [] if raw_spans is None else raw_spans
    if not isinstance(raw_spans, list):
        raise errors.malformed_span(origin, doc_id, raw_spans, "`label` must be a list of spans")
    return AnnotatedDoc(str(doc_id), record["text"], [_parse_span(raw, origin, doc_id) for raw in raw_spans], meta)


def _parse_span(raw: object, origin: str, doc_id: object) -> Span:
    """[start, end, "LABEL"] (or Doccano's dict) with integer offsets and a string label, nothing coerced.

    `"21"`, `21.9` and `true` are refused rather than read as 21, 21 and 1:
    a coerced offset points at other characters than the annotator meant.
    """
    if isinstance(raw, dict) and {"start_offset", "end_offset", "label"} <= set(raw):
        start, end, label = raw["start_offset"], raw["end_offset"], raw["label"]
    elif isinstance(raw, list) and len(raw) == 3:
        start, end, label = raw
    else:
        raise errors.malformed_span(origin, doc_id, raw, "a span is [start, end, \"LABEL\"]")
    for name, offset in (("start", start), ("end", end)):
        if type(offset) is not int:
            raise errors.malformed_span(origin, doc_id, raw, f"the {name} offset {offset!r} is of type {type(offset).__name__}, not an integer")
    if not isinstance(label, str):
        raise errors.malformed_span(origin, doc_id, raw, f"the label {label!r} is of type {type(label).__name__}, not a string")
    return Span(start, end, label)


def read_annotations(path: Path) -> list[AnnotatedDoc]:
    """Documents of one JSONL file; a malformed line stops the read with its line number."""
    if not path.exists():
        raise errors.missing_file(str(path), "Annotation file", "Check the path; gold lives in annotations/gold/.")
    docs, first_line = [], {}
    for number, record in iter_jsonl(path):
        doc = parse_record(record, f"{path}:{number}")
        if doc.id in first_line:
            raise errors.repeated_document(str(path), doc.id, first_line[doc.id], number)
        first_line[doc.id] = number
        docs.append(doc)
    return docs


def read_annotation_paths(paths: Iterable[Path]) -> list[AnnotatedDoc]:
    """All documents of the given files and of the *.jsonl files in the given folders."""
    files: list[Path] = []
    for path in paths:
        found = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        if not found:
            raise errors.VndiploError(f"No annotation files in {path}", "a folder is read for its *.jsonl files", "Check the path (gold lives in annotations/gold/).")
        files.extend(found)
    docs = [doc for file in files for doc in read_annotations(file)]
    seen: dict[str, int] = Counter(doc.id for doc in docs)
    repeated = [doc_id for doc_id, count in seen.items() if count > 1]
    if repeated:
        raise errors.VndiploError("A document id occurs twice", ", ".join(sorted(repeated)), "Keep one record per document.")
    return docs


# --- inline markup ---------------------------------------------------------------------
# Annotators working in a text editor instead of Doccano copy a document and wrap each
# entity as [[surface|LABEL]]. The markup is read back into offsets and the text left
# after removing it must equal the corpus text exactly, so no copying slip goes unseen.

# `(?!\[)`: in `[[[Đảng|ORG]]]` the text's own bracket stays outside the span.
_MARKUP = re.compile(r"\[\[(?!\[)(.*?)\|([A-Z]+)\]\]", re.DOTALL)


def parse_markup(marked: str, doc_id: str, expected_text: str) -> AnnotatedDoc:
    """A document from `[[surface|LABEL]]` markup, checked against the corpus text."""
    marked = unicodedata.normalize("NFC", marked).strip()
    pieces: list[str] = []
    spans: list[Span] = []
    last = length = 0
    for match in _MARKUP.finditer(marked):
        before, surface = marked[last : match.start()], match.group(1)
        start = length + len(before)
        spans.append(Span(start, start + len(surface), match.group(2)))
        pieces += [before, surface]
        length = start + len(surface)
        last = match.end()
    pieces.append(marked[last:])
    text = "".join(pieces)
    if text != expected_text:
        at = next((i for i, (a, b) in enumerate(zip(text, expected_text)) if a != b), min(len(text), len(expected_text)))
        raise errors.VndiploError(
            f"Markup of {doc_id!r} does not reproduce the corpus text",
            f"first difference at character {at}: markup …{text[max(0, at - 40):at + 20]!r}… corpus …{expected_text[max(0, at - 40):at + 20]!r}…",
            "Copy the document text exactly and only add [[surface|LABEL]] around entities (upper-case label).",
        )
    return AnnotatedDoc(doc_id, expected_text, spans)


def write_annotations(docs: Iterable[AnnotatedDoc], path: Path) -> None:
    lines = [json.dumps(doc.to_record(), ensure_ascii=False) + "\n" for doc in sorted(docs, key=lambda d: d.id)]
    atomic_write_text(path, "".join(lines))


def trim_span(text: str, span: Span) -> Span:
    """The span without leading or trailing whitespace and punctuation."""
    start, end = span.start, span.end
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        end -= 1
    return replace(span, start=start, end=end)


def check_document(doc: AnnotatedDoc, labels: LabelSet | None = None) -> list[Finding]:
    """Spec checks within one document: labels, offsets, edges, overlaps."""
    labels = labels or load_labels()
    findings = []

    def add(level, span, message):
        findings.append(Finding(level, doc.id, span.start, span.end, message, context_of(doc.text, span.start, span.end)))

    valid = []
    for span in doc.spans:
        if span.label not in labels:
            add(ERROR, span, f"label {span.label!r} is not in the spec ({', '.join(labels.names)})")
        elif not 0 <= span.start < span.end <= len(doc.text):
            findings.append(Finding(ERROR, doc.id, span.start, span.end, f"offsets out of range (text has {len(doc.text)} characters)"))
        else:
            valid.append(span)
            if trim_span(doc.text, span) != span:
                add(WARNING if trim_span(doc.text, span).start < trim_span(doc.text, span).end else ERROR, span, "span starts or ends with whitespace or punctuation")
            if splits_a_word(doc.text, span.start, span.end):
                add(ERROR, span, "span starts or ends inside a word")
            if "\n" in doc.text[span.start : span.end]:
                add(ERROR, span, "span runs across a line break")
    ordered = sorted(valid)
    for previous, current in zip(ordered, ordered[1:]):
        if current.start < previous.end:
            add(ERROR, current, f"overlaps {previous.label} {doc.text[previous.start:previous.end]!r} at {previous.start}-{previous.end}")
    return findings


def trim_document(doc: AnnotatedDoc) -> tuple[AnnotatedDoc, list[tuple[Span, Span]]]:
    """The document with stray whitespace/punctuation trimmed off span edges, and what changed."""
    trimmed, changes = [], []
    for span in doc.spans:
        new = trim_span(doc.text, span)
        if new != span:
            changes.append((span, new))
        if new.start < new.end:
            trimmed.append(new)
    return AnnotatedDoc(doc.id, doc.text, trimmed, doc.meta), changes


def spec_spans(doc: AnnotatedDoc) -> AnnotatedDoc:
    """A model's spans as the spec allows them: edges trimmed, and any span it forbids dropped.

    A span of bare punctuation, one across a line break or one cutting a word is never right, and
    would make the file fail `validate` and `doccano push --pre-annotations`.
    """
    trimmed = trim_document(doc)[0]
    forbidden = {(finding.start, finding.end) for finding in check_document(trimmed) if finding.level == ERROR}
    return AnnotatedDoc(trimmed.id, trimmed.text, [s for s in trimmed.spans if (s.start, s.end) not in forbidden], trimmed.meta)


def _free_occurrences(doc: AnnotatedDoc, surface: str) -> list[int]:
    """Word-bounded starts of `surface` in `doc` that no span covers or touches."""
    found = []
    position = doc.text.find(surface)
    while position != -1:
        end = position + len(surface)
        touching = any(s.start < end and position < s.end for s in doc.spans)
        if is_word_bounded(doc.text, position, end) and not touching:
            found.append(position)
        position = doc.text.find(surface, position + 1)
    return found


def check_consistency(docs: list[AnnotatedDoc]) -> list[Finding]:
    """Corpus-wide warnings: one surface with several labels, and the odd one out of labelled vs unlabelled.

    A surface labelled in most of its occurrences is flagged where it is left
    out (a missed mention); one left out in most (a common word that is also a
    name, `ba`, `Anh`) is flagged where it is labelled, so the reviewer reads
    the exceptions, not every ordinary use of the word.
    """
    labels_of: dict[str, Counter] = defaultdict(Counter)
    labelled_at: dict[str, list[tuple[AnnotatedDoc, Span]]] = defaultdict(list)
    for doc in docs:
        for span in doc.spans:
            surface = doc.text[span.start : span.end]
            labels_of[surface][span.label] += 1
            labelled_at[surface].append((doc, span))
    findings = []
    for surface, counts in sorted(labels_of.items()):
        if len(counts) > 1:
            detail = ", ".join(f"{label}×{n}" for label, n in counts.most_common())
            findings.append(Finding(WARNING, "*", 0, 0, f"{surface!r} has different labels: {detail}"))
    for surface, counts in labels_of.items():
        if len(surface) < 2:
            continue
        free = [(doc, start) for doc in docs for start in _free_occurrences(doc, surface)]
        labelled = sum(counts.values())
        label = counts.most_common(1)[0][0]
        if labelled >= len(free):
            for doc, start in free:
                end = start + len(surface)
                message = f"{surface!r} is labelled {label} in {labelled} places but not here"
                findings.append(Finding(WARNING, doc.id, start, end, message, context_of(doc.text, start, end)))
        else:
            for doc, span in labelled_at[surface]:
                message = f"{surface!r} is labelled {span.label} here but left out in {len(free)} places"
                findings.append(Finding(WARNING, doc.id, span.start, span.end, message, context_of(doc.text, span.start, span.end)))
    return sorted(findings, key=lambda f: (f.doc_id, f.start, f.message))


def finding_key(finding: Finding) -> str:
    """What identifies a warning across runs: place and surface, not the counts in its message."""
    surface = finding.message.split("'")[1] if finding.message.count("'") >= 2 else finding.message
    return f"{finding.doc_id}:{finding.start}-{finding.end}:{surface}"


def split_reviewed(findings: list[Finding], reviewed: list[dict]) -> tuple[list[Finding], list[Finding]]:
    """(findings still open, findings a reviewer read and kept with a reason).

    A consistency warning is a question, not an error: "is this the odd one
    out?" Once a reviewer has answered "yes, and rightly so" with a reason,
    the answer is recorded (`annotations/review/consistency.jsonl`) and the
    warning no longer hides the new ones. Errors can never be kept.
    """
    kept = {record["key"] for record in reviewed if record.get("decision") == "kept" and record.get("note")}
    still_open = [f for f in findings if f.level == ERROR or finding_key(f) not in kept]
    return still_open, [f for f in findings if f.level != ERROR and finding_key(f) in kept]


def validate(docs: list[AnnotatedDoc], labels: LabelSet | None = None) -> list[Finding]:
    """All findings for a set of documents: per-document errors, then corpus warnings."""
    findings = [finding for doc in docs for finding in check_document(doc, labels)]
    return findings + check_consistency(docs)


def require_valid(docs: list[AnnotatedDoc], origin: str, labels: LabelSet | None = None) -> None:
    """Raise with the whole list when any document breaks the spec."""
    problems = [f for doc in docs for f in check_document(doc, labels) if f.level == ERROR]
    if problems:
        listing = errors.truncated_list([str(p) for p in problems], 50, "\n", "\n")
        raise errors.VndiploError(f"{origin}: {len(problems)} spans break the label spec", listing, "Run `vndiplo validate` on the file, fix the spans and try again.")


# --- agreement between two annotators -------------------------------------------------

_SYLLABLE = re.compile(r"\w+|[^\w\s]")
MISSING = "∅"


def syllable_tokens(text: str) -> list[tuple[int, int]]:
    """Offsets of syllables and punctuation marks: the unit of token-level agreement."""
    return [(m.start(), m.end()) for m in _SYLLABLE.finditer(text)]


def token_labels(text: str, spans: Iterable[Span]) -> list[str]:
    """The label covering each syllable token, or `O`."""
    tokens = syllable_tokens(text)
    labels = ["O"] * len(tokens)
    for span in spans:
        for index, (start, end) in enumerate(tokens):
            if start < span.end and span.start < end:
                labels[index] = span.label
    return labels


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def gold(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def count_matches(gold: set[Span], predicted: set[Span], overall: PRF, per_label: dict[str, PRF]) -> None:
    """Add strict matches (label and both offsets) to the overall and per-label counts."""
    for span in gold & predicted:
        overall.tp += 1
        per_label.setdefault(span.label, PRF()).tp += 1
    for span in predicted - gold:
        overall.fp += 1
        per_label.setdefault(span.label, PRF()).fp += 1
    for span in gold - predicted:
        overall.fn += 1
        per_label.setdefault(span.label, PRF()).fn += 1


@dataclass
class Agreement:
    overall: PRF
    per_label: dict[str, PRF]
    kappa: float
    confusion: Counter  # (label in A or ∅, label in B or ∅) -> count, disagreements only
    disagreements: list[tuple[str, list[Span], list[Span], str]]  # doc id, A spans, B spans, context


def pair_documents(a_docs: list[AnnotatedDoc], b_docs: list[AnnotatedDoc]) -> list[tuple[AnnotatedDoc, AnnotatedDoc]]:
    """Documents present in both files, which must hold the same text."""
    b_by_id = {doc.id: doc for doc in b_docs}
    shared = [doc for doc in a_docs if doc.id in b_by_id]
    if not shared:
        raise errors.VndiploError("The two files share no document id", "", "Compare two annotators' files of the same documents.")
    for doc in shared:
        if doc.text != b_by_id[doc.id].text:
            raise errors.VndiploError(f"Document {doc.id!r} has a different text in the two files", "", "Pull both annotators' work from the same corpus.")
    return [(doc, b_by_id[doc.id]) for doc in shared]


def conflict_groups(a: AnnotatedDoc, b: AnnotatedDoc) -> list[tuple[list[Span], list[Span]]]:
    """Spans not shared by A and B, clustered so that overlapping spans form one conflict."""
    shared = set(a.spans) & set(b.spans)
    tagged = sorted([(s, "a") for s in a.spans if s not in shared] + [(s, "b") for s in b.spans if s not in shared])
    groups: list[tuple[list[Span], list[Span], int]] = []
    for span, side in tagged:
        if groups and span.start < groups[-1][2]:
            group = groups[-1]
            groups[-1] = (group[0], group[1], max(group[2], span.end))
        else:
            groups.append(([], [], span.end))
        (groups[-1][0] if side == "a" else groups[-1][1]).append(span)
    return [(group_a, group_b) for group_a, group_b, _ in groups]


def agreement(a_docs: list[AnnotatedDoc], b_docs: list[AnnotatedDoc], labels: LabelSet | None = None) -> Agreement:
    """Strict span F1 (A as reference), token-level Cohen's kappa, label confusion and the disagreements."""
    from sklearn.metrics import cohen_kappa_score

    labels = labels or load_labels()
    overall, per_label = PRF(), {name: PRF() for name in labels.names}
    a_tokens: list[str] = []
    b_tokens: list[str] = []
    confusion: Counter = Counter()
    disagreements = []
    for a, b in pair_documents(a_docs, b_docs):
        count_matches(set(a.spans), set(b.spans), overall, per_label)
        a_tokens += token_labels(a.text, a.spans)
        b_tokens += token_labels(b.text, b.spans)
        for group_a, group_b in conflict_groups(a, b):
            start = min(s.start for s in group_a + group_b)
            end = max(s.end for s in group_a + group_b)
            disagreements.append((a.id, group_a, group_b, context_of(a.text, start, end)))
            same_extent = {(s.start, s.end) for s in group_a} & {(s.start, s.end) for s in group_b}
            for span in group_a:
                partner = next((t.label for t in group_b if (t.start, t.end) == (span.start, span.end)), MISSING)
                confusion[(span.label, partner)] += 1
            for span in group_b:
                if (span.start, span.end) not in same_extent:
                    confusion[(MISSING, span.label)] += 1
    kappa = float(cohen_kappa_score(a_tokens, b_tokens)) if a_tokens else 0.0
    return Agreement(overall, per_label, kappa, confusion, disagreements)


# --- adjudication ----------------------------------------------------------------------

PREFERENCES = ("A", "B")


def _conflict_key(doc_id: str, group_a: list[Span], group_b: list[Span]) -> str:
    return json.dumps([doc_id, [s.to_list() for s in group_a], [s.to_list() for s in group_b]], ensure_ascii=False)


def _decided_spans(choice: object, group_a: list[Span], group_b: list[Span], text: str, where: str) -> list[Span]:
    if choice == "A":
        return group_a
    if choice == "B":
        return group_b
    if choice == "none":
        return []
    if isinstance(choice, list):
        spans = []
        for item in choice:
            surface = item[3] if isinstance(item, list) and len(item) == 4 else None
            span = parse_record({"id": where, "text": text, "label": [item[:3] if surface else item]}, where).spans[0]
            if surface is not None and text[span.start : span.end] != surface:
                raise errors.VndiploError(
                    f"Review decision at {where}: {span.start}-{span.end} is {text[span.start:span.end]!r}, not {surface!r}",
                    "",
                    "Fix the offsets of the chosen span in the review file.",
                )
            spans.append(span)
        return spans
    raise errors.VndiploError(
        f"Review decision {choice!r} is not understood ({where})",
        "a choice is \"A\", \"B\", \"none\" or a list of spans [[start, end, \"LABEL\"], ...]",
        "Fix the `choice` field in the review file and run adjudicate again.",
    )


@dataclass
class Adjudication:
    gold: list[AnnotatedDoc] | None  # None while conflicts wait for a decision
    review: list[dict]  # one record per conflict, with `choice` filled or null
    agreed: int
    unresolved: int


def adjudicate(
    a_docs: list[AnnotatedDoc],
    b_docs: list[AnnotatedDoc],
    *,
    decisions: list[dict] | None = None,
    prefer: str | None = None,
    labels: LabelSet | None = None,
) -> Adjudication:
    """Keep agreed spans; settle each conflict from a review decision or the `prefer` rule.

    A conflict nobody decided is never dropped: the gold is withheld and the
    review records say which decisions are missing.
    """
    if prefer is not None and prefer not in PREFERENCES:
        raise errors.VndiploError(f"--prefer takes A or B, not {prefer!r}", "", "")
    decided = {record["key"]: record for record in decisions or []}
    gold, review, agreed, unresolved = [], [], 0, 0
    for a, b in pair_documents(a_docs, b_docs):
        spans = sorted(set(a.spans) & set(b.spans))
        agreed += len(spans)
        for group_a, group_b in conflict_groups(a, b):
            key = _conflict_key(a.id, group_a, group_b)
            start = min(s.start for s in group_a + group_b)
            end = max(s.end for s in group_a + group_b)
            previous = decided.get(key, {})
            choice = previous.get("choice") or prefer
            record = {
                "key": key,
                "id": a.id,
                "start": start,
                "end": end,
                "context": context_of(a.text, start, end, width=60),
                "A": [[s.start, s.end, s.label, a.text[s.start : s.end]] for s in group_a],
                "B": [[s.start, s.end, s.label, b.text[s.start : s.end]] for s in group_b],
                "choice": choice,
                "note": previous.get("note", ""),
            }
            review.append(record)
            if choice is None:
                unresolved += 1
            else:
                spans += _decided_spans(choice, group_a, group_b, a.text, f"{a.id}:{start}-{end}")
        gold.append(AnnotatedDoc(a.id, a.text, sorted(set(spans)), a.meta))
    if not unresolved:
        require_valid(gold, "adjudicated gold", labels)
    return Adjudication(None if unresolved else gold, review, agreed, unresolved)


def _revision_spans(items: object, text: str, where: str) -> list[Span]:
    """[[start, end, LABEL, surface], ...] of a revision, each surface checked against the text."""
    if not isinstance(items, list) or not all(isinstance(item, list) and len(item) == 4 for item in items):
        raise errors.VndiploError(f"Revision {where}: spans must be [[start, end, \"LABEL\", \"surface\"], ...]", repr(items), "Fix the revisions file.")
    return _decided_spans([list(item) for item in items], [], [], text, where)


def apply_revisions(gold: list[AnnotatedDoc], revisions: list[dict], labels: LabelSet | None = None) -> list[AnnotatedDoc]:
    """Gold with later decisions applied: each revision removes and adds named spans in one document.

    Agreed spans are final for adjudication, but a spec decision made after both
    passes (date ranges, event names) must still reach them; a revision says
    which spans change and why, and fails if the gold no longer holds what it removes.
    """
    revised = {doc.id: doc for doc in gold}
    for number, revision in enumerate(revisions, start=1):
        doc = revised.get(revision.get("id"))
        if doc is None:
            raise errors.VndiploError(f"Revision {number} names document {revision.get('id')!r}, which the gold does not hold", "", "Fix the `id` in the revisions file.")
        where = f"{doc.id} (revision {number})"
        remove = set(_revision_spans(revision.get("remove", []), doc.text, where))
        missing = remove - set(doc.spans)
        if missing:
            raise errors.VndiploError(f"Revision {where} removes spans the gold does not hold", ", ".join(map(str, sorted(missing))), "The gold changed since the revision was written: check it and update the revision.")
        add = _revision_spans(revision.get("add", []), doc.text, where)
        revised[doc.id] = AnnotatedDoc(doc.id, doc.text, sorted((set(doc.spans) - remove) | set(add)), doc.meta)
    docs = [revised[doc.id] for doc in gold]
    require_valid(docs, "revised gold", labels)
    return docs


def revisions_log(revisions: list[dict]) -> str:
    """Markdown list of the revisions: what each removed and added, and why."""
    def spans(items: list) -> str:
        return "; ".join(f"{label} `{surface}`" for _s, _e, label, surface in items) or "nothing"

    return "\n".join(f"- `{r['id']}` removed {spans(r.get('remove', []))}; added {spans(r.get('add', []))} — {r.get('note', '')}" for r in revisions)


def _records_naming(path: Path, field: str, shape: str) -> list[dict]:
    """The objects of a JSONL file, each holding a string `field`; `shape` tells the user what a record is."""
    records = []
    for number, record in iter_jsonl(path):
        if not isinstance(record, dict) or not isinstance(record.get(field), str):
            raise errors.bad_jsonl(str(path), number, shape)
        records.append(record)
    return records


def read_review(path: Path) -> list[dict]:
    """Review records (conflict decisions, kept warnings): each an object with a string `key`."""
    if not path.exists():
        return []
    return _records_naming(path, "key", "a review record is an object with a string `key` (copy the records vndiplo wrote)")


def read_revisions(path: Path) -> list[dict]:
    """Revision records of `adjudicate --revisions`: each an object naming its document (`id`)."""
    return _records_naming(path, "id", "a revision is an object {id, remove, add, note} with the document's `id`")


def write_review(records: list[dict], path: Path) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def count_table(docs: list[AnnotatedDoc], labels: LabelSet | None = None) -> str:
    """Markdown table of spans per label per document, with totals."""
    names = (labels or load_labels()).names
    lines = ["| document | words | " + " | ".join(names) + " | total |", "|---|---|" + "---|" * (len(names) + 1)]
    totals: Counter = Counter()
    words = 0
    for doc in sorted(docs, key=lambda d: d.id):
        counts = Counter(span.label for span in doc.spans)
        totals.update(counts)
        n_words = len(doc.text.split())
        words += n_words
        lines.append(f"| {doc.id} | {n_words} | " + " | ".join(str(counts[n]) for n in names) + f" | {sum(counts.values())} |")
    lines.append(f"| **total** | **{words}** | " + " | ".join(f"**{totals[n]}**" for n in names) + f" | **{sum(totals.values())}** |")
    return "\n".join(lines)


def adjudication_log(review: list[dict]) -> str:
    """Markdown list of every conflict with both annotators' spans and the decision."""
    def spans(items: list) -> str:
        return "; ".join(f"{label} `{surface}`" for _s, _e, label, surface in items) or "no span"

    lines = []
    for record in review:
        choice = record.get("choice")
        decided = {"A": "A", "B": "B", "none": "no span"}.get(choice, None) if isinstance(choice, str) else None
        if decided is None and isinstance(choice, list):
            decided = "; ".join(f"{label} [{start}:{end}]" for start, end, label, *_ in choice)
        note = f" — {record['note']}" if record.get("note") else ""
        lines.append(f"- `{record['id']}` {record['context']}\n  A: {spans(record['A'])} | B: {spans(record['B'])} → **{decided or 'undecided'}**{note}")
    return "\n".join(lines)
