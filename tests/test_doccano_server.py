"""Integration tests against a real Doccano 1.8.4 server on a free loopback port.

The server is the `doccano_server` fixture of conftest.py, shared with the
browser tests: the same library code as `vndiplo doccano serve`, a fresh data
folder in a temporary directory.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vndiplo.annotations import AnnotatedDoc, Span, read_annotations
from vndiplo.cli import app
from vndiplo.corpus import make_document, read_corpus, write_corpus
from vndiplo.doccano.client import Credentials, Doccano
from vndiplo.doccano.install import ensure_installed
from vndiplo.doccano.local import STOP_TIMEOUT, alive, free_port
from vndiplo.doccano.offsets import from_utf16, to_utf16
from vndiplo.doccano.push import push, span_type_payload
from vndiplo.doccano.server import health, read_state
from vndiplo.labels import load_labels

from conftest import ADMIN_PASSWORD, flat

pytestmark = pytest.mark.doccano

ROOT = Path(__file__).resolve().parents[1]
USER_PASSWORD = "Annotator-pass-2"
PROJECT = "seeds-round-trip"
EXTRA_DOCS = {
    # astral characters before the entities: Doccano's browser offsets are UTF-16 code units
    "emoji-001": "😀 Ngoại trưởng Nga Sergei Lavrov 👍🏻 gặp Antony Blinken tại Geneva ngày 21/1.",
    "empty-001": "Hôm nay trời đẹp.",
}
runner = CliRunner()


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    """The five seed articles plus one document with emoji and one without entities."""
    documents = list(read_corpus(ROOT / "corpus" / "docs.jsonl").values())
    documents += [make_document(doc_id, text, source="test", path=doc_id)[0] for doc_id, text in EXTRA_DOCS.items()]
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    write_corpus(documents, path)
    return path


def _spans_by_surface(text: str, entities: list[tuple[str, str]]) -> list[Span]:
    spans, cursor = [], 0
    for surface, label in entities:
        start = text.index(surface, cursor)
        spans.append(Span(start, start + len(surface), label))
        cursor = start + len(surface)
    return spans


@pytest.fixture(scope="session")
def gold(corpus_file) -> dict[str, AnnotatedDoc]:
    """What alice labels: the committed seed gold, plus the two extra documents."""
    docs = {doc.id: doc for doc in read_annotations(ROOT / "annotations" / "gold" / "seeds.jsonl")}
    text = EXTRA_DOCS["emoji-001"]
    docs["emoji-001"] = AnnotatedDoc("emoji-001", text, _spans_by_surface(text, [
        ("Ngoại trưởng", "TITLE"), ("Nga", "GPE"), ("Sergei Lavrov", "PER"), ("Antony Blinken", "PER"), ("Geneva", "GPE"), ("ngày 21/1", "DATE"),
    ]))
    docs["empty-001"] = AnnotatedDoc("empty-001", EXTRA_DOCS["empty-001"], [])
    corpus = read_corpus(corpus_file)
    assert all(doc.text == corpus[doc.id].text for doc in docs.values())
    return docs


def _env(creds: Credentials) -> dict[str, str]:
    return {"DOCCANO_URL": creds.url, "DOCCANO_USERNAME": creds.username, "DOCCANO_PASSWORD": creds.password}


def _invoke(args: list[str], creds: Credentials):
    return runner.invoke(app, ["doccano", *args], env=_env(creds))


@pytest.fixture(scope="session")
def pushed(doccano_server, corpus_file):
    """The corpus pushed once through the CLI; yields the admin's session and the project."""
    result = _invoke(["push", str(corpus_file), "--project", PROJECT], doccano_server)
    assert result.exit_code == 0, result.output
    api = Doccano(doccano_server)
    return api, api.project(PROJECT)


def test_push_creates_a_separate_annotation_project_with_the_spec_labels(pushed, corpus_file):
    api, project = pushed
    assert project["project_type"] == "SequenceLabeling"
    assert project["collaborative_annotation"] is False and project["grapheme_mode"] is False
    assert "Annotation guidelines" in project["guideline"]
    labels = load_labels()
    types = {t["text"]: t for t in api.span_types(project["id"])}
    assert list(types) == labels.names
    for label in labels.labels:
        wanted = span_type_payload(label)
        assert (types[label.name]["background_color"], types[label.name]["suffix_key"]) == (wanted["background_color"], wanted["suffix_key"])
    examples = api.examples(project["id"])
    corpus = read_corpus(corpus_file)
    assert [ex["meta"]["doc_id"] for ex in examples] == list(corpus)  # upload order = corpus order
    assert all(ex["text"] == corpus[ex["meta"]["doc_id"]].text for ex in examples)


def test_pushing_again_uploads_nothing_and_creates_no_duplicate(pushed, corpus_file, doccano_server):
    api, project = pushed
    before = len(api.examples(project["id"]))
    result = _invoke(["push", str(corpus_file), "--project", PROJECT], doccano_server)
    assert result.exit_code == 0, result.output
    assert f"uploaded 0 documents; {before} were already there" in flat(result.output)
    assert len(api.examples(project["id"])) == before


def test_push_uploads_the_documents_of_the_order_in_that_order(doccano_server, corpus_file):
    corpus = read_corpus(corpus_file)
    order = [*list(corpus)[::-2]]
    report = push(doccano_server, corpus, "ordered", order=order, guideline="Ordered.")
    assert report.uploaded == order
    api = Doccano(doccano_server)
    assert [ex["meta"]["doc_id"] for ex in api.examples(report.project["id"])] == order
    again = push(doccano_server, corpus, "ordered", guideline="Ordered.")
    assert again.uploaded == [doc_id for doc_id in corpus if doc_id not in order] and sorted(again.present) == sorted(order)


def test_push_uncertain_uploads_the_committee_order_one_batch_at_a_time(doccano_server, corpus_file, tiny_committee):
    from vndiplo.active_learning import uncertainty_order

    documents = [AnnotatedDoc(doc_id, doc.text, []) for doc_id, doc in read_corpus(corpus_file).items()]
    expected, _ = uncertainty_order(documents, tiny_committee)
    members = [arg for path in tiny_committee for arg in ("--committee", str(path))]
    command = ["push", str(corpus_file), "--project", "uncertain-first", "--order", "uncertain", *members, "--limit", "3"]
    first = _invoke(command, doccano_server)
    assert first.exit_code == 0, first.output
    assert "Committee of 2 models" in first.output and "left for the next batch" in first.output
    second = _invoke(command, doccano_server)
    assert second.exit_code == 0, second.output
    api = Doccano(doccano_server)
    examples = api.examples(api.project("uncertain-first")["id"])
    assert [ex["meta"]["doc_id"] for ex in examples] == expected[:6]


def test_push_random_order_is_seeded(doccano_server, corpus_file):
    from vndiplo.active_learning import random_order

    result = _invoke(["push", str(corpus_file), "--project", "random-order", "--order", "random", "--seed", "5"], doccano_server)
    assert result.exit_code == 0, result.output
    api = Doccano(doccano_server)
    examples = api.examples(api.project("random-order")["id"])
    assert [ex["meta"]["doc_id"] for ex in examples] == random_order(list(read_corpus(corpus_file)), 5)


def test_push_uncertain_without_committee_models_says_how_to_get_them(doccano_server, corpus_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke(["push", str(corpus_file), "--project", "no-committee", "--order", "uncertain"], doccano_server)
    assert result.exit_code == 1
    assert "vndiplo crossval" in flat(result.output)


# --- pushes at the same time, and the duplicates they used to leave ------------------------


def _push_process(corpus_file: Path, project: str, creds: Credentials, tmpdir: Path) -> subprocess.Popen:
    """A real `vndiplo doccano push` in its own process; TMPDIR is where its machine keeps the push lock."""
    tmpdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **_env(creds), TMPDIR=str(tmpdir))
    command = [sys.executable, "-c", "from vndiplo.cli import main; main()", "doccano", "push", str(corpus_file), "--project", project]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("machines", [1, 3])
def test_pushes_at_the_same_time_leave_one_project_holding_each_document_once(doccano_server, corpus_file, tmp_path, machines):
    """Three pushes start at once against a project that does not exist yet: on one machine (they share
    the push lock) and on three (separate lock folders, as on three computers, so only the server-side
    checks hold). Every push succeeds, and Doccano ends with one project and one copy of each document."""
    project = f"concurrent-{machines}"
    processes = [_push_process(corpus_file, project, doccano_server, tmp_path / f"machine-{i % machines}") for i in range(3)]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], "\n".join(outputs)
    api = Doccano(doccano_server)
    named = [p for p in api.projects() if p["name"] == project]
    assert len(named) == 1, named
    doc_ids = [ex["meta"]["doc_id"] for ex in api.examples(named[0]["id"])]
    assert sorted(doc_ids) == sorted(read_corpus(corpus_file)), doc_ids


def test_push_deletes_an_untouched_second_copy_and_reports_a_labelled_one(doccano_server, corpus_file):
    corpus = read_corpus(corpus_file)
    push(doccano_server, corpus, "with-copies", guideline="Copies.")
    api = Doccano(doccano_server)
    project = api.project("with-copies")
    first, second = list(corpus)[:2]
    # what a push on another computer at the same moment left behind: second copies with the same doc_id
    untouched = api.create_example(project["id"], corpus[first].text, {"doc_id": first})
    labelled = api.create_example(project["id"], corpus[second].text, {"doc_id": second})
    label_ids = {t["text"]: t["id"] for t in api.span_types(project["id"])}
    api.create_span(project["id"], labelled["id"], label_ids["GPE"], 0, 3)
    result = _invoke(["push", str(corpus_file), "--project", "with-copies"], doccano_server)
    assert result.exit_code == 0, result.output
    assert f"{first}: deleted a second copy (example {untouched['id']})" in flat(result.output)
    assert f"{second}: example {labelled['id']} is a second copy" in flat(result.output) and "has labels" in flat(result.output)
    left = [ex["id"] for ex in api.examples(project["id"])]
    assert untouched["id"] not in left and labelled["id"] in left
    assert len(left) == len(corpus) + 1


def test_an_annotators_push_reports_a_second_copy_it_may_not_check_and_keeps_it(doccano_server, corpus_file):
    assert _invoke(["push", str(corpus_file), "--project", "copies-annotator"], doccano_server).exit_code == 0
    admin = Doccano(doccano_server)
    project = admin.project("copies-annotator")
    _annotator(admin, project, "carol")
    doc_id = next(iter(read_corpus(corpus_file)))
    copy = admin.create_example(project["id"], read_corpus(corpus_file)[doc_id].text, {"doc_id": doc_id})
    result = _invoke(["push", str(corpus_file), "--project", "copies-annotator"], Credentials(doccano_server.url, "carol", USER_PASSWORD))
    assert result.exit_code == 0, result.output
    assert f"{doc_id}: example {copy['id']} is a second copy" in flat(result.output) and "a project admin's push settles it" in flat(result.output)
    assert copy["id"] in [ex["id"] for ex in admin.examples(project["id"])]


def test_push_refuses_two_existing_projects_of_one_name_and_names_the_oldest(doccano_server, corpus_file):
    api = Doccano(doccano_server)
    older = api.create_project("twice", guideline="g", description="d")
    newer = api.create_project("twice", guideline="g", description="d")
    result = _invoke(["push", str(corpus_file), "--project", "twice"], doccano_server)
    assert result.exit_code == 1
    assert "Several Doccano projects are named 'twice'" in flat(result.output)
    assert f"{older['id']} (the oldest), {newer['id']}" in flat(result.output)
    assert all(not api.examples(p["id"]) for p in (older, newer))


def _annotator(admin: Doccano, project: dict, username: str) -> Doccano:
    users = {u["username"] for u in admin._request("GET", "v1/users", "list users")}
    if username not in users:
        admin.create_user(username, USER_PASSWORD)
    if username not in {m["username"] for m in admin.members(project["id"])}:
        admin.add_member(project["id"], username)
    return Doccano(Credentials(admin.creds.url, username, USER_PASSWORD))


def _label_in_browser(api: Doccano, project: dict, example: dict, spans: list[Span], label_ids: dict[str, int]) -> None:
    """What the browser does: POST each span with UTF-16 offsets."""
    text = example["text"]
    for span in spans:
        api.create_span(project["id"], example["id"], label_ids[span.label], to_utf16(text, span.start), to_utf16(text, span.end))


@pytest.fixture(scope="session")
def annotated(pushed, gold, corpus_file, doccano_server, tmp_path_factory):
    """alice labels by hand; bob starts from pushed suggestions and corrects them. Returns what each should pull."""
    admin, project = pushed
    examples = {ex["meta"]["doc_id"]: ex for ex in admin.examples(project["id"])}
    label_ids = {t["text"]: t["id"] for t in admin.span_types(project["id"])}

    alice = _annotator(admin, project, "alice")
    expected_alice = {}
    for number, (doc_id, doc) in enumerate(sorted(gold.items())):
        _label_in_browser(alice, project, examples[doc_id], doc.spans, label_ids)
        if number % 2 == 0 or not doc.spans or doc_id == "emoji-001":  # some checked, some only labelled: only the checked ones are pulled
            alice.confirm(project["id"], examples[doc_id]["id"])
            expected_alice[doc_id] = doc

    bob = _annotator(admin, project, "bob")
    suggested = {doc_id: gold[doc_id] for doc_id in ("000_4dc40ae9bd847015", "001_25a704f052fb97f8", "emoji-001")}
    suggestions = tmp_path_factory.mktemp("pre") / "suggestions.jsonl"
    suggestions.write_text("".join(json.dumps(doc.to_record(), ensure_ascii=False) + "\n" for doc in suggested.values()), encoding="utf-8")
    bob_creds = Credentials(doccano_server.url, "bob", USER_PASSWORD)
    result = _invoke(["push", str(corpus_file), "--project", PROJECT, "--pre-annotations", str(suggestions)], bob_creds)
    assert result.exit_code == 0, result.output
    assert f"suggestions: {sum(len(d.spans) for d in suggested.values())} spans on 3 documents, as 'bob'" in flat(result.output)
    # bob corrects the emoji document: deletes the DATE suggestion, relabels Geneva as LOC
    emoji = examples["emoji-001"]
    text = emoji["text"]
    for span in bob.spans(project["id"], emoji["id"]):
        if text[from_utf16(text, span["start_offset"]) : from_utf16(text, span["end_offset"])] in ("ngày 21/1", "Geneva"):
            bob.delete_span(project["id"], emoji["id"], span["id"])
    geneva = text.index("Geneva")
    _label_in_browser(bob, project, emoji, [Span(geneva, geneva + 6, "LOC")], label_ids)
    bob.confirm(project["id"], emoji["id"])  # the other two suggested documents stay unchecked: never pulled
    corrected = [s for s in gold["emoji-001"].spans if s.label != "DATE" and text[s.start : s.end] != "Geneva"] + [Span(geneva, geneva + 6, "LOC")]
    expected_bob = {"emoji-001": AnnotatedDoc("emoji-001", text, sorted(corrected))}
    return {"alice": expected_alice, "bob": expected_bob, "bob_creds": bob_creds, "suggestions": suggestions}


def test_two_annotators_round_trip_losslessly_one_file_each(annotated, doccano_server, corpus_file, tmp_path):
    out = tmp_path / "raw"
    result = _invoke(["pull", "--project", PROJECT, "--out", str(out), "--corpus", str(corpus_file)], doccano_server)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["alice.jsonl", "bob.jsonl"]  # the admin labelled nothing
    assert "nothing checked yet by: admin" in flat(result.output)
    assert "bob: 1 documents (1 checked)" in flat(result.output)
    assert "2 documents with spans but not checked left out (unreviewed suggestions" in flat(result.output)
    for username in ("alice", "bob"):
        pulled = {doc.id: doc for doc in read_annotations(out / f"{username}.jsonl")}
        expected = annotated[username]
        assert sorted(pulled) == sorted(expected)
        for doc_id, doc in expected.items():
            assert pulled[doc_id].text == doc.text
            assert sorted(pulled[doc_id].spans) == sorted(doc.spans), (username, doc_id)
    emoji = {doc.id: doc for doc in read_annotations(out / "alice.jsonl")}["emoji-001"]
    assert [emoji.text[s.start : s.end] for s in emoji.spans][:3] == ["Ngoại trưởng", "Nga", "Sergei Lavrov"]


def test_suggestions_are_never_pushed_twice(annotated, corpus_file, doccano_server):
    result = _invoke(["push", str(corpus_file), "--project", PROJECT, "--pre-annotations", str(annotated["suggestions"])], annotated["bob_creds"])
    assert result.exit_code == 0, result.output
    assert "suggestions: 0 spans on 0 documents" in flat(result.output) and "already has spans: 3 documents" in flat(result.output)


def test_suggestions_from_a_user_outside_the_project_say_an_annotator_membership_is_enough(annotated, corpus_file, doccano_server):
    admin = Doccano(doccano_server)
    admin.create_user("erin", USER_PASSWORD)
    erin = Credentials(doccano_server.url, "erin", USER_PASSWORD)
    result = _invoke(["push", str(corpus_file), "--project", PROJECT, "--pre-annotations", str(annotated["suggestions"])], erin)
    assert result.exit_code == 1, result.output
    assert "'erin' is not a member of a project named" in flat(result.output) and "role Annotator" in flat(result.output)
    assert "project admin" not in flat(result.output) and "Traceback" not in flat(result.output)


def test_a_wrong_password_is_one_clear_error(pushed, doccano_server, tmp_path):
    creds = Credentials(doccano_server.url, "admin", "not-the-password")
    result = _invoke(["pull", "--project", PROJECT, "--out", str(tmp_path / "raw")], creds)
    assert result.exit_code == 1
    assert "Doccano refused the login of 'admin'" in flat(result.output) and "Traceback" not in flat(result.output)
    assert not (tmp_path / "raw").exists()


def test_a_server_that_is_down_is_one_clear_error(corpus_file, tmp_path):
    creds = Credentials(f"http://127.0.0.1:{free_port()}", "admin", "any-password")
    result = _invoke(["push", str(corpus_file), "--project", PROJECT], creds)
    assert result.exit_code == 1
    assert "No Doccano server answers at" in flat(result.output) and "Traceback" not in flat(result.output)


def test_a_missing_project_is_one_clear_error(pushed, doccano_server, corpus_file, tmp_path):
    result = _invoke(["pull", "--project", "no-such-project", "--out", str(tmp_path / "raw"), "--corpus", str(corpus_file)], doccano_server)
    assert result.exit_code == 1
    assert "No Doccano project named 'no-such-project'" in flat(result.output) and PROJECT in flat(result.output)
    assert not (tmp_path / "raw").exists()


def test_a_label_the_spec_does_not_know_stops_push_and_pull(doccano_server, corpus_file, tmp_path):
    assert _invoke(["push", str(corpus_file), "--project", "with-misc"], doccano_server).exit_code == 0
    api = Doccano(doccano_server)
    project = api.project("with-misc")
    api.create_span_type(project["id"], {"text": "MISC", "background_color": "#808080", "text_color": "#ffffff"})
    for args in (["push", str(corpus_file), "--project", "with-misc"], ["pull", "--project", "with-misc", "--out", str(tmp_path / "raw"), "--corpus", str(corpus_file)]):
        result = _invoke(args, doccano_server)
        assert result.exit_code == 1, result.output
        assert "has labels the spec does not know: MISC" in flat(result.output)
    assert not (tmp_path / "raw").exists()


# --- the server's settings: its own secret key, loopback host names, private files ----------


def test_the_server_answers_loopback_host_names_only(doccano_server):
    import requests

    port = doccano_server.url.rsplit(":", 1)[1]
    for host, status in ((f"127.0.0.1:{port}", 200), (f"localhost:{port}", 200), ("attacker.example", 400), (f"192.168.1.5:{port}", 400)):
        answer = requests.get(doccano_server.url + "/v1/health/", headers={"Host": host, "Accept": "application/json"}, timeout=10)
        assert answer.status_code == status, host


def test_a_data_folder_gets_its_own_secret_key_and_keeps_everything_private(tmp_path):
    from vndiplo.doccano.server import doccano_env, initialise

    data_dir = tmp_path / "data"
    initialise(ensure_installed(), data_dir, username="admin", password=ADMIN_PASSWORD)
    key_file = data_dir / "secret_key"
    env = doccano_env(data_dir)
    assert env["SECRET_KEY"] == key_file.read_text(encoding="utf-8").strip() and len(env["SECRET_KEY"]) >= 50
    assert doccano_env(tmp_path / "other")["SECRET_KEY"] != env["SECRET_KEY"]
    assert env["SECRET_KEY"] not in (data_dir / "logs" / "init.log").read_text(encoding="utf-8")
    assert ADMIN_PASSWORD not in (data_dir / "logs" / "init.log").read_text(encoding="utf-8")
    modes = {str(path.relative_to(data_dir)): path.stat().st_mode & 0o777 for path in [data_dir, *data_dir.rglob("*")]}
    assert modes["."] == 0o700 and modes["secret_key"] == modes["db.sqlite3"] == modes["logs/init.log"] == 0o600
    assert all(mode == 0o600 for name, mode in modes.items() if name.startswith("logs/")), modes
    assert all(mode & 0o077 == 0 for name, mode in modes.items() if "/" not in name and (data_dir / name).is_dir()), modes


def test_serve_with_password_on_the_command_line_warns_about_the_shell_history(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # a server vndiplo started is "running" (this test's own process), so serve stops right after the warning
    (data_dir / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:1", "port": 1, "pids": {"web": os.getpid()}}), encoding="utf-8")
    result = runner.invoke(app, ["doccano", "serve", "--password", "typed-in-clear", "--data-dir", str(data_dir)], env={"DOCCANO_USERNAME": "admin"})
    assert result.exit_code == 1 and "already running" in flat(result.output)
    assert "--password is kept in your shell history" in flat(result.output) and "typed-in-clear" not in flat(result.output)


# --- the serve command itself: --detach + stop, and Ctrl-C in the foreground --------------


@pytest.fixture(scope="module")
def serve_data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("serve-data")


def test_serve_detached_answers_then_stop_ends_both_processes(doccano_server, serve_data_dir):
    port = free_port()
    env = {"DOCCANO_USERNAME": "admin", "DOCCANO_PASSWORD": doccano_server.password, "DOCCANO_URL": ""}
    result = runner.invoke(app, ["doccano", "serve", "--port", str(port), "--detach", "--workers", "1", "--data-dir", str(serve_data_dir)], env=env)
    assert result.exit_code == 0, result.output
    assert f"Doccano is running at http://127.0.0.1:{port}" in flat(result.output)
    state = read_state(serve_data_dir)
    assert state is not None and health(state.url) is not None
    Doccano(Credentials(state.url, "admin", doccano_server.password))  # the admin can log in
    result = runner.invoke(app, ["doccano", "stop", "--data-dir", str(serve_data_dir)])
    assert result.exit_code == 0 and "Stopped Doccano" in flat(result.output)
    assert health(state.url, timeout=2) is None and read_state(serve_data_dir) is None
    assert all(not alive(pid) for pid in state.pids.values())


def test_serve_in_the_foreground_stops_both_processes_on_ctrl_c(doccano_server, serve_data_dir):
    port = free_port()
    env = dict(os.environ, DOCCANO_USERNAME="admin", DOCCANO_PASSWORD=doccano_server.password)
    env.pop("DOCCANO_URL", None)
    command = [sys.executable, "-c", "from vndiplo.cli import main; main()",
               "doccano", "serve", "--port", str(port), "--workers", "1", "--data-dir", str(serve_data_dir)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        assert any(f"running at http://127.0.0.1:{port}" in line for line in lines), "".join(lines)
        state = read_state(serve_data_dir)
        assert state is not None
        process.send_signal(signal.SIGINT)
        # Each of the two process groups may take its whole grace period and the SIGKILL wait.
        output = process.communicate(timeout=2 * (STOP_TIMEOUT + 5) + 30)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Doccano stopped" in output
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in state.pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(not alive(pid) for pid in state.pids.values())
    assert read_state(serve_data_dir) is None and health(f"http://127.0.0.1:{port}", timeout=2) is None
