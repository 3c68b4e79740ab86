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
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import errors
from .corpus import Document, atomic_write_text, find_input_files, iter_jsonl
from .labels import LabelSet, load_labels
from .text import decode_utf8, is_word_bounded, splits_a_word

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
        record: dict[str, object] = {"id": self.id, "text": self.text, "label": [s.to_list() for s in sorted(self.spans)]}
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


def corpus_mismatch(doc: AnnotatedDoc, corpus: dict[str, Document]) -> str | None:
    """Why `doc` cannot be annotation of `corpus`, or None: its offsets index the corpus text, so the texts must be equal."""
    if doc.id not in corpus:
        return "document is not in the corpus"
    if doc.text != corpus[doc.id].text:
        return "text differs from the corpus text"
    return None


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
    docs, first_line = [], dict[str, int]()
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


def read_markup(paths: Iterable[Path], corpus: dict[str, Document]) -> list[AnnotatedDoc]:
    """Documents from markup files named `<document id>.txt` (or folders of them), checked against the spec."""
    docs = []
    for path in find_input_files(paths):
        if path.stem not in corpus:
            raise errors.VndiploError(f"{path}: no document {path.stem!r} in the corpus", "", "Name each markup file after its corpus document id.")
        docs.append(parse_markup(decode_utf8(path.read_bytes(), str(path)), path.stem, corpus[path.stem].text))
    require_valid(docs, "markup")
    return docs


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


def validate(docs: list[AnnotatedDoc], labels: LabelSet | None = None, *, corpus: dict[str, Document] | None = None) -> list[Finding]:
    """All findings for a set of documents: per-document errors (against `corpus` too, when given), then corpus warnings."""
    findings = [finding for doc in docs for finding in check_document(doc, labels)]
    if corpus is not None:
        findings += [Finding(ERROR, doc.id, 0, 0, mismatch) for doc in docs if (mismatch := corpus_mismatch(doc, corpus))]
    return findings + check_consistency(docs)


def require_valid(docs: list[AnnotatedDoc], origin: str, labels: LabelSet | None = None) -> None:
    """Raise with the whole list when any document breaks the spec."""
    problems = [f for doc in docs for f in check_document(doc, labels) if f.level == ERROR]
    if problems:
        listing = errors.truncated_list([str(p) for p in problems], 50, "\n", "\n")
        raise errors.VndiploError(f"{origin}: {len(problems)} spans break the label spec", listing, "Run `vndiplo validate` on the file, fix the spans and try again.")


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
