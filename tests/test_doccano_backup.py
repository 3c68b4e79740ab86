"""Backups for real: back up a PostgreSQL-backed Doccano, wipe it, restore into an empty one, pull the same."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from annotators import add_annotators, label_as, labelled, sentence_corpus
from vndiplo.cli import app
from vndiplo.doccano.backup import BACKUP_PREFIX, DUMP, MANIFEST, PG_DUMP, PROJECTS, backup_name, backups_in, dump_counts, wait_with_backups
from vndiplo.doccano.client import Credentials, Doccano, read_export
from vndiplo.doccano.local import free_port
from vndiplo.doccano.postgres import DatabaseChoice, remove_cluster
from vndiplo.doccano.pull import pull
from vndiplo.doccano.push import push
from vndiplo.doccano.server import serve

from conftest import ADMIN_PASSWORD, flat

pytestmark = pytest.mark.doccano
runner = CliRunner()
PROJECT = "to-back-up"


def _state(admin: Credentials, corpus: dict) -> dict:
    """Everything the round trip must keep: each annotator's checked documents and spans, unchecked work, done marks."""
    checked = pull(admin, PROJECT, corpus)
    everything = pull(admin, PROJECT, corpus, include_unchecked=True)
    project = Doccano(admin).project(PROJECT)
    done = read_export(Doccano(admin).export(project, confirmed_only=True))
    return {
        "checked": {u: {d.id: sorted(d.spans) for d in w.docs} for u, w in checked.annotators.items()},
        "all": {u: {d.id: sorted(d.spans) for d in w.docs} for u, w in everything.annotators.items()},
        "done": {u: sorted(r["doc_id"] for r in records) for u, records in done.items() if records},
        "texts": sorted((ex["meta"]["doc_id"], ex["text"]) for ex in Doccano(admin).examples(project["id"])),
    }


def test_backup_then_wipe_then_restore_gives_back_an_identical_pull(new_cluster_dir, tmp_path_factory):
    corpus = sentence_corpus(10)
    data_dir, cluster = tmp_path_factory.mktemp("doccano-before"), new_cluster_dir()
    out = tmp_path_factory.mktemp("backups")
    server = serve(username="admin", password=ADMIN_PASSWORD, port=free_port(), workers=2, data_dir=data_dir, database=DatabaseChoice(cluster=cluster))
    admin = Credentials(server.url, "admin", ADMIN_PASSWORD)
    env = {"DOCCANO_URL": server.url, "DOCCANO_USERNAME": "admin", "DOCCANO_PASSWORD": ADMIN_PASSWORD}
    try:
        push(admin, corpus, PROJECT)
        project = Doccano(admin).project(PROJECT)
        mai, lan = add_annotators(admin, project, ["mai", "lan"])
        docs = list(corpus.values())
        label_as(mai, project, [labelled(doc, 0) for doc in docs])
        label_as(lan, project, [labelled(doc, 1) for doc in docs[:6]])
        label_as(lan, project, [labelled(doc, 1) for doc in docs[6:]], done=False)
        label_as(admin, project, [labelled(doc, 2) for doc in docs[:2]])
        before = _state(admin, corpus)
        assert set(before["checked"]) == {"mai", "lan", "admin"} and len(before["done"]["lan"]) == 6

        result = runner.invoke(app, ["doccano", "backup", "--out", str(out), "--data-dir", str(data_dir)], env=env)
        assert result.exit_code == 0, result.output
        second = runner.invoke(app, ["doccano", "backup", "--out", str(out), "--data-dir", str(data_dir), "--keep", "1"], env=env)
        assert second.exit_code == 0, second.output
    finally:
        server.stop()
    kept = backups_in(out)
    assert len(kept) == 1 and "removed the older backup" in second.output  # --keep 1
    folder = kept[0]
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["database"] == "postgresql" and (folder / PG_DUMP).stat().st_size > 0
    assert manifest["counts"] == dump_counts(json.loads((folder / DUMP).read_text()))
    assert manifest["counts"]["labels.span"] == sum(len(s) for user in before["all"].values() for s in user.values())
    assert manifest["projects"][PROJECT]["lan"]["done"] == 6
    exported = folder / "projects" / str(manifest_project_id(folder)) / "export"
    assert sorted(p.stem for p in exported.glob("*.jsonl")) == ["admin", "lan", "mai"]

    # wipe: the data folder and the database cluster are gone
    remove_cluster(cluster)
    for path in sorted(data_dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() or path.is_symlink() else path.rmdir()
    new_cluster = new_cluster_dir()
    result = runner.invoke(app, ["doccano", "restore", str(folder), "--data-dir", str(data_dir), "--postgres-dir", str(new_cluster)])
    assert result.exit_code == 0, result.output

    server = serve(username="admin", password=ADMIN_PASSWORD, port=free_port(), workers=2, data_dir=data_dir)
    try:
        assert _state(Credentials(server.url, "admin", ADMIN_PASSWORD), corpus) == before
    finally:
        server.stop()

    again = runner.invoke(app, ["doccano", "restore", str(folder), "--data-dir", str(data_dir)])
    assert again.exit_code == 1 and "The target database is not empty" in again.output


def manifest_project_id(folder) -> int:
    return next(int(p.name) for p in (folder / "projects").iterdir() if json.loads((p / "project.json").read_text())["name"] == PROJECT)


def test_backup_names_sort_by_time_and_a_folder_without_manifest_is_no_backup(tmp_path):
    moments = [datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), datetime(2026, 11, 30, 0, 0, 0, tzinfo=timezone.utc)]
    for moment in reversed(moments):
        (tmp_path / backup_name(moment)).mkdir()
        (tmp_path / backup_name(moment) / MANIFEST).write_text("{}")
    (tmp_path / f"{BACKUP_PREFIX}20270101T000000Z").mkdir()  # no manifest: unfinished, not a backup
    (tmp_path / f".{BACKUP_PREFIX}20270101T000001Z.partial").mkdir()
    assert [p.name for p in backups_in(tmp_path)] == [backup_name(m) for m in moments]
    assert backup_name(moments[0]) == "doccano-backup-20260102T030405Z"


def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path):
    result = runner.invoke(app, ["doccano", "restore", str(tmp_path), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1 and "is not a complete vndiplo backup" in flat(result.output)


class _ServerExitingAfter:
    """Stands in for a running server whose web server exits after `polls` looks (no Doccano needed for the schedule)."""

    def __init__(self, polls: int) -> None:
        self.polls = polls

    def dead(self) -> str | None:
        self.polls -= 1
        return "web server" if self.polls < 0 else None


def test_serving_with_backups_makes_them_on_schedule_until_a_process_exits():
    made = []
    dead = wait_with_backups(_ServerExitingAfter(5), 0.001, lambda: made.append(len(made)), poll=0.002)
    assert dead == "web server"
    assert len(made) >= 1


def test_a_backup_left_unfinished_by_a_killed_run_is_cleared_and_complete_ones_are_kept(tmp_path):
    from vndiplo.doccano.backup import clear_unfinished

    complete = tmp_path / backup_name(datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc))
    complete.mkdir()
    (complete / MANIFEST).write_text("{}", encoding="utf-8")
    unfinished = tmp_path / f".{backup_name(datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc))}.partial"
    (unfinished / PROJECTS).mkdir(parents=True)
    assert clear_unfinished(tmp_path) == [unfinished]
    assert not unfinished.exists() and backups_in(tmp_path) == [complete]
    assert clear_unfinished(tmp_path / "nothing-here") == []
