"""Doccano on PostgreSQL: a given database (`--database`) or a private cluster vndiplo runs (`--postgres`).

SQLite is the zero-setup default and is fine for one annotator at a time; a
team writing at once wants PostgreSQL, which Doccano 1.8.4 uses when
`DATABASE_URL` names it and the `psycopg2` driver is importable (its own
`doccano[postgresql]` extra is `psycopg2-binary`, pinned here in
:data:`DRIVER_REQUIREMENT` and installed into Doccano's virtualenv on first
use, never into the project's).

Which database a data folder uses is recorded in `DATA_DIR/database.json`
(mode 0600, as the rest of the data folder): every Doccano process, backup
and migration of that folder reads the same record, so a server never comes
up on an empty SQLite file by mistake after a team moved to PostgreSQL.

A private cluster lives in its own folder (default `.doccano/postgres/`):
`pgdata/` made by Debian's `initdb`, started and stopped with `pg_ctl`,
listening on 127.0.0.1 only, on a free port, with no Unix socket, one
superuser `doccano` whose random password is kept in the folder (mode 0600).
PostgreSQL refuses to run as root, so under root (CI, containers) its
programs run as the `postgres` system user (Debian's package creates it),
else as `nobody`, through `runuser`, and `pgdata/` belongs to that user.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

from .. import errors
from ..corpus import atomic_write_text, exclusive_lock
from .local import default_root, free_port, port_is_free, run_logged, tail

DRIVER_REQUIREMENT = "psycopg2-binary==2.9.9"  # doccano 1.8.4's extra asks for psycopg2-binary ^2.9
DRIVER_STAMP = "vndiplo-postgres-driver.json"
DATABASE_RECORD = "database.json"
SUPERUSER = "doccano"
DATABASE_NAME = "doccano"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_PG_PROGRAMS = ("initdb", "pg_ctl", "pg_dump", "createdb")
_START_TIMEOUT = 60


# --- which database a data folder uses ----------------------------------------------------------


@dataclass(frozen=True)
class DatabaseChoice:
    """A data folder's database: a PostgreSQL URL given by the user, or a private cluster's folder; neither is SQLite."""

    url: str | None = None
    cluster: Path | None = None

    @property
    def is_postgres(self) -> bool:
        return self.url is not None or self.cluster is not None


SQLITE = DatabaseChoice()


def check_database_url(url: str) -> str:
    """A postgresql:// (or postgres://) URL with a host and a database name, as given."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise errors.doccano_bad_database_url(url.split("@")[-1], f"the scheme is {parsed.scheme or 'missing'!r}, not postgresql://")
    if not parsed.hostname or not parsed.path.strip("/"):
        raise errors.doccano_bad_database_url(parsed.hostname or url.split("@")[-1], "it needs a host and a database name: postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    return url


def recorded_database(data_dir: Path) -> DatabaseChoice:
    """The database recorded for the data folder (SQLite when nothing is recorded)."""
    path = data_dir / DATABASE_RECORD
    if not path.exists():
        return SQLITE
    record = json.loads(path.read_text(encoding="utf-8"))
    return DatabaseChoice(record.get("url"), Path(record["cluster"]) if record.get("cluster") else None)


def record_database(data_dir: Path, choice: DatabaseChoice) -> None:
    """Remember the data folder's database (the file is private: a given URL may hold a password)."""
    path = data_dir / DATABASE_RECORD
    if not choice.is_postgres:
        path.unlink(missing_ok=True)
        return
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    record = {"url": choice.url, "cluster": str(choice.cluster.resolve()) if choice.cluster else None}
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    os.chmod(path, 0o600)


def database_url(data_dir: Path) -> str:
    """DATABASE_URL of the data folder's Doccano: SQLite in the folder, the given URL, or the private cluster's."""
    choice = recorded_database(data_dir)
    if choice.cluster is not None:
        return cluster_url(choice.cluster)
    return choice.url or f"sqlite:///{data_dir.resolve() / 'db.sqlite3'}"


def database_key(data_dir: Path) -> str:
    """What identifies the data folder's database (no password): a folder initialised for one is initialised again for another."""
    choice = recorded_database(data_dir)
    if choice.cluster is not None:
        return f"cluster {choice.cluster}"
    return redacted(choice.url) if choice.url else "sqlite"


def redacted(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return url.replace(f":{parsed.password}@", ":***@", 1)


# --- the driver in Doccano's virtualenv -----------------------------------------------------------


def ensure_driver(venv: Path) -> None:
    """psycopg2 in Doccano's virtualenv (installed once; the log is venv/../install-postgres.log)."""
    stamp = venv / DRIVER_STAMP
    if stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")).get("requirement") == DRIVER_REQUIREMENT:
        return
    log = venv.parent / "install-postgres.log"
    with exclusive_lock(venv.parent / "install.lock"), open(log, "w", encoding="utf-8") as out:
        if run_logged([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", DRIVER_REQUIREMENT], out) != 0:
            raise errors.doccano_install_failed(str(venv), str(log), tail(log))
        atomic_write_text(stamp, json.dumps({"requirement": DRIVER_REQUIREMENT}) + "\n")


# --- PostgreSQL's programs --------------------------------------------------------------------------


def postgres_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL bin folder holding initdb, pg_ctl, pg_dump and createdb, else PATH's."""
    import glob

    candidates = sorted((Path(p) for p in glob.glob(PG_BIN_GLOB)), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for folder in candidates:
        if all((folder / name).exists() for name in _PG_PROGRAMS):
            return folder
    found = shutil.which("pg_ctl")
    if found and all(shutil.which(name) for name in _PG_PROGRAMS):
        return Path(found).parent
    return None


def require_bin_dir() -> Path:
    folder = postgres_bin_dir()
    if folder is None:
        raise errors.postgres_missing(PG_BIN_GLOB)
    return folder


def cluster_owner() -> str | None:
    """The user PostgreSQL's server programs run as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise errors.postgres_failed("run as root", "(no log)", "PostgreSQL refuses to run as root and neither a `postgres` nor a `nobody` user exists")


def _as_owner(argv: list[str]) -> list[str]:
    owner = cluster_owner()
    return ["runuser", "-u", owner, "--", *argv] if owner else argv


def _chown_to_owner(path: Path) -> None:
    owner = cluster_owner()
    if owner:
        record = pwd.getpwnam(owner)
        os.chown(path, record.pw_uid, record.pw_gid)


# --- a private cluster --------------------------------------------------------------------------------


def default_cluster_dir() -> Path:
    return default_root() / "postgres"


def _pgdata(cluster: Path) -> Path:
    return cluster / "pgdata"


def _log(cluster: Path) -> Path:
    return cluster / "postgres.log"


def _password(cluster: Path) -> str:
    return (cluster / "password").read_text(encoding="utf-8").strip()


def _port(cluster: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((cluster / "port").read_text(encoding="utf-8"))
    return None


def cluster_url(cluster: Path) -> str:
    """DATABASE_URL of the private cluster (on the port it was last started on)."""
    port = _port(cluster)
    if port is None:
        raise errors.postgres_failed("name the private cluster's port", str(cluster), "it was never started: run `vndiplo doccano serve --postgres`")
    # Doccano asks for TLS unless the URL says `sslmode`; the cluster listens on loopback only and has no certificate.
    return f"postgres://{SUPERUSER}:{quote(_password(cluster), safe='')}@127.0.0.1:{port}/{DATABASE_NAME}?sslmode=disable"


def _run(argv: list[str], what: str, log: Path, *, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    with open(log, "a", encoding="utf-8") as out:
        code = run_logged(argv, out, env=env, cwd=cwd)
    if code != 0:
        raise errors.postgres_failed(what, str(log), tail(log))


def init_cluster(cluster: Path) -> None:
    """`initdb` once: a cluster owned by :func:`cluster_owner`, password login for `doccano`, loopback only, no socket."""
    cluster = cluster.resolve()
    if (_pgdata(cluster) / "PG_VERSION").exists():
        return
    bin_dir = require_bin_dir()
    cluster.mkdir(parents=True, exist_ok=True)
    os.chmod(cluster, 0o755)  # the owner of pgdata/ must reach it; the password file below stays 0600
    owner = cluster_owner()
    if owner and subprocess.run(["runuser", "-u", owner, "--", "test", "-x", str(cluster)], check=False).returncode != 0:
        raise errors.postgres_failed(
            f"give the {owner!r} user access to {cluster}", "(no log)", "a folder above it is closed to other users: choose a --postgres-dir under an open folder"
        )
    if _pgdata(cluster).exists():
        shutil.rmtree(_pgdata(cluster))  # an initdb that was interrupted
    _pgdata(cluster).mkdir(mode=0o700)
    _chown_to_owner(_pgdata(cluster))
    password = secrets.token_urlsafe(24)
    atomic_write_text(cluster / "password", password + "\n")
    os.chmod(cluster / "password", 0o600)
    log = _log(cluster)
    log.touch()
    _chown_to_owner(log)
    with tempfile.TemporaryDirectory(dir=cluster) as scratch:
        pwfile = Path(scratch) / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        for path in (Path(scratch), pwfile):
            _chown_to_owner(path)
        _run(
            _as_owner([
                str(bin_dir / "initdb"), "--pgdata", str(_pgdata(cluster)), "--username", SUPERUSER, "--pwfile", str(pwfile),
                "--auth-host", "scram-sha-256", "--auth-local", "scram-sha-256", "--encoding", "UTF8", "--locale", "C",
            ]),
            "create its private cluster (initdb)", log, cwd=cluster,
        )
    with open(_pgdata(cluster) / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\n# vndiplo: loopback only, TCP only\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n")


def cluster_running(cluster: Path) -> bool:
    cluster = cluster.resolve()
    bin_dir = require_bin_dir()
    if not (_pgdata(cluster) / "postmaster.pid").exists():
        return False
    status = subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "status", "--pgdata", str(_pgdata(cluster))]), capture_output=True, cwd=cluster, check=False)
    return status.returncode == 0


def start_cluster(cluster: Path) -> str:
    """Create (first time) and start the private cluster on a free loopback port; its DATABASE_URL."""
    cluster = cluster.resolve()
    init_cluster(cluster)
    if cluster_running(cluster):
        return cluster_url(cluster)
    bin_dir = require_bin_dir()
    port = _port(cluster)
    if port is None or not port_is_free(port):
        port = free_port()
    atomic_write_text(cluster / "port", f"{port}\n")
    _run(
        _as_owner([
            str(bin_dir / "pg_ctl"), "start", "--pgdata", str(_pgdata(cluster)), "--log", str(_log(cluster)),
            "--wait", "--timeout", str(_START_TIMEOUT), "-o", f"-p {port}",
        ]),
        f"start its private cluster on 127.0.0.1:{port}", _log(cluster), cwd=cluster,
    )
    if not (cluster / "created").exists():
        env = dict(os.environ, PGPASSWORD=_password(cluster))
        _run(
            [str(bin_dir / "createdb"), "--host", "127.0.0.1", "--port", str(port), "--username", SUPERUSER, DATABASE_NAME],
            "create the database doccano", cluster / "createdb.log", env=env,
        )
        atomic_write_text(cluster / "created", DATABASE_NAME + "\n")
    return cluster_url(cluster)


def stop_cluster(cluster: Path) -> None:
    """Stop the private cluster (a fast shutdown: open sessions are closed, committed work is kept)."""
    cluster = cluster.resolve()
    if not (_pgdata(cluster) / "PG_VERSION").exists() or not cluster_running(cluster):
        return
    bin_dir = require_bin_dir()
    _run(_as_owner([str(bin_dir / "pg_ctl"), "stop", "--pgdata", str(_pgdata(cluster)), "--mode", "fast", "--wait"]), "stop its private cluster", _log(cluster), cwd=cluster)


def remove_cluster(cluster: Path) -> None:
    """Stop the cluster and delete its folder (tests, and a restore that failed half-way)."""
    stop_cluster(cluster)
    shutil.rmtree(cluster, ignore_errors=True)


# --- what serve, backup and migrate-db call -----------------------------------------------------


def prepare(venv: Path, data_dir: Path, choice: DatabaseChoice | None = None) -> DatabaseChoice:
    """Record `choice` for the data folder (None: keep the recorded one); install the driver, start a private cluster."""
    if choice is not None:
        if choice.url is not None:
            check_database_url(choice.url)
        record_database(data_dir, choice)
    choice = recorded_database(data_dir)
    if choice.is_postgres:
        ensure_driver(venv)
    if choice.cluster is not None:
        start_cluster(choice.cluster)
    return choice


def stop_private_cluster(data_dir: Path) -> None:
    """Stop the data folder's private cluster, if it has one (after its Doccano has stopped)."""
    choice = recorded_database(data_dir)
    if choice.cluster is not None:
        stop_cluster(choice.cluster)


@contextlib.contextmanager
def database_up(venv: Path, data_dir: Path) -> Iterator[DatabaseChoice]:
    """The data folder's database reachable for the block; a private cluster started here is stopped after it."""
    choice = recorded_database(data_dir)
    was_running = choice.cluster is not None and cluster_running(choice.cluster)
    prepare(venv, data_dir)
    try:
        yield choice
    finally:
        if choice.cluster is not None and not was_running:
            stop_cluster(choice.cluster)


def pg_dump(data_dir: Path, out: Path) -> None:
    """A consistent custom-format dump of the data folder's PostgreSQL database (pg_dump reads one snapshot)."""
    bin_dir = require_bin_dir()
    log = out.with_suffix(".log")
    _run([str(bin_dir / "pg_dump"), "--format", "custom", "--no-owner", "--file", str(out), "--dbname", database_url(data_dir)], "dump the database (pg_dump)", log)
    log.unlink(missing_ok=True)


def database_choice(database: str | None, postgres: bool, postgres_dir: Path | None) -> DatabaseChoice | None:
    """The database asked for on the command line; None keeps the data folder's recorded one."""
    if database and postgres:
        raise errors.VndiploError("--database and --postgres exclude each other", "", "Give a PostgreSQL server with --database, or let vndiplo run one with --postgres.")
    if database:
        return DatabaseChoice(url=check_database_url(database))
    if postgres or postgres_dir:
        return DatabaseChoice(cluster=(postgres_dir or default_cluster_dir()).resolve())
    return None
