"""`vndiplo doccano serve | stop | push | pull | backup | restore | migrate-db`: the Doccano round trip.

Thin over the `vndiplo.doccano` package (the server, push and pull, backups);
credentials come from the options or
DOCCANO_URL / DOCCANO_USERNAME / DOCCANO_PASSWORD and are never written down.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from urllib.parse import urlparse

import typer

from .. import errors
from .common import ProgressBar, msg, reports_errors

doccano_app = typer.Typer(
    no_args_is_help=True,
    help="Annotate in Doccano: run a local server, push the corpus to a project, pull each annotator's spans.",
)

URL_HELP = "Doccano address (default $DOCCANO_URL or http://127.0.0.1:8000)."
USER_HELP = "Doccano user name (default $DOCCANO_USERNAME)."
PASSWORD_HELP = "Doccano password (default $DOCCANO_PASSWORD; prefer the variable: options show in the shell history)."


def warn_password_option() -> None:
    msg.warn("--password is kept in your shell history and shown in the process list; prefer `export DOCCANO_PASSWORD=…` (or `read -s DOCCANO_PASSWORD`)")


def _default_port() -> int:
    from ..doccano.client import ENV_URL
    from ..doccano.local import DEFAULT_PORT

    url = os.environ.get(ENV_URL)
    return (urlparse(url).port or DEFAULT_PORT) if url else DEFAULT_PORT


@doccano_app.command("serve")
@reports_errors
def serve_cli(
    port: int | None = typer.Option(None, "--port", "-P", help="Port on 127.0.0.1 (default: the port of $DOCCANO_URL, else 8000)."),
    username: str | None = typer.Option(None, "--username", "-u", help="Admin user to create (default $DOCCANO_USERNAME, else admin)."),
    password: str | None = typer.Option(None, "--password", "-p", help="Admin password to set (default $DOCCANO_PASSWORD; prefer the variable: options show in the shell history)."),
    email: str = typer.Option("admin@example.com", "--email", help="Admin e-mail address (Doccano does not send mail)."),
    workers: int = typer.Option(3, "--workers", "-w", min=1, help="Web server worker processes."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Keep running in the background; stop with `vndiplo doccano stop`."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Database, uploads and logs (default .doccano/data/).", file_okay=False),
    host: str | None = typer.Option(
        None, "--host", help="Team mode: listen on this address of the network (0.0.0.0: every card) instead of 127.0.0.1; needs a strong admin password."
    ),
    public_url: str | None = typer.Option(None, "--public-url", help="Team mode: the address annotators open (e.g. your reverse proxy's https://…); https makes cookies Secure."),
    database: str | None = typer.Option(
        None, "--database", envvar="VNDIPLO_DATABASE_URL",
        help="PostgreSQL database for this data folder, postgresql://USER:PASSWORD@HOST:PORT/NAME (default $VNDIPLO_DATABASE_URL; remembered).",
    ),
    postgres: bool = typer.Option(False, "--postgres", help="Run a private PostgreSQL (Debian's postgresql package) for this data folder (remembered)."),
    postgres_dir: Path | None = typer.Option(None, "--postgres-dir", help="Folder of the private PostgreSQL (default .doccano/postgres/).", file_okay=False),
    backup_every: str | None = typer.Option(None, "--backup-every", help="Make a backup this often while serving: 30m, 1h, 1d …"),
    keep: int = typer.Option(24, "--keep", min=1, help="With --backup-every: keep the last N backups."),
    backup_dir: Path | None = typer.Option(None, "--backup-dir", help="With --backup-every: where backups go (default .doccano/backups/).", file_okay=False),
):
    """Install Doccano 1.8.4 in .doccano/ (first run only), create the admin and run it on 127.0.0.1 (or, with --host, for a team)."""
    from ..doccano.backup import backup_interval, wait_with_backups
    from ..doccano.client import ENV_PASSWORD, ENV_USERNAME, credentials
    from ..doccano.local import default_root, tail
    from ..doccano.postgres import database_choice
    from ..doccano.server import serve
    from ..doccano.team import serve_team_mode
    from ..errors import doccano_start_failed

    if password is not None:
        warn_password_option()
    creds = credentials(username=username or os.environ.get(ENV_USERNAME) or "admin", password=password or os.environ.get(ENV_PASSWORD))
    port = port or _default_port()
    team = serve_team_mode(creds.username, creds.password, host, port, public_url)
    every = backup_interval(backup_every, detach)
    choice = database_choice(database, postgres, postgres_dir)

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C stops the server even when the shell started us with SIGINT ignored (a background job of a script).
    previous_interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)
    server = None
    try:  # from here on, Ctrl-C or SIGTERM stops what was started (serve() cleans up after itself)
        server = serve(
            username=creds.username, password=creds.password, port=port, workers=workers, data_dir=data_dir, email=email,
            team=team, database=choice, progress=msg.text,
        )
        url = team.public_url if team else server.url
        msg.good(f"Doccano is running at {url}")
        if team:
            msg.text(f"  Team mode: listening on {team.bind}:{port}, answering the host names {', '.join(team.allowed_hosts)}.")
        msg.text(f"  Open {url} in a browser and log in as {creds.username!r} with the password you gave.")
        msg.text(f"  For push and pull: export DOCCANO_URL={url} DOCCANO_USERNAME={creds.username} DOCCANO_PASSWORD=…")
        msg.text(f"  Logs: {server.logs['webserver']}, {server.logs['task']}")
        if detach:
            msg.text("  Running in the background; stop it with `vndiplo doccano stop`.")
            return
        msg.text("  Press Ctrl-C to stop it.")
        if every:
            out = backup_dir or default_root() / "backups"
            msg.text(f"  A backup every {backup_every} into {out} (the last {keep} are kept).")
            running = server
            dead = wait_with_backups(server, every, lambda: _scheduled_backup(running.data_dir, out, creds, running.url, keep))
        else:
            dead = server.wait()
    except KeyboardInterrupt:
        if server is None:
            raise
        msg.text("Stopping Doccano …", spaced=True)
        server.stop()
        msg.good("Doccano stopped")
        return
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_interrupt)
    server.stop()
    log = server.logs["webserver" if dead == "web server" else "task"]
    raise doccano_start_failed(f"{dead} (it exited while serving)", str(log), tail(log))


def _scheduled_backup(data_dir: Path, out: Path, creds, url: str, keep: int) -> None:
    """One backup of `serve --backup-every`; a failure is reported and serving goes on."""
    from ..doccano.backup import backup
    from ..doccano.client import Credentials
    from ..errors import VndiploError

    try:
        report = backup(_installation(), data_dir, out, Credentials(url, creds.username, creds.password), keep=keep)
    except VndiploError as error:
        msg.warn(f"Backup failed (the server keeps running): {error.title}")
        return
    msg.text(f"  backup: {report.path} ({report.counts['labels.span']} spans, {report.counts['examples.example']} documents)")


def _installation():
    """Doccano's virtualenv, installed first if need be (with a word about the wait)."""
    from ..doccano.install import ensure_installed

    return ensure_installed(progress=msg.text)


@doccano_app.command("stop")
@reports_errors
def stop_cli(
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data folder of the server (default .doccano/data/).", file_okay=False),
):
    """Stop the Doccano server started by `vndiplo doccano serve` (with --detach or in another terminal)."""
    from ..doccano.server import stop

    stopped = stop(data_dir)
    if stopped is None:
        msg.warn("No Doccano server started by vndiplo is running.")
        return
    msg.good(f"Stopped Doccano at {stopped.url}")


def _upload_order(documents: dict, order: str, committee: list[Path] | None, seed: int) -> list[str]:
    """Document ids in the requested upload order; shows the committee's ranking when there is one."""
    from ..active_learning import upload_order

    with ProgressBar("committee", unit="model") as bar:
        ranked, disagreement, committee_size = upload_order(documents, order, committee=committee, seed=seed, progress=bar)
    if disagreement:
        msg.text(f"Committee of {committee_size} models; most disputed first (1 − mean pairwise span F1):")
        for doc_id in ranked[:10]:
            msg.text(f"  {disagreement[doc_id]:.3f}  {doc_id}")
        if len(ranked) > 10:
            msg.text(f"  … {len(ranked) - 10} more")
    return ranked


@doccano_app.command("push")
@reports_errors
def push_cli(
    corpus: Path = typer.Argument(..., help="Corpus JSONL from `vndiplo ingest`.", exists=True, dir_okay=False),
    project: str = typer.Option(..., "--project", "-n", help="Doccano project name (created if missing)."),
    pre_annotations: Path | None = typer.Option(
        None, "--pre-annotations", help="Doccano JSONL {id,text,label} of suggested spans (e.g. `vndiplo predict`); they become spans of the user who pushes.",
        exists=True, dir_okay=False,
    ),
    guidelines: Path | None = typer.Option(
        None, "--guidelines", help="Markdown shown on the project's guideline page (default annotations/GUIDELINES.md).", exists=True, dir_okay=False,
    ),
    order: str = typer.Option(
        "corpus", "--order",
        help="Upload order, which is the order annotators see: corpus, uncertain (most disputed by the committee first) or random.",
    ),
    committee: list[Path] | None = typer.Option(
        None, "--committee", help="Model folders voting for --order uncertain (default: the fold models of `vndiplo crossval` in training/crossval/models).",
        exists=True, file_okay=False,
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Upload at most N new documents, the first of the order not in the project yet (one annotation batch; push again for the next)."),
    seed: int = typer.Option(0, "--seed", help="Seed of --order random."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    username: str | None = typer.Option(None, "--username", "-u", help=USER_HELP),
    password: str | None = typer.Option(None, "--password", "-p", help=PASSWORD_HELP),
):
    """Create or reuse the project (8 labels, colours, keys, guidelines) and upload documents not there yet.

    With --order uncertain, every committee model labels the corpus first and
    the documents they disagree on most (1 − mean pairwise span F1) go up first.
    """
    from ..corpus import read_corpus
    from ..doccano.client import credentials
    from ..doccano.push import load_guidelines, push, read_pre_annotations

    if password is not None:
        warn_password_option()
    creds = credentials(url, username, password)
    documents = read_corpus(corpus)
    upload_order = _upload_order(documents, order, committee, seed)
    suggestions, trimmed = read_pre_annotations(pre_annotations, documents) if pre_annotations else (None, [])
    with ProgressBar("upload") as bar:
        report = push(creds, documents, project, order=upload_order, limit=limit, pre_annotations=suggestions, guideline=load_guidelines(guidelines), progress=bar)
    msg.text(f"{'Created' if report.created else 'Reused'} project {project!r}: {report.project_url}")
    if report.labels_created or report.labels_updated:
        msg.text(f"  labels created: {', '.join(report.labels_created) or '—'}; corrected: {', '.join(report.labels_updated) or '—'}")
    if report.guideline_updated:
        msg.text("  guidelines updated")
    msg.text(f"  uploaded {len(report.uploaded)} documents; {len(report.present)} were already there")
    if report.deferred:
        msg.text(f"  {len(report.deferred)} documents left for the next batch (--limit {limit}); next up: {report.deferred[0]}")
    for doc_id, before, after in trimmed:
        msg.warn(f"{pre_annotations}: {doc_id} {before.label} {before.start}-{before.end} trimmed to {after.start}-{after.end} (whitespace)")
    if suggestions is not None:
        msg.text(f"  suggestions: {sum(report.suggested.values())} spans on {len(report.suggested)} documents, as {creds.username!r}")
        if report.suggestions_skipped:
            msg.text(f"  no suggestions where {creds.username!r} already has spans: {len(report.suggestions_skipped)} documents")
    for doc_id in report.changed:
        msg.warn(f"{doc_id}: the text in Doccano differs from the corpus; left as it is (not uploaded again)")
    for doc_id, copy in report.copies_deleted:
        msg.warn(f"{doc_id}: deleted a second copy (example {copy}) left by a push at the same time or an earlier one; nobody had worked on it")
    for doc_id, copy, first in report.copies_kept:
        msg.warn(f"{doc_id}: example {copy} is a second copy of example {first} and has labels, comments or a done mark: "
             "keep one copy by hand in Doccano (move the work, delete the other)")
    for message in report.warnings:
        msg.warn(message)
    msg.good(f"Pushed {corpus} to {report.project_url}")


@doccano_app.command("pull")
@reports_errors
def pull_cli(
    project: str = typer.Option(..., "--project", "-n", help="Doccano project name."),
    out: Path = typer.Option(Path("annotations/raw"), "--out", "-o", help="Folder for one <username>.jsonl per annotator.", file_okay=False),
    corpus: Path = typer.Option(Path("corpus/docs.jsonl"), "--corpus", "-c", help="Corpus the texts must match."),
    include_unchecked: bool = typer.Option(
        False, "--include-unchecked",
        help="Also documents with spans the annotator did not check (unreviewed suggestions included; default: checked documents only).",
    ),
    accept_trimmed: bool = typer.Option(
        False, "--accept-trimmed", help="Write spans that had whitespace at an edge, trimmed, instead of holding them back for review.",
    ),
    skip_changed: bool = typer.Option(False, "--skip-changed", help="Leave out documents whose text differs from the corpus instead of stopping."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    username: str | None = typer.Option(None, "--username", "-u", help=USER_HELP),
    password: str | None = typer.Option(None, "--password", "-p", help=PASSWORD_HELP),
):
    """Export the project through Doccano's API and write the spans of each annotator's checked documents.

    A span with whitespace at an edge is not what the annotator selected (a
    selection across a line wrap is stored shifted): it is held back and listed
    with its context in OUT/trimmed-spans.md unless --accept-trimmed.
    """
    from ..corpus import read_corpus
    from ..doccano.client import credentials
    from ..doccano.pull import pull, write_pull

    creds = credentials(url, username, password)
    result = pull(creds, project, read_corpus(corpus), include_unchecked=include_unchecked, accept_trimmed=accept_trimmed, skip_changed=skip_changed)
    for username_, finding in result.warnings:
        msg.warn(f"{username_}: {finding}")
    for message in result.changed:
        msg.warn(f"left out: {message}")
    paths, review = write_pull(result, out)
    if result.trimmed:
        verb = "written trimmed" if result.trimmed_accepted else "held back, not written"
        msg.warn(f"{len(result.trimmed)} spans had whitespace at an edge ({verb}); the list with context is in {review}:")
        for item in result.trimmed[:20]:
            msg.warn(f"  {item.username}: {item.doc_id} {item.stored.label} {item.context}")
        if not result.trimmed_accepted:
            msg.text("  Fix them in Doccano and pull again, or pull with --accept-trimmed if every trimmed span is right.")
    for username_, work in sorted(result.annotators.items()):
        msg.text(f"  {username_}: {len(work.docs)} documents ({work.done} checked), {work.spans} spans → {paths[username_]}")
        if work.unchecked:
            msg.text(
                f"    {work.unchecked} documents with spans but not checked left out (unreviewed suggestions or unfinished work): "
                "check them in Doccano, or pull with --include-unchecked"
            )
        if work.not_started:
            msg.text(f"    {work.not_started} documents not started (no span, not checked) left out")
    if result.idle:
        msg.text(f"  nothing checked yet by: {', '.join(sorted(result.idle))}")
    if not paths:
        msg.warn(f"Nothing to write: no annotator of {project!r} has checked a document yet.")
        return
    msg.good(f"Pulled {project!r}: {len(paths)} annotator file{'s' if len(paths) != 1 else ''} in {out}")


DATA_DIR_HELP = "Data folder of the server (default .doccano/data/)."


@doccano_app.command("backup")
@reports_errors
def backup_cli(
    out: Path = typer.Option(Path(".doccano/backups"), "--out", "-o", help="Folder for doccano-backup-<time>/ (created if missing).", file_okay=False),
    keep: int | None = typer.Option(None, "--keep", min=1, help="Keep only the last N backups in --out (default: keep all)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP, file_okay=False),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    username: str | None = typer.Option(None, "--username", "-u", help=USER_HELP),
    password: str | None = typer.Option(None, "--password", "-p", help=PASSWORD_HELP),
):
    """Back up the running server: the whole database, each project's documents and every annotator's spans and done marks.

    Run it on the server's computer with the admin's login; the backup folder
    is complete or absent, never half written. On PostgreSQL a pg_dump is added.
    """
    from ..doccano.backup import backup
    from ..doccano.client import credentials
    from ..doccano.local import default_data_dir

    if password is not None:
        warn_password_option()
    creds = credentials(url, username, password)
    report = backup(_installation(), data_dir or default_data_dir(), out, creds, keep=keep)
    for message in report.warnings:
        msg.warn(message)
    for name, annotators in sorted(report.projects.items()):
        msg.text(f"  {name}: " + ", ".join(f"{user} {n['spans']} spans, {n['done']} done" for user, n in annotators.items()))
    for old in report.removed:
        msg.text(f"  removed the older backup {old}")
    counts = report.counts
    msg.good(
        f"Backup in {report.path}: {counts['projects.project']} projects, {counts['examples.example']} documents, {counts['labels.span']} spans, "
        f"{counts['examples.examplestate']} done marks, {counts['auth.user']} users{' (and a pg_dump)' if report.pg_dump else ''}"
    )


@doccano_app.command("restore")
@reports_errors
def restore_cli(
    backup_dir: Path = typer.Argument(..., help="A doccano-backup-<time>/ folder written by `vndiplo doccano backup`.", exists=True, file_okay=False),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Data folder to restore into; its database must be empty (default .doccano/data/).", file_okay=False),
    database: str | None = typer.Option(None, "--database", envvar="VNDIPLO_DATABASE_URL", help="Restore into this empty PostgreSQL database (remembered for the data folder)."),
    postgres: bool = typer.Option(False, "--postgres", help="Restore into a private PostgreSQL (see `serve --postgres`)."),
    postgres_dir: Path | None = typer.Option(None, "--postgres-dir", help="Folder of the private PostgreSQL (default .doccano/postgres/).", file_okay=False),
):
    """Rebuild a backup on an empty server (stopped): users, projects, documents, spans and done marks, checked against the backup."""
    from ..doccano.backup import restore
    from ..doccano.local import default_data_dir
    from ..doccano.postgres import database_choice

    data_dir = data_dir or default_data_dir()
    counts = restore(_installation(), data_dir, backup_dir, database_choice(database, postgres, postgres_dir))
    msg.good(f"Restored {backup_dir} into {data_dir}: {counts['projects.project']} projects, {counts['examples.example']} documents, {counts['labels.span']} spans, {counts['auth.user']} users")
    msg.text("  Start it with `vndiplo doccano serve` (the admin's and the annotators' passwords are those of the backup).")


@doccano_app.command("migrate-db")
@reports_errors
def migrate_db_cli(
    to: str | None = typer.Option(None, "--to", envvar="VNDIPLO_DATABASE_URL", help="The empty PostgreSQL database to move to: postgresql://USER:PASSWORD@HOST:PORT/NAME."),
    postgres: bool = typer.Option(False, "--postgres", help="Move to a private PostgreSQL run by vndiplo (see `serve --postgres`)."),
    postgres_dir: Path | None = typer.Option(None, "--postgres-dir", help="Folder of the private PostgreSQL (default .doccano/postgres/).", file_okay=False),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP, file_okay=False),
):
    """Move a (stopped) server's data from SQLite to PostgreSQL in one step; later `serve` runs use PostgreSQL."""
    from ..doccano.backup import migrate_database
    from ..doccano.local import default_data_dir
    from ..doccano.postgres import database_choice, recorded_database, redacted

    target = database_choice(to, postgres, postgres_dir)
    if target is None:
        raise errors.VndiploError("migrate-db needs a target", "", "Give --to postgresql://… or --postgres.")
    data_dir = data_dir or default_data_dir()
    source = recorded_database(data_dir)
    counts = migrate_database(_installation(), data_dir, target)
    where = redacted(target.url) if target.url else f"the private PostgreSQL in {target.cluster}"
    msg.good(f"Moved {data_dir} to {where}: {counts['projects.project']} projects, {counts['examples.example']} documents, {counts['labels.span']} spans, {counts['auth.user']} users")
    old = f"The old SQLite file {data_dir / 'db.sqlite3'}" if not source.is_postgres else "The old database"
    msg.text(f"  {old} is left as it was; delete it once you have checked the server.")
