"""Talking to Doccano: where it is, who logs in, and the API calls vndiplo needs.

doccano-client 1.1.1 (the last release that lives with spaCy 3.8) logs in and
does the plain calls; what it cannot do (examples with metadata, the export
task, example states, users) goes straight to Doccano's v1 REST API with the
client's authenticated session.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests

from .. import errors
from ..corpus import Document

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


def upload_bytes(doc_id: str, text: str) -> int:
    """Bytes of the request that uploads one document (requests sends JSON with \\u escapes)."""
    return len(json.dumps({"text": text, "meta": {META_ID: doc_id}}).encode("ascii"))


def too_large_for_doccano(documents: Iterable[Document]) -> list[tuple[str, int]]:
    """(id, upload bytes) of the documents Doccano would refuse to take."""
    sizes = ((doc.id, upload_bytes(doc.id, doc.text)) for doc in documents)
    return [(doc_id, size) for doc_id, size in sizes if size > MAX_REQUEST_BYTES]


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
