"""Pull: each annotator's checked documents, offsets converted and checked against the spec and the corpus.

Pull exports the project through Doccano's export API (one JSONL file per
member), keeps the documents each annotator checked, converts offsets, holds
back spans with whitespace at an edge for review, checks the spans against the
spec and the texts against the corpus, and returns one document list per
annotator; :func:`write_pull` writes them and the review list atomically.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import errors
from ..annotations import WARNING, AnnotatedDoc, Finding, Span, check_document, context_of, corpus_mismatch, parse_record, require_valid, write_annotations
from ..corpus import Document, atomic_write_text
from ..labels import LabelSet, load_labels
from .client import META_ID, Credentials, Doccano, check_project_settings, read_export
from .offsets import spans_from_doccano, trim_whitespace


def export_documents(records: list[dict], origin: str) -> tuple[list[AnnotatedDoc], list[Finding]]:
    """Export records as documents with Python offsets (doc id from the metadata), and offset problems."""
    docs, problems = [], []
    for number, record in enumerate(records, start=1):
        doc = parse_record(record, f"{origin}:{number}")
        doc = AnnotatedDoc(doc.id, doc.text, doc.spans)  # Doccano's own columns are not ours to keep
        doc, found = spans_from_doccano(doc)
        docs.append(doc)
        problems += found
    return docs, problems


@dataclass
class AnnotatorWork:
    username: str
    docs: list[AnnotatedDoc]
    done: int  # documents the annotator marked done (checked)
    unchecked: int  # documents with spans but not checked, left out: unreviewed suggestions or unfinished work
    not_started: int  # documents neither checked nor given a span

    @property
    def spans(self) -> int:
        return sum(len(doc.spans) for doc in self.docs)


@dataclass(frozen=True)
class TrimmedSpan:
    """A span whose edges held whitespace, as Doccano stored it and as trimming would keep it.

    An annotator selects words, so whitespace at an edge means the stored span
    is not what they selected: Doccano 1.8.4 saves a selection that wraps onto a
    second screen line shifted right by its own length. Such a span is held
    back for review instead of being written.
    """

    username: str
    doc_id: str
    stored: Span
    trimmed: Span  # start == end: nothing but whitespace was stored
    context: str  # the stored surface in [brackets] with the words around it


@dataclass
class PullResult:
    project: str
    annotators: dict[str, AnnotatorWork]
    trimmed: list[TrimmedSpan] = field(default_factory=list)
    trimmed_accepted: bool = False  # the trimmed spans are in the annotators' files (else held back)
    warnings: list[tuple[str, Finding]] = field(default_factory=list)  # user, spec warning kept as is
    changed: list[str] = field(default_factory=list)  # documents left out because they differ from the corpus
    idle: list[str] = field(default_factory=list)  # members with nothing to write


def build_pull(
    exported: dict[str, list[dict]],
    confirmed: dict[str, list[dict]],
    corpus: dict[str, Document],
    *,
    project: str = "?",
    labels: LabelSet | None = None,
    include_unchecked: bool = False,
    accept_trimmed: bool = False,
    skip_changed: bool = False,
) -> PullResult:
    """Check an export (all documents, and the ones each member marked done) and pick each annotator's work.

    A document goes into an annotator's file when they checked it: suggestions
    pushed from a model are spans in Doccano like any other, so a document
    nobody checked may hold model output nobody reviewed. `include_unchecked`
    adds the documents with spans that were not checked. Offsets become Python
    indices. A span with whitespace at an edge is held back (left out of the
    file, listed in `trimmed` with its context) unless `accept_trimmed`, which
    writes it trimmed. Spec errors refuse the whole pull with the list, and a
    document whose text differs from the corpus (or is not in it) refuses it
    too unless `skip_changed`.
    """
    labels = labels or load_labels()
    result = PullResult(project, {}, trimmed_accepted=accept_trimmed)
    offset_problems: list[Finding] = []
    mismatched: dict[str, str] = {}
    picked: dict[str, tuple[list[AnnotatedDoc], int, int, int]] = {}
    for username, records in exported.items():
        docs, problems = export_documents(records, f"{project}/{username}.jsonl")
        offset_problems += problems
        done_ids = {str(r.get(META_ID) or r.get("id")) for r in confirmed.get(username, [])}
        counts = Counter(doc.id for doc in docs)
        for doc_id, n in counts.items():
            if n > 1:
                mismatched[doc_id] = f"{doc_id}: in the project {n} times"
        kept, unchecked, not_started = [], 0, 0
        for doc in docs:
            if doc.id not in done_ids and not (include_unchecked and doc.spans):
                unchecked += bool(doc.spans)
                not_started += not doc.spans
                continue
            mismatch = corpus_mismatch(doc, corpus)
            if mismatch:
                mismatched.setdefault(doc.id, f"{doc.id}: {mismatch}")
            trimmed_doc, changes = trim_whitespace(doc)
            result.trimmed += [TrimmedSpan(username, doc.id, before, after, context_of(doc.text, before.start, before.end, width=40)) for before, after in changes]
            if accept_trimmed:
                doc = trimmed_doc
            else:
                held_back = {before for before, _ in changes}
                doc = AnnotatedDoc(doc.id, doc.text, [s for s in doc.spans if s not in held_back], doc.meta)
            kept.append(doc)
        picked[username] = (kept, len(done_ids & {d.id for d in kept}), unchecked, not_started)
    if offset_problems:
        listing = "\n".join(str(p) for p in offset_problems[:50])
        raise errors.VndiploError(f"{project}: {len(offset_problems)} spans have offsets that do not fit their text", listing, "Fix the spans in Doccano and pull again.")
    if mismatched and not skip_changed:
        raise errors.doccano_changed_documents(sorted(mismatched.values()))
    result.changed = sorted(mismatched.values()) if mismatched else []
    result.trimmed = [t for t in result.trimmed if t.doc_id not in mismatched]
    for username, (kept, done, unchecked, not_started) in picked.items():
        kept = [doc for doc in kept if doc.id not in mismatched]
        require_valid(kept, f"{project}: {username}'s annotations", labels)
        for doc in kept:
            result.warnings += [(username, f) for f in check_document(doc, labels) if f.level == WARNING]
        if kept:
            result.annotators[username] = AnnotatorWork(username, sorted(kept, key=lambda d: d.id), done, unchecked, not_started)
        else:
            result.idle.append(username)
    return result


def pull(
    creds: Credentials,
    project: str,
    corpus: dict[str, Document],
    *,
    labels: LabelSet | None = None,
    include_unchecked: bool = False,
    accept_trimmed: bool = False,
    skip_changed: bool = False,
) -> PullResult:
    """Export the project through Doccano's export API and check it (see :func:`build_pull`); writes nothing."""
    labels = labels or load_labels()
    api = Doccano(creds)
    found = api.project(project)
    check_project_settings(found)
    unknown = sorted({t["text"] for t in api.span_types(found["id"])} - set(labels.names))
    if unknown:
        raise errors.doccano_unknown_labels(project, unknown, labels.names)
    exported = read_export(api.export(found), f"export of {project}")
    confirmed = read_export(api.export(found, confirmed_only=True), f"export of {project} (done only)")
    return build_pull(
        exported, confirmed, corpus, project=project, labels=labels,
        include_unchecked=include_unchecked, accept_trimmed=accept_trimmed, skip_changed=skip_changed,
    )


TRIMMED_REVIEW = "trimmed-spans.md"


def trimmed_review(result: PullResult) -> str:
    """The review list of spans with whitespace at an edge: who, where, what was stored, in context."""
    verdict = (
        "They are in the annotators' files, trimmed (`--accept-trimmed`)."
        if result.trimmed_accepted
        else "They are NOT in the annotators' files. Fix each one in Doccano and pull again, or pull with "
        "`--accept-trimmed` once every trimmed span below is right."
    )
    lines = [
        f"# Spans held for review: {result.project}",
        "",
        "Doccano stored these spans with whitespace at an edge. An annotator selects words, so such a span is "
        "usually not what was selected: a selection that wraps onto a second screen line is stored shifted "
        f"right by its own length. {verdict}",
        "",
        "| annotator | document | label | stored | trimmed to | context (stored span in brackets) |",
        "|---|---|---|---|---|---|",
    ]
    for item in result.trimmed:
        kept = f"{item.trimmed.start}-{item.trimmed.end}" if item.trimmed.start < item.trimmed.end else "nothing"
        context = item.context.replace("|", "\\|")
        lines.append(f"| {item.username} | {item.doc_id} | {item.stored.label} | {item.stored.start}-{item.stored.end} | {kept} | {context} |")
    return "\n".join(lines) + "\n"


def write_pull(result: PullResult, out_dir: Path) -> tuple[dict[str, Path], Path]:
    """`<out_dir>/<username>.jsonl` for each annotator and the review list of trimmed spans, each written atomically.

    The review list is removed when nothing is held for review, so an old
    list never outlives the pull that wrote it.
    """
    paths = {}
    for username, work in sorted(result.annotators.items()):
        path = out_dir / f"{username}.jsonl"
        write_annotations(work.docs, path)
        paths[username] = path
    review = out_dir / TRIMMED_REVIEW
    if result.trimmed:
        atomic_write_text(review, trimmed_review(result))
    else:
        review.unlink(missing_ok=True)
    return paths, review
