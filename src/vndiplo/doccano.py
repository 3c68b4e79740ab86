"""The Doccano round trip: push the corpus to a Doccano project, pull each annotator's spans back.

Push creates (or reuses) a sequence-labelling project with the eight labels
of the spec, their colours and shortcut keys, and the guidelines, then
uploads the corpus documents with their id in the metadata (`doc_id`),
never twice. Pre-annotations (model or gazetteer output) become spans of the
account that pushes them: Doccano keeps each annotator's spans apart, so
every annotator sees only the suggestions pushed with their own login.

Pull exports the project through Doccano's export API (one JSONL file per
member), keeps the documents each annotator checked, converts offsets, holds
back spans with whitespace at an edge for review, checks the spans against
the spec and the texts against the corpus, and returns one document list per
annotator; :func:`write_pull` writes them and the review list atomically.

Offsets: Doccano's browser UI counts JavaScript string positions, i.e. UTF-16
code units, so an emoji or another astral character counts twice. Everything
in vndiplo is Python `str` indices; the conversion happens here and only here.

doccano-client 1.1.1 (the last release that lives with spaCy 3.8) logs in and
does the plain calls; what it cannot do (examples with metadata, the export
task, example states, users) goes straight to Doccano's v1 REST API with the
client's authenticated session. Everything here is silent and raises
:class:`VndiploError`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests

from . import errors
from .annotations import (
    ERROR,
    WARNING,
    AnnotatedDoc,
    Finding,
    Span,
    check_document,
    corpus_mismatch,
    parse_record,
    read_annotations,
    require_valid,
    write_annotations,
)
from .corpus import Document, atomic_write_text
from .errors import VndiploError
from .labels import Label, LabelSet, load_labels
from .paths import GUIDELINES, project_dir

DEFAULT_URL = "http://127.0.0.1:8000"
ENV_URL, ENV_USERNAME, ENV_PASSWORD = "DOCCANO_URL", "DOCCANO_USERNAME", "DOCCANO_PASSWORD"
PROJECT_TYPE = "SequenceLabeling"
RESOURCE_TYPE = "SequenceLabelingProject"
META_ID = "doc_id"  # the corpus id in each example's metadata (Doccano's own `id` is its row number)
EXPORT_FORMAT = "JSONL"
EXPORT_TIMEOUT = 300.0
ANNOTATOR_ROLE = "annotator"
_PAGE = 500
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which Doccano 1.8.4 keeps at its default of 2.5 MiB: a
# larger request body is refused with an HTML "Bad Request (400)" page (measured: 2,600,037
# bytes accepted, 2,630,037 refused).
MAX_REQUEST_BYTES = 2_621_440
# A push that meets two projects of its name looks again this many times, this many seconds
# apart, before refusing: the newer one may be another push's, about to be deleted.
_SETTLE_ATTEMPTS, _SETTLE_PAUSE = 3, 1.0


# --- credentials ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """Where Doccano is and who logs in; the password never shows in a repr."""

    url: str
    username: str
    password: str = field(repr=False)


def credentials(url: str | None = None, username: str | None = None, password: str | None = None, *, environ=None) -> Credentials:
    """Options first, then DOCCANO_URL / DOCCANO_USERNAME / DOCCANO_PASSWORD; the URL defaults to the local server."""
    environ = os.environ if environ is None else environ
    url = url or environ.get(ENV_URL) or DEFAULT_URL
    username = username or environ.get(ENV_USERNAME)
    password = password or environ.get(ENV_PASSWORD)
    missing = [name for name, value in ((f"user name ({ENV_USERNAME})", username), (f"password ({ENV_PASSWORD})", password)) if not value]
    if missing:
        raise errors.doccano_missing_credentials(missing)
    return Credentials(url.rstrip("/"), username, password)


# --- offsets: Doccano's UTF-16 code units <-> Python indices ----------------------------


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


# --- labels and guidelines ---------------------------------------------------------------


def _text_colour(background: str) -> str:
    red, green, blue = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "#ffffff"


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


# --- what Doccano accepts -------------------------------------------------------------------


def upload_bytes(doc_id: str, text: str) -> int:
    """Bytes of the request that uploads one document (requests sends JSON with \\u escapes)."""
    return len(json.dumps({"text": text, "meta": {META_ID: doc_id}}).encode("ascii"))


def too_large_for_doccano(documents: Iterable[Document]) -> list[tuple[str, int]]:
    """(id, upload bytes) of the documents Doccano would refuse to take."""
    sizes = ((doc.id, upload_bytes(doc.id, doc.text)) for doc in documents)
    return [(doc_id, size) for doc_id, size in sizes if size > MAX_REQUEST_BYTES]


# --- the client ----------------------------------------------------------------------------


class Doccano:
    """A logged-in Doccano session (doccano-client 1.1.1 plus v1 REST calls on the same session)."""

    def __init__(self, creds: Credentials, *, timeout: float = 60.0) -> None:
        from doccano_client import DoccanoClient

        self.creds = creds
        self.timeout = timeout
        try:
            self.client = DoccanoClient(creds.url, creds.username, creds.password)
        except ValueError:  # requests' JSONDecodeError too: something answers, but not Doccano's API
            raise errors.doccano_not_doccano(creds.url, "its login page v1/auth/login/ did not answer JSON") from None
        except requests.RequestException as exc:
            raise errors.doccano_unreachable(creds.url, _reason(exc)) from None
        if not self.client.session.cookies.get("sessionid"):
            raise errors.doccano_login_failed(creds.url, creds.username)
        self.me = self._request("GET", "v1/me", "read the logged-in user")

    # low level ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return urljoin(self.client.baseurl, path)

    def _request(self, method: str, path: str, what: str, *, ok: tuple[int, ...] = (200, 201, 204), **kwargs):
        try:
            response = self.client.session.request(method, self.url(path), timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise errors.doccano_unreachable(self.creds.url, _reason(exc)) from None
        if response.status_code in (401, 403):
            raise errors.doccano_forbidden(self.creds.username, what)
        if response.status_code not in ok:
            raise errors.doccano_request_failed(what, response.status_code, response.text)
        if response.status_code == 204 or not response.content:
            return None
        if "json" not in response.headers.get("Content-Type", ""):
            return response.content
        return response.json()

    def _call(self, what: str, method: Callable, *args, **kwargs):
        """A doccano-client call, whose answer is parsed JSON without the status: DRF errors are `{"detail": ...}`."""
        try:
            result = method(*args, **kwargs)
        except ValueError:  # requests' JSONDecodeError is also a RequestException
            raise errors.doccano_request_failed(what, "?", "the answer was not JSON") from None
        except requests.RequestException as exc:
            raise errors.doccano_unreachable(self.creds.url, _reason(exc)) from None
        if isinstance(result, dict) and set(result) == {"detail"}:
            detail = str(result["detail"])
            if "permission" in detail.lower() or "credentials" in detail.lower():
                raise errors.doccano_forbidden(self.creds.username, what)
            raise errors.doccano_request_failed(what, "error", detail)
        return result

    def _pages(self, what: str, method: Callable, *args) -> list[dict]:
        results, offset = [], 0
        while True:
            page = self._call(what, method, *args, {"limit": [_PAGE], "offset": [offset]})
            if not isinstance(page, dict) or "results" not in page:
                raise errors.doccano_request_failed(what, "?", f"unexpected answer {str(page)[:200]}")
            results += page["results"]
            if not page.get("next"):
                return results
            offset += _PAGE

    # projects ------------------------------------------------------------------------------

    def projects(self) -> list[dict]:
        return self._pages("list projects", self.client.get_project_list)

    def projects_named(self, name: str) -> list[dict]:
        return sorted((p for p in self.projects() if p.get("name") == name), key=lambda p: p["id"])

    def find_project(self, name: str) -> dict | None:
        matches = self.projects_named(name)
        if len(matches) > 1:
            raise errors.doccano_project_ambiguous(name, [p["id"] for p in matches])
        return matches[0] if matches else None

    def project(self, name: str) -> dict:
        found = self.find_project(name)
        if found is None:
            raise errors.doccano_project_not_found(name, self.creds.url, [p["name"] for p in self.projects()])
        return found

    def create_project(self, name: str, *, guideline: str, description: str) -> dict:
        if not self.me.get("is_staff"):  # only server admins create projects, and a non-admin sees only its own
            raise errors.doccano_not_a_member(self.creds.username, name)
        created = self._call(
            f"create project {name!r}", self.client.create_project, name, description=description,
            project_type=PROJECT_TYPE, guideline=guideline, resourcetype=RESOURCE_TYPE, collaborative_annotation=False,
        )
        if not isinstance(created, dict) or "id" not in created:
            raise errors.doccano_request_failed(f"create project {name!r}", "?", json.dumps(created, ensure_ascii=False))
        return created

    def update_project(self, project: dict, **fields) -> dict:
        payload = {"resourcetype": project.get("resourcetype", RESOURCE_TYPE), **fields}
        return self._request("PATCH", f"v1/projects/{project['id']}", f"update project {project['name']!r}", json=payload)

    def delete_project(self, project: dict) -> None:
        self._request("DELETE", f"v1/projects/{project['id']}", f"delete project {project['name']!r}", ok=(200, 204, 404))

    def project_url(self, project: dict) -> str:
        return self.url(f"projects/{project['id']}")

    # labels --------------------------------------------------------------------------------

    def span_types(self, project_id: int) -> list[dict]:
        return self._call("list the project's labels", self.client.get_span_type_list, project_id)

    def create_span_type(self, project_id: int, payload: dict) -> dict:
        created = self._call(f"create label {payload['text']}", self.client.create_span_type, project_id, **payload)
        if not isinstance(created, dict) or "id" not in created:
            raise errors.doccano_request_failed(f"create label {payload['text']}", "?", str(created))
        return created

    def update_span_type(self, project_id: int, span_type_id: int, payload: dict) -> dict:
        updated = self._call(f"update label {payload['text']}", self.client.update_span_type, project_id, span_type_id, **payload)
        if not isinstance(updated, dict) or "id" not in updated:
            raise errors.doccano_request_failed(f"update label {payload['text']}", "?", str(updated))
        return updated

    # examples and spans ------------------------------------------------------------------

    def examples(self, project_id: int) -> list[dict]:
        return self._pages("list the project's documents", self.client.get_examples, project_id)

    def create_example(self, project_id: int, text: str, meta: dict) -> dict:
        return self._request("POST", f"v1/projects/{project_id}/examples", "upload documents", json={"text": text, "meta": meta})

    def delete_example(self, project_id: int, example_id: int) -> None:
        """Delete one document (404: another push deleted it first)."""
        self._request("DELETE", f"v1/projects/{project_id}/examples/{example_id}", "delete documents", ok=(200, 204, 404))

    def spans(self, project_id: int, example_id: int) -> list[dict]:
        """This user's spans on one example (other annotators' spans are theirs alone)."""
        return self._call("read spans", self.client.get_spans, project_id, example_id)

    def create_span(self, project_id: int, example_id: int, label_id: int, start: int, end: int) -> dict:
        """A span in Doccano's own offsets (UTF-16 code units), owned by the logged-in user."""
        return self._request(
            "POST", f"v1/projects/{project_id}/examples/{example_id}/spans", "create spans",
            json={"label": label_id, "start_offset": start, "end_offset": end},
        )

    def delete_span(self, project_id: int, example_id: int, span_id: int) -> None:
        self._request("DELETE", f"v1/projects/{project_id}/examples/{example_id}/spans/{span_id}", "delete spans")

    def confirm(self, project_id: int, example_id: int) -> None:
        """Mark the example done for this user (Doccano's check button; it toggles)."""
        self._request("POST", f"v1/projects/{project_id}/examples/{example_id}/states", "mark documents done", json={})

    # users and members -----------------------------------------------------------------

    def create_user(self, username: str, password: str) -> dict:
        """A new Doccano account (server admins only)."""
        return self._request(
            "POST", "v1/users/create", f"create user {username!r}",
            json={"username": username, "password1": password, "password2": password},
        )

    def members(self, project_id: int) -> list[dict]:
        return self._request("GET", f"v1/projects/{project_id}/members", "list project members")

    def add_member(self, project_id: int, username: str, role: str = ANNOTATOR_ROLE) -> dict:
        result = self._call(f"add {username!r} to the project", self.client.post_members, project_id, [username], [role])
        if not result or not isinstance(result[0], dict) or "id" not in result[0]:
            raise errors.doccano_request_failed(f"add {username!r} to the project", "?", str(result))
        return result[0]

    # export --------------------------------------------------------------------------------

    def export(self, project: dict, *, confirmed_only: bool = False, timeout: float = EXPORT_TIMEOUT, poll: float = 0.3) -> bytes:
        """The project's JSONL export as Doccano's zip: POST download, poll the task, GET the file."""
        pid, name = project["id"], project["name"]
        started = self._request(
            "POST", f"v1/projects/{pid}/download", f"export project {name!r}",
            json={"format": EXPORT_FORMAT, "exportApproved": confirmed_only},
        )
        task = (started or {}).get("task_id")
        if not task:
            raise errors.doccano_export_failed(name, f"no task id in the answer {started!r}")
        deadline = time.monotonic() + timeout
        while True:
            status = self._request("GET", f"v1/tasks/status/{task}", "read the export task")
            if status.get("ready"):
                break
            if time.monotonic() > deadline:
                raise errors.doccano_export_failed(name, f"the export task {task} was not done after {timeout:.0f} s")
            time.sleep(poll)
        if status.get("error"):
            raise errors.doccano_export_failed(name, str(status["error"].get("text", status["error"])))
        archive = self._request("GET", f"v1/projects/{pid}/download", f"download the export of {name!r}", params={"taskId": task})
        if not isinstance(archive, bytes):
            raise errors.doccano_export_failed(name, f"expected a zip file, got {str(archive)[:200]}")
        return archive


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return text[:300]


# --- push ----------------------------------------------------------------------------------


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


def check_project_settings(project: dict) -> None:
    """Refuse a project whose settings would mix annotators or change what an offset means."""
    name = project.get("name", "?")
    if project.get("project_type") != PROJECT_TYPE:
        raise errors.doccano_wrong_project(
            name, f"it is a {project.get('project_type')} project, not sequence labelling", "Pick another --project name; vndiplo creates a sequence-labelling project for it."
        )
    settings = [
        ("collaborative_annotation", "“Share annotations across all users” is on, so annotators' spans are mixed"),
        ("grapheme_mode", "“Count grapheme clusters as one character” is on, so offsets are not character offsets"),
        ("allow_overlapping", "“Allow overlapping spans” is on, but the spec's spans never overlap"),
        ("use_relation", "relation labelling is on"),
    ]
    for key, problem in settings:
        if project.get(key):
            raise errors.doccano_wrong_project(name, problem, "Turn it off in the project's Settings in Doccano (or push to a new project) and run the command again.")


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
            except VndiploError:  # a push at the same time created it first (Doccano keeps label names unique)
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
    import fcntl
    import hashlib
    import tempfile

    key = hashlib.sha256(f"{url}\n{project}".encode()).hexdigest()[:16]
    descriptor = os.open(Path(tempfile.gettempdir()) / f"vndiplo-push-{key}.lock", os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


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
    except VndiploError as error:  # an annotator's account may not export; or the task worker is down
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
            except VndiploError:
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


# --- pull ----------------------------------------------------------------------------------


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


def read_export(archive: bytes, origin: str = "Doccano export") -> dict[str, list[dict]]:
    """The records of each JSONL file in Doccano's export zip, by file stem (the member's user name)."""
    try:
        bundle = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        raise errors.VndiploError(f"{origin} is not a zip file", "", "Export the project again.") from None
    files = {}
    for name in sorted(bundle.namelist()):
        if not name.endswith(".jsonl"):
            continue
        records = []
        for number, line in enumerate(bundle.read(name).decode("utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise errors.bad_jsonl(f"{origin}/{name}", number, exc.msg) from None
        files[Path(name).stem] = records
    return files


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


def span_context(text: str, span: Span, width: int = 40) -> str:
    """`…before[surface]after…` on one line, to show a reviewer what a span covers."""
    before = text[max(0, span.start - width) : span.start]
    after = text[span.end : span.end + width]
    shown = f"{'…' if span.start > width else ''}{before}[{text[span.start : span.end]}]{after}{'…' if span.end + width < len(text) else ''}"
    return " ".join(shown.split())


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
            result.trimmed += [TrimmedSpan(username, doc.id, before, after, span_context(doc.text, before)) for before, after in changes]
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
