"""Backups of a Doccano server, restore into an empty one, and the move of a data folder to PostgreSQL.

Weeks of annotation live only in the server's database until someone pulls,
so a backup holds everything needed to rebuild it, in three layers:

- `doccano.json`: the whole database as Django fixtures, written through
  Doccano's own Django (as `dumpdata` does) inside one read transaction (a consistent snapshot while
  annotators keep working): users with their password hashes, projects and
  their settings, labels, members and roles, documents, every annotator's
  spans, document states ("done" marks), comments. It loads into SQLite and
  PostgreSQL alike, which is what :func:`restore` and :func:`migrate_database`
  load;
- `projects/<id>/`: what Doccano's API and export say about each project
  the backing-up account is a member of (Doccano shows no other, even to its admin)
  (settings, labels, members, documents, and each annotator's spans in the
  JSONL export, all documents and the ones they marked done): readable
  without Doccano;
- `database.pgdump`: `pg_dump`'s custom-format dump when the database is
  PostgreSQL (restorable with `pg_restore` by a database administrator);
- `manifest.json`: when, from where, and how many users, projects, members,
  labels, documents, spans, done marks and comments the dump holds: a
  restore checks the database against these counts.

A backup is written into `OUT/.doccano-backup-<time>.partial/` and renamed
to `OUT/doccano-backup-<time>/` once complete (`manifest.json` last), so a
folder of that name is always whole. The API layer needs the admin's login,
the database layers the data folder: run it on the server's computer.

The Django dump and the loader are the one mechanism behind restore and
migrate-db: a database gets Doccano's tables (`migrate`), must hold no user
and no project, and then receives the dump (`loaddata`, which also moves
PostgreSQL's id sequences past the loaded rows).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .. import errors
from ..corpus import atomic_write_text, exclusive_lock
from .client import Credentials, Doccano, read_export
from .install import DOCCANO_VERSION, Installation
from .local import tail
from .postgres import DatabaseChoice, check_database_url, database_key, database_up, pg_dump, record_database, recorded_database
from .server import Server, doccano_env, make_private, private_log, read_state

BACKUP_PREFIX = "doccano-backup-"
MANIFEST = "manifest.json"
DUMP = "doccano.json"
PG_DUMP = "database.pgdump"
PROJECTS = "projects"
# Left out of the dump: rebuilt by `migrate` (content types, permissions), throw-away (sessions,
# finished task results, half-uploaded files) or a log of admin clicks.
EXCLUDED_FROM_DUMP = ("contenttypes", "auth.permission", "sessions", "admin.logentry", "django_celery_results", "django_drf_filepond")
# What a restore must give back, counted in the dump and in the database after loading it.
COUNTED_MODELS = {
    "auth.user": "users",
    "projects.project": "projects",
    "projects.member": "project members",
    "label_types.spantype": "labels",
    "examples.example": "documents",
    "labels.span": "spans",
    "examples.examplestate": "document states",
    "examples.comment": "comments",
}
# Django's own `dumpdata`, except that django-polymorphic's managers are told to stay plain: through
# them a Project row comes back as its SequenceLabelingProject child, so dumpdata writes the child
# twice and the parent row never, and the dump does not load.
_DUMP_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import django
django.setup()
from django.apps import apps
from django.core import serializers
from django.db import connection, transaction
excluded = set(sys.argv[3:])
app_list = [
    (config, [m for m in config.get_models() if f"{config.label}.{m._meta.model_name}" not in excluded and m._meta.managed and not m._meta.proxy])
    for config in apps.get_app_configs() if config.label not in excluded and config.models_module is not None
]
def rows():
    for model in serializers.sort_dependencies(app_list, allow_cycles=True):
        query = model._base_manager.order_by(model._meta.pk.name)
        yield from (query.non_polymorphic() if hasattr(query, "non_polymorphic") else query).iterator()
with transaction.atomic():  # one snapshot: annotators may keep writing meanwhile
    if connection.vendor == "postgresql":
        connection.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        serializers.serialize("json", rows(), use_natural_foreign_keys=True, stream=out)
"""
_LOAD_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import django
django.setup()
from django.apps import apps
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
counted = json.loads(sys.argv[3])
present = {label: apps.get_model(label).objects.count() for label in ("auth.user", "projects.project")}
if any(present.values()):
    print(json.dumps({"not_empty": present}))
    sys.exit(0)
call_command("flush", interactive=False, verbosity=0)  # the roles and site `doccano init` made come from the dump
call_command("loaddata", sys.argv[2], verbosity=0)
print(json.dumps({"counts": {label: apps.get_model(label).objects.count() for label in counted}}))
"""


# --- the Django layer, shared by backup, restore and migrate-db --------------------------------------


def _django(installation: Installation, data_dir: Path, script: str, args: list[str], what: str) -> str:
    """Run a Django script in Doccano's environment for the data folder; its standard output."""
    log = data_dir / "logs" / "database.log"
    with private_log(log) as err:
        err.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n")
        err.flush()
        result = subprocess.run(
            [str(installation.python), "-c", script, str(installation.backend), *args], env=doccano_env(data_dir), cwd=installation.backend,
            stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True, check=False,
        )
    if result.returncode != 0:
        raise errors.doccano_database_failed(what, str(log), tail(log))
    return result.stdout


def dump_database(installation: Installation, data_dir: Path, out: Path) -> None:
    """The data folder's whole Doccano database as Django fixtures in `out` (one consistent snapshot)."""
    _django(installation, data_dir, _DUMP_SCRIPT, [str(out), *EXCLUDED_FROM_DUMP], "be dumped")
    os.chmod(out, 0o600)  # password hashes


def dump_counts(records: list[dict]) -> dict[str, int]:
    """How many rows of each counted model a dump holds."""
    found = Counter(record.get("model") for record in records)
    return {label: found.get(label, 0) for label in COUNTED_MODELS}


def load_database(installation: Installation, data_dir: Path, dump: Path) -> dict[str, int]:
    """Load a dump into the data folder's empty database; the counts of what is in it afterwards."""
    answer = _django(installation, data_dir, _LOAD_SCRIPT, [str(dump.resolve()), json.dumps(list(COUNTED_MODELS))], "take the dump (migrate, loaddata)")
    result = json.loads(answer.strip().splitlines()[-1])
    if "not_empty" in result:
        present = result["not_empty"]
        raise errors.doccano_database_not_empty(
            f"{present['auth.user']} users and {present['projects.project']} projects", f"database: {_database_label(data_dir)}"
        )
    return result["counts"]


def _database_label(data_dir: Path) -> str:
    key = database_key(data_dir)
    return f"SQLite in {data_dir}" if key == "sqlite" else key


def _differences(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    return [f"{COUNTED_MODELS[label]}: {expected[label]} in the backup, {found.get(label)} restored" for label in COUNTED_MODELS if found.get(label) != expected.get(label)]


def _record(data_dir: Path, choice: DatabaseChoice) -> None:
    if choice.url is not None:
        check_database_url(choice.url)
    record_database(data_dir, choice)


def _refuse_while_serving(data_dir: Path, what: str) -> None:
    running = read_state(data_dir)
    if running is not None:
        raise errors.doccano_server_running(running.url, what)


# --- backup ------------------------------------------------------------------------------------------


@dataclass
class BackupReport:
    path: Path
    counts: dict[str, int]
    projects: dict[str, dict[str, dict[str, int]]]  # project name -> annotator -> {"documents", "done", "spans"}
    pg_dump: bool
    removed: list[Path] = field(default_factory=list)  # older backups beyond --keep
    warnings: list[str] = field(default_factory=list)


def backup_name(moment: datetime) -> str:
    return BACKUP_PREFIX + moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def backups_in(out_dir: Path) -> list[Path]:
    """The complete backups in `out_dir`, oldest first (the time is in the name)."""
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.iterdir() if p.is_dir() and re.fullmatch(re.escape(BACKUP_PREFIX) + r"\d{8}T\d{6}Z", p.name) and (p / MANIFEST).exists())


def _write_json(path: Path, data: object) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def _write_jsonl(path: Path, records: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _project_layer(api: Doccano, folder: Path, warnings: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    """Each project's settings, labels, members, documents and per-annotator export; a summary per annotator."""
    summary: dict[str, dict[str, dict[str, int]]] = {}
    for project in api.projects():
        where = folder / str(project["id"])
        _write_json(where / "project.json", project)
        _write_json(where / "members.json", api.members(project["id"]))
        _write_jsonl(where / "examples.jsonl", api.examples(project["id"]))
        if project.get("project_type") != "SequenceLabeling":
            warnings.append(f"{project['name']}: a {project.get('project_type')} project; its labels and annotations are in {DUMP} only")
            continue
        _write_json(where / "labels.json", api.span_types(project["id"]))
        exported = read_export(api.export(project), f"export of {project['name']}")
        done = read_export(api.export(project, confirmed_only=True), f"export of {project['name']} (done only)")
        annotators = {}
        for username, records in sorted(exported.items()):
            _write_jsonl(where / "export" / f"{username}.jsonl", records)
            _write_jsonl(where / "export-done" / f"{username}.jsonl", done.get(username, []))
            annotators[username] = {
                "documents": len(records),
                "done": len(done.get(username, [])),
                "spans": sum(len(r.get("label") or []) for r in records),
            }
        summary[project["name"]] = annotators
    return summary


def clear_unfinished(out_dir: Path) -> list[Path]:
    """Remove the `.partial` folders a killed backup left in `out_dir` (call it holding the backup lock); returns them."""
    left = sorted(path for path in out_dir.glob(f".{BACKUP_PREFIX}*.partial") if path.is_dir()) if out_dir.is_dir() else []
    for path in left:
        shutil.rmtree(path)
    return left


def backup(installation: Installation, data_dir: Path, out_dir: Path, creds: Credentials, *, keep: int | None = None) -> BackupReport:
    """A timestamped backup of the data folder's Doccano in `out_dir` (see the module), then prune to the last `keep`.

    Backups into one folder take turns (a lock file beside them), so a `.partial` folder found there
    is what a killed backup left: it is removed first and named in the report's warnings.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out_dir / ".backup.lock"):
        unfinished = clear_unfinished(out_dir)
        report = _backup(installation, data_dir, out_dir, creds, keep=keep)
    report.warnings += [f"removed {path.name}, left unfinished by a backup that was killed" for path in unfinished]
    return report


def _backup(installation: Installation, data_dir: Path, out_dir: Path, creds: Credentials, *, keep: int | None) -> BackupReport:
    moment = datetime.now(timezone.utc)
    final = out_dir / backup_name(moment)
    while final.exists():  # two backups within one second
        time.sleep(1)
        moment = datetime.now(timezone.utc)
        final = out_dir / backup_name(moment)
    partial = out_dir / f".{final.name}.partial"
    partial.mkdir(mode=0o700, parents=True)
    try:
        api = Doccano(creds)
        with database_up(installation.venv, data_dir) as choice:
            dump_database(installation, data_dir, partial / DUMP)
            if choice.is_postgres:
                pg_dump(data_dir, partial / PG_DUMP)
        warnings: list[str] = []
        summary = _project_layer(api, partial / PROJECTS, warnings)
        counts = dump_counts(json.loads((partial / DUMP).read_text(encoding="utf-8")))
        unseen = counts["projects.project"] - len(list((partial / PROJECTS).iterdir()) if (partial / PROJECTS).exists() else [])
        if unseen > 0:  # Doccano lists a project only to its members, the server's admin included
            warnings.append(f"{unseen} projects are in {DUMP} only: {creds.username!r} is not their member, so their API export is missing")
        manifest = {
            "created": moment.isoformat(timespec="seconds"),
            "doccano": DOCCANO_VERSION,
            "server": creds.url,
            "database": "postgresql" if choice.is_postgres else "sqlite",
            "counts": counts,
            "projects": summary,
            "files": sorted(str(p.relative_to(partial)) for p in partial.rglob("*") if p.is_file()),
            "warnings": warnings,
        }
        _write_json(partial / MANIFEST, manifest)
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    report = BackupReport(final, counts, summary, choice.is_postgres, warnings=warnings)
    if keep is not None:
        for old in backups_in(out_dir)[:-keep] if keep > 0 else []:
            shutil.rmtree(old)
            report.removed.append(old)
    return report


def read_manifest(backup_dir: Path) -> dict:
    path = backup_dir / MANIFEST
    if not path.exists() or not (backup_dir / DUMP).exists():
        raise errors.doccano_backup_invalid(str(backup_dir), f"{MANIFEST} or {DUMP} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise errors.doccano_backup_invalid(str(backup_dir), f"{MANIFEST}: {exc.msg}") from None


# --- restore and migrate-db --------------------------------------------------------------------------


def restore(installation: Installation, data_dir: Path, backup_dir: Path, database: DatabaseChoice | None = None) -> dict[str, int]:
    """Rebuild a backup in the data folder's empty database (`database` records it first); the restored counts."""
    manifest = read_manifest(backup_dir)
    _refuse_while_serving(data_dir, "Restoring a backup")
    make_private(data_dir)
    if database is not None:
        _record(data_dir, database)
    with database_up(installation.venv, data_dir):
        counts = load_database(installation, data_dir, backup_dir / DUMP)
    differences = _differences(manifest["counts"], counts)
    if differences:
        raise errors.doccano_restore_mismatch(differences)
    return counts


def migrate_database(installation: Installation, data_dir: Path, target: DatabaseChoice) -> dict[str, int]:
    """Move the data folder's Doccano to another (empty) database: dump, load, check, then record the new one.

    The old database is left as it was (the SQLite file stays in the data
    folder); on any failure the data folder keeps using it.
    """
    _refuse_while_serving(data_dir, "Moving Doccano to another database")
    source = recorded_database(data_dir)
    make_private(data_dir)
    dump = data_dir / f"migration-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.json"
    with database_up(installation.venv, data_dir):
        dump_database(installation, data_dir, dump)
    expected = dump_counts(json.loads(dump.read_text(encoding="utf-8")))
    try:
        _record(data_dir, target)
        with database_up(installation.venv, data_dir):
            counts = load_database(installation, data_dir, dump)
        differences = _differences(expected, counts)
        if differences:
            raise errors.doccano_restore_mismatch(differences)
    except BaseException:
        record_database(data_dir, source)
        raise
    dump.unlink()
    return counts


# --- serve --backup-every ------------------------------------------------------------------------------


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """Seconds in `90s`, `30m`, `1h`, `2d` (a number and one unit)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text.lower())
    if not match or float(match.group(1)) <= 0:
        raise errors.doccano_bad_team_option("--backup-every", text, "a positive number and a unit: 90s, 30m, 1h or 2d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wait_with_backups(server: Server, every: float, make_backup: Callable[[], None], poll: float = 0.5) -> str:
    """Like :meth:`Server.wait`, making a backup every `every` seconds meanwhile; the name of the process that exited."""
    due = time.monotonic() + every
    while True:
        name = server.dead()
        if name:
            return name
        if time.monotonic() >= due:
            make_backup()
            due = time.monotonic() + every
        time.sleep(poll)


def backup_interval(every: str | None, detach: bool) -> float | None:
    """Seconds between the backups of `serve --backup-every` (None: no backups); refused with --detach, which leaves nothing to make them."""
    if every is None:
        return None
    if detach:
        raise errors.VndiploError(
            "--backup-every needs the server in the foreground", "with --detach nothing is left running to make the backups",
            "Drop --detach (run it under systemd or tmux), or schedule `vndiplo doccano backup` with cron.",
        )
    return parse_interval(every)
