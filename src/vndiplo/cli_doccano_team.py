"""`vndiplo doccano backup | restore | migrate-db`, and the team and database options of `serve`.

Thin over :mod:`vndiplo.doccano_team`, :mod:`vndiplo.doccano_postgres` and
:mod:`vndiplo.doccano_backup`; registered on the `doccano` command group of
:mod:`vndiplo.cli_doccano`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .cli import good, info, reports_errors, warn
from .cli_doccano import (
    PASSWORD_HELP,
    URL_HELP,
    USER_HELP,
    doccano_app,
    warn_password_option,
)
from .doccano import Credentials
from .doccano_postgres import DatabaseChoice
from .doccano_server import Installation
from .doccano_team import TeamMode
from .errors import VndiploError

DATA_DIR_HELP = "Data folder of the server (default .doccano/data/)."


def team_options(
    creds: Credentials, host: str | None, public_url: str | None, port: int, backup_every: str | None, detach: bool
) -> tuple[TeamMode | None, float | None]:
    """`serve`'s team mode (checked, the admin password included) and backup interval, refused before anything starts."""
    from .doccano_backup import parse_interval
    from .doccano_team import check_admin_password, team_mode

    if public_url and not host:
        raise VndiploError("--public-url needs --host", "the public address only matters for a server other computers reach", "Add --host (e.g. --host 127.0.0.1 behind a reverse proxy on this computer).")
    team = team_mode(host, port, public_url) if host else None
    if team:
        check_admin_password(creds.username, creds.password)
    every = parse_interval(backup_every) if backup_every else None
    if every and detach:
        raise VndiploError(
            "--backup-every needs the server in the foreground", "with --detach nothing is left running to make the backups",
            "Drop --detach (run it under systemd or tmux), or schedule `vndiplo doccano backup` with cron.",
        )
    return team, every


def database_choice(database: str | None, postgres: bool, postgres_dir: Path | None) -> DatabaseChoice | None:
    """The database asked for on the command line; None keeps the data folder's recorded one."""
    from .doccano_postgres import check_database_url, default_cluster_dir

    if database and postgres:
        raise VndiploError("--database and --postgres exclude each other", "", "Give a PostgreSQL server with --database, or let vndiplo run one with --postgres.")
    if database:
        return DatabaseChoice(url=check_database_url(database))
    if postgres or postgres_dir:
        return DatabaseChoice(cluster=(postgres_dir or default_cluster_dir()).resolve())
    return None


def scheduled_backup(installation: Installation, data_dir: Path, out: Path, creds: Credentials, url: str, keep: int) -> None:
    """One backup of `serve --backup-every`; a failure is reported and serving goes on."""
    from .doccano_backup import backup

    try:
        report = backup(installation, data_dir, out, Credentials(url, creds.username, creds.password), keep=keep)
    except VndiploError as error:
        warn(f"Backup failed (the server keeps running): {error.message}")
        return
    info(f"  backup: {report.path} ({report.counts['labels.span']} spans, {report.counts['examples.example']} documents)")


def _installation() -> Installation:
    from .doccano_server import default_root, ensure_installed, installed

    root = default_root()
    if installed(root) is None:
        info(f"Installing Doccano into {root / 'venv'} (first run only: a few minutes) …")
    return ensure_installed(root)


@doccano_app.command("backup")
@reports_errors
def backup_cli(
    out: Path = typer.Option(Path(".doccano/backups"), "--out", "-o", help="Folder for doccano-backup-<time>/ (created if missing).", file_okay=False),
    keep: Optional[int] = typer.Option(None, "--keep", min=1, help="Keep only the last N backups in --out (default: keep all)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP, file_okay=False),
    url: Optional[str] = typer.Option(None, "--url", help=URL_HELP),
    username: Optional[str] = typer.Option(None, "--username", "-u", help=USER_HELP),
    password: Optional[str] = typer.Option(None, "--password", "-p", help=PASSWORD_HELP),
):
    """Back up the running server: the whole database, each project's documents and every annotator's spans and done marks.

    Run it on the server's computer with the admin's login; the backup folder
    is complete or absent, never half written. On PostgreSQL a pg_dump is added.
    """
    from .doccano import credentials
    from .doccano_backup import backup
    from .doccano_server import default_data_dir

    if password is not None:
        warn_password_option()
    creds = credentials(url, username, password)
    report = backup(_installation(), data_dir or default_data_dir(), out, creds, keep=keep)
    for message in report.warnings:
        warn(message)
    for name, annotators in sorted(report.projects.items()):
        info(f"  {name}: " + ", ".join(f"{user} {n['spans']} spans, {n['done']} done" for user, n in annotators.items()))
    for old in report.removed:
        info(f"  removed the older backup {old}")
    counts = report.counts
    good(
        f"Backup in {report.path}: {counts['projects.project']} projects, {counts['examples.example']} documents, {counts['labels.span']} spans, "
        f"{counts['examples.examplestate']} done marks, {counts['auth.user']} users{' (and a pg_dump)' if report.pg_dump else ''}"
    )


@doccano_app.command("restore")
@reports_errors
def restore_cli(
    backup_dir: Path = typer.Argument(..., help="A doccano-backup-<time>/ folder written by `vndiplo doccano backup`.", exists=True, file_okay=False),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Data folder to restore into; its database must be empty (default .doccano/data/).", file_okay=False),
    database: Optional[str] = typer.Option(None, "--database", envvar="VNDIPLO_DATABASE_URL", help="Restore into this empty PostgreSQL database (remembered for the data folder)."),
    postgres: bool = typer.Option(False, "--postgres", help="Restore into a private PostgreSQL (see `serve --postgres`)."),
    postgres_dir: Optional[Path] = typer.Option(None, "--postgres-dir", help="Folder of the private PostgreSQL (default .doccano/postgres/).", file_okay=False),
):
    """Rebuild a backup on an empty server (stopped): users, projects, documents, spans and done marks, checked against the backup."""
    from .doccano_backup import restore
    from .doccano_server import default_data_dir

    data_dir = data_dir or default_data_dir()
    counts = restore(_installation(), data_dir, backup_dir, database_choice(database, postgres, postgres_dir))
    good(f"Restored {backup_dir} into {data_dir}: {counts['projects.project']} projects, {counts['examples.example']} documents, {counts['labels.span']} spans, {counts['auth.user']} users")
    info("  Start it with `vndiplo doccano serve` (the admin's and the annotators' passwords are those of the backup).")


@doccano_app.command("migrate-db")
@reports_errors
def migrate_db_cli(
    to: Optional[str] = typer.Option(None, "--to", envvar="VNDIPLO_DATABASE_URL", help="The empty PostgreSQL database to move to: postgresql://USER:PASSWORD@HOST:PORT/NAME."),
    postgres: bool = typer.Option(False, "--postgres", help="Move to a private PostgreSQL run by vndiplo (see `serve --postgres`)."),
    postgres_dir: Optional[Path] = typer.Option(None, "--postgres-dir", help="Folder of the private PostgreSQL (default .doccano/postgres/).", file_okay=False),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP, file_okay=False),
):
    """Move a (stopped) server's data from SQLite to PostgreSQL in one step; later `serve` runs use PostgreSQL."""
    from .doccano_backup import migrate_database
    from .doccano_postgres import recorded_database, redacted
    from .doccano_server import default_data_dir

    target = database_choice(to, postgres, postgres_dir)
    if target is None:
        raise VndiploError("migrate-db needs a target", "", "Give --to postgresql://… or --postgres.")
    data_dir = data_dir or default_data_dir()
    source = recorded_database(data_dir)
    counts = migrate_database(_installation(), data_dir, target)
    where = redacted(target.url) if target.url else f"the private PostgreSQL in {target.cluster}"
    good(f"Moved {data_dir} to {where}: {counts['projects.project']} projects, {counts['examples.example']} documents, {counts['labels.span']} spans, {counts['auth.user']} users")
    old = f"The old SQLite file {data_dir / 'db.sqlite3'}" if not source.is_postgres else "The old database"
    info(f"  {old} is left as it was; delete it once you have checked the server.")
