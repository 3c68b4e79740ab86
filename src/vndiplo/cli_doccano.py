"""`vndiplo doccano serve | stop | push | pull`: the command line of the Doccano round trip.

Thin over :mod:`vndiplo.doccano_server` (the local server) and
:mod:`vndiplo.doccano` (push and pull); credentials come from the options or
DOCCANO_URL / DOCCANO_USERNAME / DOCCANO_PASSWORD and are never written down.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import List, Optional
from urllib.parse import urlparse

import typer

from .cli import ProgressBar, good, info, reports_errors, warn

doccano_app = typer.Typer(
    no_args_is_help=True,
    help="Annotate in Doccano: run a local server, push the corpus to a project, pull each annotator's spans.",
)

URL_HELP = "Doccano address (default $DOCCANO_URL or http://127.0.0.1:8000)."
USER_HELP = "Doccano user name (default $DOCCANO_USERNAME)."
PASSWORD_HELP = "Doccano password (default $DOCCANO_PASSWORD; prefer the variable: options show in the shell history)."


def warn_password_option() -> None:
    warn("--password is kept in your shell history and shown in the process list; prefer `export DOCCANO_PASSWORD=…` (or `read -s DOCCANO_PASSWORD`)")


def _default_port() -> int:
    from .doccano import ENV_URL
    from .doccano_server import DEFAULT_PORT

    url = os.environ.get(ENV_URL)
    return (urlparse(url).port or DEFAULT_PORT) if url else DEFAULT_PORT


@doccano_app.command("serve")
@reports_errors
def serve_cli(
    port: Optional[int] = typer.Option(None, "--port", "-P", help="Port on 127.0.0.1 (default: the port of $DOCCANO_URL, else 8000)."),
    username: Optional[str] = typer.Option(None, "--username", "-u", help="Admin user to create (default $DOCCANO_USERNAME, else admin)."),
    password: Optional[str] = typer.Option(None, "--password", "-p", help="Admin password to set (default $DOCCANO_PASSWORD; prefer the variable: options show in the shell history)."),
    email: str = typer.Option("admin@example.com", "--email", help="Admin e-mail address (Doccano does not send mail)."),
    workers: int = typer.Option(3, "--workers", "-w", min=1, help="Web server worker processes."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Keep running in the background; stop with `vndiplo doccano stop`."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Database, uploads and logs (default .doccano/data/).", file_okay=False),
    host: Optional[str] = typer.Option(
        None, "--host", help="Team mode: listen on this address of the network (0.0.0.0: every card) instead of 127.0.0.1; needs a strong admin password."
    ),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="Team mode: the address annotators open (e.g. your reverse proxy's https://…); https makes cookies Secure."),
    database: Optional[str] = typer.Option(
        None, "--database", envvar="VNDIPLO_DATABASE_URL",
        help="PostgreSQL database for this data folder, postgresql://USER:PASSWORD@HOST:PORT/NAME (default $VNDIPLO_DATABASE_URL; remembered).",
    ),
    postgres: bool = typer.Option(False, "--postgres", help="Run a private PostgreSQL (Debian's postgresql package) for this data folder (remembered)."),
    postgres_dir: Optional[Path] = typer.Option(None, "--postgres-dir", help="Folder of the private PostgreSQL (default .doccano/postgres/).", file_okay=False),
    backup_every: Optional[str] = typer.Option(None, "--backup-every", help="Make a backup this often while serving: 30m, 1h, 1d …"),
    keep: int = typer.Option(24, "--keep", min=1, help="With --backup-every: keep the last N backups."),
    backup_dir: Optional[Path] = typer.Option(None, "--backup-dir", help="With --backup-every: where backups go (default .doccano/backups/).", file_okay=False),
):
    """Install Doccano 1.8.4 in .doccano/ (first run only), create the admin and run it on 127.0.0.1 (or, with --host, for a team)."""
    from . import doccano_server as server_lib
    from .cli_doccano_team import database_choice, scheduled_backup, team_options
    from .doccano import ENV_PASSWORD, ENV_USERNAME, credentials
    from .doccano_backup import wait_with_backups
    from .doccano_postgres import prepare, stop_private_cluster

    if password is not None:
        warn_password_option()
    creds = credentials(username=username or os.environ.get(ENV_USERNAME) or "admin", password=password or os.environ.get(ENV_PASSWORD))
    root = server_lib.default_root()
    data_dir = data_dir or root / "data"
    port = port or _default_port()
    team, every = team_options(creds, host, public_url, port, backup_every, detach)
    choice = database_choice(database, postgres, postgres_dir)
    server_lib.refuse_if_running(data_dir)
    if server_lib.installed(root) is None:
        info(f"Installing Doccano {server_lib.DOCCANO_VERSION} into {root / 'venv'} (first run only: a few minutes; log in {root / 'install.log'}) …")
    installation = server_lib.ensure_installed(root)
    info(f"Preparing the database in {data_dir} and the admin user {creds.username!r} …")
    try:
        prepare(installation.venv, data_dir, choice)
        server_lib.initialise(installation, data_dir, username=creds.username, password=creds.password, email=email)
    except BaseException:
        stop_private_cluster(data_dir)
        raise
    info(f"Starting the web server and the task worker on {team.bind if team else '127.0.0.1'}:{port} …")

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    server = None
    try:  # from here on, Ctrl-C or SIGTERM stops what was started (start() cleans up after itself)
        server = server_lib.start(installation, data_dir, port=port, workers=workers, team=team)
        url = team.public_url if team else server.url
        good(f"Doccano is running at {url}")
        if team:
            info(f"  Team mode: listening on {team.bind}:{port}, answering the host names {', '.join(team.allowed_hosts)}.")
        info(f"  Open {url} in a browser and log in as {creds.username!r} with the password you gave.")
        info(f"  For push and pull: export DOCCANO_URL={url} DOCCANO_USERNAME={creds.username} DOCCANO_PASSWORD=…")
        info(f"  Logs: {server.logs['webserver']}, {server.logs['task']}")
        if detach:
            info("  Running in the background; stop it with `vndiplo doccano stop`.")
            return
        info("  Press Ctrl-C to stop it.")
        if every:
            out = backup_dir or root / "backups"
            info(f"  A backup every {backup_every} into {out} (the last {keep} are kept).")
            dead = wait_with_backups(server, every, lambda: scheduled_backup(installation, data_dir, out, creds, server.url, keep))
        else:
            dead = server.wait()
    except KeyboardInterrupt:
        if server is None:
            raise
        info("\nStopping Doccano …")
        server.stop()
        good("Doccano stopped")
        return
    finally:
        signal.signal(signal.SIGTERM, previous)
    server.stop()
    from .errors import doccano_start_failed

    log = server.logs["webserver" if dead == "web server" else "task"]
    raise doccano_start_failed(f"{dead} (it exited while serving)", str(log), server_lib._tail(log))


@doccano_app.command("stop")
@reports_errors
def stop_cli(
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Data folder of the server (default .doccano/data/).", file_okay=False),
):
    """Stop the Doccano server started by `vndiplo doccano serve` (with --detach or in another terminal)."""
    from .doccano_server import stop

    stopped = stop(data_dir)
    if stopped is None:
        warn("No Doccano server started by vndiplo is running.")
        return
    good(f"Stopped Doccano at {stopped.url}")


def _upload_order(documents: dict, order: str, committee: Optional[List[Path]], seed: int) -> list[str]:
    """Document ids in the requested upload order; prints the committee's ranking."""
    from .errors import VndiploError
    from .loop import ORDERS, committee_paths, random_order, uncertainty_order

    ids = list(documents)
    if order not in ORDERS:
        raise VndiploError(f"Unknown --order {order!r}", "", f"Choose one of: {', '.join(ORDERS)}.")
    if order == "random":
        return random_order(ids, seed)
    if order == "corpus":
        return ids
    from .annotations import AnnotatedDoc

    paths = list(committee) if committee else committee_paths()
    docs = [AnnotatedDoc(doc_id, doc.text, []) for doc_id, doc in documents.items()]
    with ProgressBar("committee", unit="model") as bar:
        ranked, disagreement = uncertainty_order(docs, paths, progress=bar)
    info(f"Committee of {len(paths)} models; most disputed first (1 − mean pairwise span F1):")
    for doc_id in ranked[:10]:
        info(f"  {disagreement[doc_id]:.3f}  {doc_id}")
    if len(ranked) > 10:
        info(f"  … {len(ranked) - 10} more")
    return ranked


@doccano_app.command("push")
@reports_errors
def push_cli(
    corpus: Path = typer.Argument(..., help="Corpus JSONL from `vndiplo ingest`.", exists=True, dir_okay=False),
    project: str = typer.Option(..., "--project", "-n", help="Doccano project name (created if missing)."),
    pre_annotations: Optional[Path] = typer.Option(
        None, "--pre-annotations", help="Doccano JSONL {id,text,label} of suggested spans (e.g. `vndiplo predict`); they become spans of the user who pushes.",
        exists=True, dir_okay=False,
    ),
    guidelines: Optional[Path] = typer.Option(
        None, "--guidelines", help="Markdown shown on the project's guideline page (default annotations/GUIDELINES.md).", exists=True, dir_okay=False,
    ),
    order: str = typer.Option(
        "corpus", "--order",
        help="Upload order, which is the order annotators see: corpus, uncertain (most disputed by the committee first) or random.",
    ),
    committee: Optional[List[Path]] = typer.Option(
        None, "--committee", help="Model folders voting for --order uncertain (default: the fold models of `vndiplo crossval` in training/crossval/models).",
        exists=True, file_okay=False,
    ),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Upload at most N new documents, the first of the order not in the project yet (one annotation batch; push again for the next)."),
    seed: int = typer.Option(0, "--seed", help="Seed of --order random."),
    url: Optional[str] = typer.Option(None, "--url", help=URL_HELP),
    username: Optional[str] = typer.Option(None, "--username", "-u", help=USER_HELP),
    password: Optional[str] = typer.Option(None, "--password", "-p", help=PASSWORD_HELP),
):
    """Create or reuse the project (8 labels, colours, keys, guidelines) and upload documents not there yet.

    With --order uncertain, every committee model labels the corpus first and
    the documents they disagree on most (1 − mean pairwise span F1) go up first.
    """
    from .corpus import read_corpus
    from .doccano import credentials, load_guidelines, push, read_pre_annotations

    if password is not None:
        warn_password_option()
    creds = credentials(url, username, password)
    documents = read_corpus(corpus)
    upload_order = _upload_order(documents, order, committee, seed)
    suggestions, trimmed = read_pre_annotations(pre_annotations, documents) if pre_annotations else (None, [])
    with ProgressBar("upload") as bar:
        report = push(creds, documents, project, order=upload_order, limit=limit, pre_annotations=suggestions, guideline=load_guidelines(guidelines), progress=bar)
    info(f"{'Created' if report.created else 'Reused'} project {project!r}: {report.project_url}")
    if report.labels_created or report.labels_updated:
        info(f"  labels created: {', '.join(report.labels_created) or '—'}; corrected: {', '.join(report.labels_updated) or '—'}")
    if report.guideline_updated:
        info("  guidelines updated")
    info(f"  uploaded {len(report.uploaded)} documents; {len(report.present)} were already there")
    if report.deferred:
        info(f"  {len(report.deferred)} documents left for the next batch (--limit {limit}); next up: {report.deferred[0]}")
    for doc_id, before, after in trimmed:
        warn(f"{pre_annotations}: {doc_id} {before.label} {before.start}-{before.end} trimmed to {after.start}-{after.end} (whitespace)")
    if suggestions is not None:
        info(f"  suggestions: {sum(report.suggested.values())} spans on {len(report.suggested)} documents, as {creds.username!r}")
        if report.suggestions_skipped:
            info(f"  no suggestions where {creds.username!r} already has spans: {len(report.suggestions_skipped)} documents")
    for doc_id in report.changed:
        warn(f"{doc_id}: the text in Doccano differs from the corpus; left as it is (not uploaded again)")
    for doc_id, copy in report.copies_deleted:
        warn(f"{doc_id}: deleted a second copy (example {copy}) left by a push at the same time or an earlier one; nobody had worked on it")
    for doc_id, copy, first in report.copies_kept:
        warn(f"{doc_id}: example {copy} is a second copy of example {first} and has labels, comments or a done mark: "
             "keep one copy by hand in Doccano (move the work, delete the other)")
    for message in report.warnings:
        warn(message)
    good(f"Pushed {corpus} to {report.project_url}")


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
    url: Optional[str] = typer.Option(None, "--url", help=URL_HELP),
    username: Optional[str] = typer.Option(None, "--username", "-u", help=USER_HELP),
    password: Optional[str] = typer.Option(None, "--password", "-p", help=PASSWORD_HELP),
):
    """Export the project through Doccano's API and write the spans of each annotator's checked documents.

    A span with whitespace at an edge is not what the annotator selected (a
    selection across a line wrap is stored shifted): it is held back and listed
    with its context in OUT/trimmed-spans.md unless --accept-trimmed.
    """
    from .corpus import read_corpus
    from .doccano import credentials, pull, write_pull

    creds = credentials(url, username, password)
    result = pull(creds, project, read_corpus(corpus), include_unchecked=include_unchecked, accept_trimmed=accept_trimmed, skip_changed=skip_changed)
    for username_, finding in result.warnings:
        warn(f"{username_}: {finding}")
    for message in result.changed:
        warn(f"left out: {message}")
    paths, review = write_pull(result, out)
    if result.trimmed:
        verb = "written trimmed" if result.trimmed_accepted else "held back, not written"
        warn(f"{len(result.trimmed)} spans had whitespace at an edge ({verb}); the list with context is in {review}:")
        for item in result.trimmed[:20]:
            warn(f"  {item.username}: {item.doc_id} {item.stored.label} {item.context}")
        if not result.trimmed_accepted:
            info("  Fix them in Doccano and pull again, or pull with --accept-trimmed if every trimmed span is right.")
    for username_, work in sorted(result.annotators.items()):
        info(f"  {username_}: {len(work.docs)} documents ({work.done} checked), {work.spans} spans → {paths[username_]}")
        if work.unchecked:
            info(
                f"    {work.unchecked} documents with spans but not checked left out (unreviewed suggestions or unfinished work): "
                "check them in Doccano, or pull with --include-unchecked"
            )
        if work.not_started:
            info(f"    {work.not_started} documents not started (no span, not checked) left out")
    if result.idle:
        info(f"  nothing checked yet by: {', '.join(sorted(result.idle))}")
    if not paths:
        warn(f"Nothing to write: no annotator of {project!r} has checked a document yet.")
        return
    good(f"Pulled {project!r}: {len(paths)} annotator file{'s' if len(paths) != 1 else ''} in {out}")


from . import cli_doccano_team  # noqa: F401  (registers backup, restore and migrate-db)
