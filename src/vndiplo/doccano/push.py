"""Push: a sequence-labelling project with the spec's labels and guidelines, the corpus, and suggestions.

Push creates (or reuses) the project with the eight labels of the spec, their
colours and shortcut keys, and the guidelines, then uploads the corpus documents
with their id in the metadata (`doc_id`), never twice. Pre-annotations (model or
gazetteer output) become spans of the account that pushes them: Doccano keeps
each annotator's spans apart, so every annotator sees only the suggestions
pushed with their own login.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import errors
from ..annotations import AnnotatedDoc, Span, corpus_mismatch, read_annotations, require_valid
from ..corpus import Document, exclusive_lock
from ..labels import Label, LabelSet, load_labels
from ..paths import GUIDELINES, project_dir
from .client import MAX_REQUEST_BYTES, META_ID, Credentials, Doccano, check_project_settings, read_export, too_large_for_doccano
from .offsets import spans_to_doccano, trim_whitespace


def _text_colour(background: str) -> str:
    red, green, blue = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "#ffffff"

# A push that meets two projects of its name looks again this many times, this many seconds
# apart, before refusing: the newer one may be another push's, about to be deleted.
_SETTLE_ATTEMPTS, _SETTLE_PAUSE = 3, 1.0


def span_type_payload(label: Label) -> dict:
    """A label of the config as a Doccano span type: name, colours and a one-key shortcut."""
    return {
        "text": label.name,
        "background_color": label.color.lower(),
        "text_color": _text_colour(label.color),
        "suffix_key": label.shortcut.lower(),
        "prefix_key": None,
    }


def default_guidelines_path() -> Path:
    return project_dir() / GUIDELINES


def load_guidelines(path: Path | None = None, labels: LabelSet | None = None) -> str:
    """The guidelines text for the project page; when the file is missing, a short self-contained version.

    Doccano shows this text inside the browser, where a path to a file of the
    repository means nothing, so the fallback names no file either.
    """
    path = path or default_guidelines_path()
    if path.exists():
        return path.read_text(encoding="utf-8")
    labels = labels or load_labels()
    rules = (
        "Press a label's key first (its chip shows ✓), then select each name of that type with the mouse, "
        "keeping the selection on one line of the screen. Spans are flat and never overlap (the longest name "
        "wins), and never start or end with whitespace or punctuation. When the document is done, press the "
        "check button (the first button of the toolbar, drawn as ✕)."
    )
    lines = [
        "# vndiplo annotation guidelines",
        "",
        rules,
        "",
        "| key | label | what it marks |",
        "|---|---|---|",
    ]
    lines += [f"| `{label.shortcut}` | {label.name} | {label.description} |" for label in labels.labels]
    return "\n".join(lines) + "\n"


@dataclass
class PushReport:
    project: dict
    project_url: str
    created: bool = False
    labels_created: list[str] = field(default_factory=list)
    labels_updated: list[str] = field(default_factory=list)
    guideline_updated: bool = False
    uploaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # in Doccano with another text than the corpus's
    suggested: dict[str, int] = field(default_factory=dict)  # doc id -> spans created as suggestions
    suggestions_skipped: list[str] = field(default_factory=list)  # the user already has spans there
    deferred: list[str] = field(default_factory=list)  # not uploaded: beyond the batch `limit`
    trimmed: list[tuple[str, Span, Span]] = field(default_factory=list)  # pre-annotation edges trimmed
    copies_deleted: list[tuple[str, int]] = field(default_factory=list)  # doc id, example id of an untouched second copy
    copies_kept: list[tuple[str, int, int]] = field(default_factory=list)  # doc id, second copy with work on it, first copy
    warnings: list[str] = field(default_factory=list)


def ensure_labels(api: Doccano, project: dict, labels: LabelSet, report: PushReport | None = None) -> dict[str, int]:
    """The spec's labels in the project (created or corrected), by name → span type id; unknown labels refuse."""
    existing = {t["text"]: t for t in api.span_types(project["id"])}
    unknown = sorted(set(existing) - set(labels.names))
    if unknown:
        raise errors.doccano_unknown_labels(project["name"], unknown, labels.names)
    ids = {}
    for label in labels.labels:
        wanted = span_type_payload(label)
        have = existing.get(label.name)
        if have is None:
            try:
                ids[label.name] = api.create_span_type(project["id"], wanted)["id"]
            except errors.VndiploError:  # a push at the same time created it first (Doccano keeps label names unique)
                again = {t["text"]: t for t in api.span_types(project["id"])}.get(label.name)
                if again is None:
                    raise
                ids[label.name] = again["id"]
                continue
            if report:
                report.labels_created.append(label.name)
        else:
            ids[label.name] = have["id"]
            differs = any((have.get(k) or None) != (v or None) for k, v in wanted.items() if k != "text_color")
            if differs:
                api.update_span_type(project["id"], have["id"], wanted)
                if report:
                    report.labels_updated.append(label.name)
    return ids


def read_pre_annotations(path: Path, corpus: dict[str, Document], labels: LabelSet | None = None) -> tuple[list[AnnotatedDoc], list[tuple[str, Span, Span]]]:
    """Suggested spans (Doccano JSONL, Python offsets) checked against the corpus and the spec.

    Stray whitespace at span edges is trimmed and returned; any other problem refuses the file.
    """
    docs = read_annotations(path)
    problems = [f"{doc.id}: {mismatch}" for doc in docs if (mismatch := corpus_mismatch(doc, corpus))]
    repeated = [doc_id for doc_id, n in Counter(d.id for d in docs).items() if n > 1]
    problems += [f"{doc_id}: occurs more than once" for doc_id in repeated]
    if problems:
        raise errors.pre_annotations_mismatch(str(path), problems)
    trimmed_docs, trimmed = [], []
    for doc in docs:
        new, changes = trim_whitespace(doc)
        trimmed_docs.append(new)
        trimmed += [(doc.id, old, after) for old, after in changes]
    require_valid(trimmed_docs, str(path), labels)
    return trimmed_docs, trimmed


def _same_text(stored: str, wanted: str) -> bool:
    """Doccano trims the guideline text it stores (Django REST framework's CharField)."""
    return stored.replace("\r\n", "\n").strip() == wanted.replace("\r\n", "\n").strip()


@contextlib.contextmanager
def _push_turn(url: str, project: str):
    """Pushes to one project from this computer take turns (an exclusive lock in the temp folder).

    This avoids the races on one computer; pushes from several computers are
    made safe by :func:`_project_for_push` and :func:`settle_copies`, which
    look at what the server holds after each step.
    """
    import hashlib
    import tempfile

    key = hashlib.sha256(f"{url}\n{project}".encode()).hexdigest()[:16]
    with exclusive_lock(Path(tempfile.gettempdir()) / f"vndiplo-push-{key}.lock"):
        yield


def _project_for_push(api: Doccano, name: str, *, guideline: str, description: str) -> tuple[dict, bool]:
    """The project named `name`, created if missing; (project, created).

    Two pushes from two computers may both find no project and both create
    one. Each creator then lists the projects again: the oldest of that name
    (lowest id) is the project, and a newer one it created itself, still
    empty, is deleted. Projects of one name that vndiplo did not just create
    are refused (:func:`Doccano.find_project`): one of them may hold work.
    """
    named = api.projects_named(name)
    for _ in range(_SETTLE_ATTEMPTS):
        if len(named) < 2:
            break
        time.sleep(_SETTLE_PAUSE)  # maybe a push elsewhere is about to delete the project it just created
        named = api.projects_named(name)
    if len(named) > 1:
        raise errors.doccano_project_ambiguous(name, [p["id"] for p in named])
    if named:
        return named[0], False
    created = api.create_project(name, guideline=guideline, description=description)
    oldest = api.projects_named(name)[0]
    if oldest["id"] != created["id"]:
        api.delete_project(created)
        return oldest, False
    return created, True


def _touched_examples(api: Doccano, project: dict) -> set[int]:
    """Ids of the examples anyone has labelled, commented on or marked done (from the project's export)."""
    touched = set()
    for records in read_export(api.export(project), f"export of {project['name']}").values():
        touched |= {r["id"] for r in records if r.get("label") or r.get("Comments")}
    for records in read_export(api.export(project, confirmed_only=True), f"export of {project['name']} (done only)").values():
        touched |= {r["id"] for r in records}
    return touched


def settle_copies(api: Doccano, project: dict, report: PushReport) -> list[dict]:
    """The project's examples, oldest first, after dealing with second copies of a document.

    Concurrent pushes from several computers can upload one document (one
    `doc_id`) twice. The first copy (lowest id) is the document; a later copy
    nobody has worked on is deleted, one that holds labels, comments or a
    "done" mark is kept and reported, for a person to merge. Every push takes
    the same first copy, so suggestions never land on a copy that is deleted.
    Without the right to export or delete (an annotator's account), the
    copies are reported and kept.
    """
    examples = sorted(api.examples(project["id"]), key=lambda ex: ex["id"])
    copies: dict[str, list[dict]] = {}
    for example in examples:
        doc_id = (example.get("meta") or {}).get(META_ID)
        if doc_id:
            copies.setdefault(doc_id, []).append(example)
    later = {doc_id: found for doc_id, found in copies.items() if len(found) > 1}
    if not later:
        return examples
    try:
        touched, unchecked = _touched_examples(api, project), ""
    except errors.VndiploError as error:  # an annotator's account may not export; or the task worker is down
        touched, unchecked = None, error.title
    deleted = set()
    for doc_id, (first, *others) in later.items():
        for copy in others:
            if touched is None:
                report.warnings.append(
                    f"{doc_id}: example {copy['id']} is a second copy of example {first['id']}, kept because "
                    f"whether anyone worked on it could not be checked ({unchecked}): a project admin's push settles it"
                )
            elif copy["id"] in touched:
                report.copies_kept.append((doc_id, copy["id"], first["id"]))
            else:
                api.delete_example(project["id"], copy["id"])
                report.copies_deleted.append((doc_id, copy["id"]))
                deleted.add(copy["id"])
    return [ex for ex in examples if ex["id"] not in deleted]


def _first_copies(examples: list[dict]) -> tuple[dict[str, dict], dict[str, dict]]:
    """The oldest example of each `doc_id` and of each text (examples sorted oldest first)."""
    by_id: dict[str, dict] = {}
    by_text: dict[str, dict] = {}
    for example in examples:
        doc_id = (example.get("meta") or {}).get(META_ID)
        if doc_id:
            by_id.setdefault(doc_id, example)
        by_text.setdefault(example["text"], example)
    return by_id, by_text


def push(
    creds: Credentials,
    corpus: dict[str, Document],
    project: str,
    *,
    order: Sequence[str] | None = None,
    limit: int | None = None,
    pre_annotations: Sequence[AnnotatedDoc] | None = None,
    guideline: str | None = None,
    labels: LabelSet | None = None,
    description: str = "Vietnamese diplomatic NER (vndiplo): label the eight entity types of the spec.",
    progress: Callable[[int, int], None] | None = None,
) -> PushReport:
    """Create or reuse the project, upload the documents that are not there yet, add suggestions.

    `order` lists the ids to push, in the order annotators will see them
    (Doccano shows documents in upload order); default: the whole corpus in its
    order. A document already in the project (same `doc_id`, or the same text)
    is never uploaded again; one whose text differs from the corpus is left
    alone and reported. With `limit`, at most that many new documents are
    uploaded (the rest are `deferred`): pushing the same order again hands out
    the next batch. Suggestions go to documents where the logged-in user has
    no spans yet, in Doccano's UTF-16 offsets (only for documents in `order`).
    `progress(done, total)` is called after each document.

    Safe to run several times at once: on one computer the pushes take turns;
    from several computers, a second project or second copies of a document
    that a race left are found and settled (:func:`settle_copies`).
    """
    labels = labels or load_labels()
    ids = list(dict.fromkeys(order)) if order is not None else list(corpus)
    missing = [doc_id for doc_id in ids if doc_id not in corpus]
    if missing:
        raise errors.unknown_document_ids(missing, "the corpus")
    suggestions = {doc.id: doc for doc in pre_annotations or []}
    missing = [doc_id for doc_id in suggestions if doc_id not in corpus]
    if missing:
        raise errors.unknown_document_ids(missing, "the corpus (pre-annotations)")
    too_large = too_large_for_doccano(corpus[doc_id] for doc_id in ids)
    if too_large:
        raise errors.doccano_documents_too_large(too_large, MAX_REQUEST_BYTES)
    if guideline is None:
        guideline = load_guidelines(labels=labels)

    api = Doccano(creds)
    with _push_turn(creds.url, project):
        found, created = _project_for_push(api, project, guideline=guideline, description=description)
        check_project_settings(found)
        report = PushReport(found, api.project_url(found), created=created)
        label_ids = ensure_labels(api, found, labels, report)
        if not created and not _same_text(found.get("guideline", ""), guideline):
            try:
                api.update_project(found, guideline=guideline)
                report.guideline_updated = True
            except errors.VndiploError:
                report.warnings.append(f"the guidelines differ from the project's but {creds.username!r} may not change them")
        total = len(ids) + sum(1 for doc_id in ids if doc_id in suggestions)
        placed = _upload(api, found, corpus, ids, settle_copies(api, found, report), limit, report, lambda done: progress and progress(done, total))
        if report.uploaded:  # another computer may have uploaded the same documents meanwhile
            first, _ = _first_copies(settle_copies(api, found, report))
            placed = {doc_id: first.get(doc_id, example) for doc_id, example in placed.items()}
        _suggest(api, found, corpus, ids, placed, suggestions, label_ids, report, lambda done: progress and progress(len(ids) + done, total))
    return report


def _upload(
    api: Doccano, project: dict, corpus: dict[str, Document], ids: list[str], examples: list[dict], limit: int | None, report: PushReport, progress
) -> dict[str, dict]:
    """Upload the documents of `ids` the project lacks (at most `limit`), sorting each into the report.

    Returns the example that holds each document with the corpus text (uploaded or already there).
    """
    by_id, by_text = _first_copies(examples)
    placed = {}
    for done, doc_id in enumerate(ids, start=1):
        document = corpus[doc_id]
        example = by_id.get(doc_id)
        if example is None and document.text in by_text:
            example = by_text[document.text]
            meta_id = (example.get("meta") or {}).get(META_ID)
            report.warnings.append(f"{doc_id}: its text is already in the project as example {example['id']} (metadata id {meta_id!r}); not uploaded again")
        if example is None and limit is not None and len(report.uploaded) >= limit:
            report.deferred.append(doc_id)
        elif example is None:
            example = api.create_example(project["id"], document.text, {META_ID: doc_id})
            by_text[document.text] = placed[doc_id] = example
            report.uploaded.append(doc_id)
        elif example["text"] != document.text:
            report.changed.append(doc_id)
        else:
            placed[doc_id] = example
            report.present.append(doc_id)
        progress(done)
    return placed


def _suggest(
    api: Doccano, project: dict, corpus: dict[str, Document], ids: list[str], placed: dict[str, dict], suggestions: dict[str, AnnotatedDoc],
    label_ids: dict[str, int], report: PushReport, progress,
) -> None:
    """Suggested spans on each placed document where the logged-in user has none yet."""
    for done, doc_id in enumerate((doc_id for doc_id in ids if doc_id in suggestions), start=1):
        suggestion, example = suggestions[doc_id], placed.get(doc_id)
        if example is not None and suggestion.spans:  # not deferred, not changed in Doccano
            if api.spans(project["id"], example["id"]):
                report.suggestions_skipped.append(doc_id)
            else:
                text = corpus[doc_id].text
                for span in spans_to_doccano(text, sorted(suggestion.spans)):
                    api.create_span(project["id"], example["id"], label_ids[span.label], span.start, span.end)
                report.suggested[doc_id] = len(suggestion.spans)
        progress(done)
