"""A local Doccano 1.8.4 server in its own virtualenv, on 127.0.0.1 only.

Doccano 1.8.4 needs old pins (pydantic 2 with `marshmallow<4`, `numpy<2`,
pandas 1.x) that clash with spaCy 3.8, so it never enters the project's
environment: it is installed once into `.doccano/venv/` and its data (SQLite
database, uploads, logs, the state of a running server) live in
`.doccano/data/`. The server is Doccano's own two processes: the web server
(gunicorn with the options of `doccano webserver`, but bound to 127.0.0.1:
`doccano webserver` itself always binds 0.0.0.0) and the task worker
(`doccano task`, which runs imports and exports).

Functions here are silent and raise :class:`VndiploError`; passwords go to
Doccano through the environment of a child process, never through a file or
a command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from .. import errors
from ..corpus import atomic_write_text
from .install import DOCCANO_VERSION, Installation, ensure_installed
from .local import DEFAULT_PORT, HOST, alive, default_data_dir, default_root, port_is_free, run_logged, stop_group, tail
from .postgres import DatabaseChoice, database_key, database_url, prepare, stop_private_cluster
from .team import TEAM_SETTINGS_MODULE, TeamMode, check_admin_password, check_secret_key, team_settings_text

if TYPE_CHECKING:
    from .team import TeamMode

DEFAULT_WORKERS = 3
HEALTH_PATH = "v1/health/"
START_TIMEOUT = 180.0
_STATE = "server.json"
# What celery writes to the task worker's log once it takes tasks.
_TASK_WORKER_READY = " ready."
_INIT_STAMP = ".vndiplo-initialised"


# --- the data folder and the admin account ----------------------------------------------


# Doccano 1.8.4's settings answer any Host header (ALLOWED_HOSTS = ["*"], not read from the
# environment) and fall back to a SECRET_KEY published in its source. vndiplo's settings module,
# written into the data folder, keeps Doccano's production settings and allows loopback names only;
# the secret key is made once per data folder and read from a file only the owner can read.
SETTINGS_MODULE = "vndiplo_doccano_settings"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_SETTINGS_TEXT = (
    '"""Written by vndiplo: Doccano\'s production settings, answering loopback host names only."""\n'
    "from config.settings.production import *  # noqa: F401,F403\n\n"
    f"ALLOWED_HOSTS = {list(LOOPBACK_HOSTS)!r}\n"
)
_SECRET_KEY_FILE = "secret_key"
_PRIVATE_DIR, _PRIVATE_FILE, _PRIVATE_UMASK = 0o700, 0o600, 0o077


def make_private(data_dir: Path) -> None:
    """The data folder and everything in it readable by its owner only (database, logs, uploads, key)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for folder, _subfolders, files in os.walk(data_dir):
        os.chmod(folder, _PRIVATE_DIR)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                os.chmod(path, _PRIVATE_FILE)


def private_log(path: Path):
    """A log file opened for appending, created readable by its owner only."""
    path.parent.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _PRIVATE_FILE), "a", encoding="utf-8")


def secret_key(data_dir: Path) -> str:
    """This data folder's Django secret key, made on first use and kept in a file of mode 0600."""
    import secrets
    import tempfile

    path = data_dir / _SECRET_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor, written = tempfile.mkstemp(dir=data_dir, prefix=f".{_SECRET_KEY_FILE}.")  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(50) + "\n")
            with contextlib.suppress(FileExistsError):  # two commands at once: the first key linked in stays
                os.link(written, path)
        finally:
            os.unlink(written)
    return path.read_text(encoding="utf-8").strip()


def doccano_env(data_dir: Path, team: TeamMode | None = None) -> dict[str, str]:
    """Environment of every Doccano process: the data folder, its database, vndiplo's settings, its secret key, no debug.

    A team server (`team`) gets its own settings module, so that commands run
    beside it (createuser, backups) never rewrite the module its web workers load.
    """

    env = dict(os.environ)
    for name in ("DOCCANO_USERNAME", "DOCCANO_PASSWORD", "DOCCANO_URL"):
        env.pop(name, None)  # vndiplo's own variables are none of Doccano's business
    data_dir = data_dir.resolve()
    settings_dir = data_dir / "settings"
    settings_module, settings_text = (TEAM_SETTINGS_MODULE, team_settings_text(team)) if team else (SETTINGS_MODULE, _SETTINGS_TEXT)
    settings_file = settings_dir / f"{settings_module}.py"
    if not settings_file.exists() or settings_file.read_text(encoding="utf-8") != settings_text:
        settings_dir.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
        atomic_write_text(settings_file, settings_text)
    env.update(
        DOCCANO_HOME=str(data_dir),
        DATABASE_URL=database_url(data_dir),
        MEDIA_ROOT=str(data_dir / "media"),
        STANDALONE="True",
        DEBUG="False",
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=os.pathsep.join(filter(None, [str(settings_dir), env.get("PYTHONPATH")])),
        SECRET_KEY=secret_key(data_dir),
        PYTHONUNBUFFERED="1",
    )
    return env


def _run_doccano(installation: Installation, data_dir: Path, argv: list[str], log: Path, extra_env: dict | None = None) -> None:
    """Run one `doccano` subcommand to completion; the password arrives through the environment."""
    env = doccano_env(data_dir)
    env.update(extra_env or {})
    # `doccano createuser` only takes the password as an argument: build argv inside the child
    # from the environment so that it never shows in the process list.
    script = (
        "import os, sys; "
        "sys.argv = ['doccano'] + [os.environ.get(a[1:], '') if a.startswith('$') else a for a in sys.argv[1:]]; "
        "from backend.cli import main; main()"
    )
    with private_log(log) as out:
        code = run_logged([str(installation.python), "-c", script, *argv], out, shown="doccano " + " ".join(argv), env=env, umask=_PRIVATE_UMASK)
    if code != 0:
        raise errors.doccano_start_failed(f"`doccano {argv[0]}`", str(log), tail(log))


def initialise(installation: Installation, data_dir: Path, *, username: str, password: str, email: str = "admin@example.com") -> None:
    """`doccano init` once per data folder, then `doccano createuser` (which also resets the password)."""
    make_private(data_dir)
    log = data_dir / "logs" / "init.log"
    initialised = f"{DOCCANO_VERSION}\n{database_key(data_dir)}\n"  # a data folder moved to another database is initialised there too
    stamp = data_dir / _INIT_STAMP
    if not stamp.exists() or stamp.read_text(encoding="utf-8") != initialised:
        _run_doccano(installation, data_dir, ["init"], log)
        atomic_write_text(stamp, initialised)
    _run_doccano(
        installation, data_dir,
        ["createuser", "--username", "$VNDIPLO_ADMIN_USER", "--password", "$VNDIPLO_ADMIN_PASSWORD", "--email", email],
        log, {"VNDIPLO_ADMIN_USER": username, "VNDIPLO_ADMIN_PASSWORD": password},
    )


# --- running -----------------------------------------------------------------------------


def health(url: str, timeout: float = 10.0) -> dict | None:
    """Doccano's health report (web, database, task worker), or None when it does not answer OK."""
    try:
        response = requests.get(url.rstrip("/") + "/" + HEALTH_PATH, headers={"Accept": "application/json"}, timeout=timeout)
    except requests.RequestException:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


@dataclass
class Server:
    """A running Doccano: the web server and the task worker, each leading its own process group."""

    url: str
    port: int
    data_dir: Path
    web: subprocess.Popen | None = field(default=None, repr=False)
    task: subprocess.Popen | None = field(default=None, repr=False)
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def logs(self) -> dict[str, Path]:
        return {"webserver": self.data_dir / "logs" / "webserver.log", "task": self.data_dir / "logs" / "task.log"}

    @property
    def state_file(self) -> Path:
        return self.data_dir / _STATE

    def record(self) -> None:
        """Write the state file that `read_state` (status, stop, a second serve) finds this server by."""
        atomic_write_text(self.state_file, json.dumps({"url": self.url, "port": self.port, "pids": self.pids}, indent=2) + "\n")

    def dead(self) -> str | None:
        """The name of a process that has exited, if any."""
        for key, name in (("web", "web server"), ("task", "task worker")):
            process = getattr(self, key)
            if process is not None:
                if process.poll() is not None:
                    return name
            elif key in self.pids and not alive(self.pids[key]):
                return name
        return None

    def stop(self) -> None:
        """Stop both processes (SIGTERM, then SIGKILL after a grace period) and forget the state."""
        for pid in self.pids.values():
            stop_group(pid)
        for process in (self.web, self.task):
            if process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=1)
        if self.state_file.exists():
            with contextlib.suppress(json.JSONDecodeError, OSError):
                if json.loads(self.state_file.read_text(encoding="utf-8")).get("pids") == self.pids:
                    self.state_file.unlink()
        stop_private_cluster(self.data_dir)

    def wait(self, poll: float = 0.5) -> str:
        """Block until one of the two processes exits; return its name."""
        while True:
            name = self.dead()
            if name:
                return name
            time.sleep(poll)


def _read_from(log: Path, offset: int) -> str:
    """What a log holds past `offset` (the part this run wrote), or nothing yet."""
    try:
        with open(log, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _wait_until(server: Server, ready: Callable[[], bool], not_ready: str, log: Path, deadline: float, poll: float) -> None:
    """Poll `ready` until it holds; a process that exits, or the deadline passing, ends the start with the log that says why."""
    while not ready():
        name = server.dead()
        if name:
            died_log = server.logs["webserver" if name == "web server" else "task"]
            raise errors.doccano_start_failed(name, str(died_log), tail(died_log))
        if time.monotonic() > deadline:
            raise errors.doccano_start_failed(not_ready, str(log), tail(log))
        time.sleep(poll)


def _spawn(argv: list[str], env: dict, log: Path, cwd: Path | None = None) -> subprocess.Popen:
    with private_log(log) as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} $ {' '.join(argv)}\n")
        out.flush()
        # A session of its own: Ctrl-C in the terminal reaches vndiplo only, which then stops
        # the whole group (gunicorn's and celery's worker children included).
        return subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True, umask=_PRIVATE_UMASK
        )


def read_state(data_dir: Path | None = None) -> Server | None:
    """The server recorded in the data folder, if its processes still run."""
    data_dir = data_dir or default_data_dir()
    path = data_dir / _STATE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        server = Server(state["url"], int(state["port"]), data_dir, pids={k: int(v) for k, v in state["pids"].items()})
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, OSError):
        path.unlink(missing_ok=True)
        return None
    if not any(alive(pid) for pid in server.pids.values()):
        path.unlink(missing_ok=True)
        return None
    return server


def refuse_if_running(data_dir: Path) -> None:
    """One server per data folder: name the running one instead of starting a second."""
    running = read_state(data_dir)
    if running is not None:
        raise errors.doccano_already_running(running.url, str(running.state_file))


def start(
    installation: Installation,
    data_dir: Path,
    *,
    port: int = DEFAULT_PORT,
    workers: int = DEFAULT_WORKERS,
    timeout: float = START_TIMEOUT,
    team: TeamMode | None = None,
) -> Server:
    """Start the web server and the task worker on 127.0.0.1:`port`; return once /v1/health/ answers.

    The health check covers the database and a round trip through the task
    worker, so a returned server can import and export. A team server binds
    `team.bind` instead, and refuses to start with a weak secret key.
    """
    refuse_if_running(data_dir)
    make_private(data_dir)  # a data folder from before vndiplo kept it private, or files copied in
    bind = team.bind if team else HOST
    local = HOST if bind in ("0.0.0.0", "::") else bind  # where this computer reaches the server
    try:
        if not port_is_free(port, bind):
            answer = "a Doccano server answers there" if health(f"http://{local}:{port}", timeout=3) else "another program listens there"
            raise errors.doccano_port_in_use(port, answer)
        env = doccano_env(data_dir, team)
        if team:
            check_secret_key(env["SECRET_KEY"])
    except BaseException:
        stop_private_cluster(data_dir)  # a private PostgreSQL started for this server
        raise
    url = f"http://{local}:{port}"
    server = Server(url, port, data_dir)
    task_log, web_log = server.logs["task"], server.logs["webserver"]
    # The task worker starts first, and the web server once the worker is ready: on a fresh
    # PostgreSQL database the worker creates the task queue's tables, and the web server's first
    # health check (a task sent through that queue) would create them at the same moment, so
    # that one of the two failed on a table the other had just made.
    task_log_start = task_log.stat().st_size if task_log.exists() else 0
    server.task = _spawn([str(installation.doccano), "task", "--concurrency", "1"], env, task_log)
    server.pids = {"task": server.task.pid}
    deadline = time.monotonic() + timeout
    try:
        server.record()
        _wait_until(
            server, lambda: _TASK_WORKER_READY in _read_from(task_log, task_log_start),
            f"task worker (not ready after {timeout:.0f} s)", task_log, deadline, poll=0.2,
        )
        server.web = _spawn(
            [
                str(installation.gunicorn), "--bind", f"{bind}:{port}", "--workers", str(workers),
                "--chdir", str(installation.backend), "--capture-output", "--log-level", "info",
                "--timeout", "120", "config.wsgi",
            ],
            env, web_log, cwd=installation.backend,
        )
        server.pids = {"web": server.web.pid, "task": server.task.pid}
        server.record()
        _wait_until(
            server, lambda: health(url, timeout=10) is not None,
            f"web server (no healthy answer from {url}/{HEALTH_PATH} after {timeout:.0f} s)", web_log, deadline, poll=0.5,
        )
    except BaseException:
        server.stop()
        raise
    return server


def serve(
    *,
    username: str,
    password: str,
    port: int = DEFAULT_PORT,
    workers: int = DEFAULT_WORKERS,
    root: Path | None = None,
    data_dir: Path | None = None,
    email: str = "admin@example.com",
    team: TeamMode | None = None,
    database: DatabaseChoice | None = None,
    progress: Callable[[str], None] | None = None,
) -> Server:
    """Install (or reuse) Doccano, prepare its database, initialise the data folder, create the admin, start both processes.

    `database` None keeps the data folder's recorded database (SQLite at first).
    `progress` hears what is about to happen at each slow step.
    """
    say = progress or (lambda message: None)
    root = root or default_root()
    data_dir = data_dir or root / "data"
    refuse_if_running(data_dir)
    if team:
        check_admin_password(username, password)
    installation = ensure_installed(root, progress=say)
    say(f"Preparing the database in {data_dir} and the admin user {username!r} …")
    try:
        prepare(installation.venv, data_dir, database)
        initialise(installation, data_dir, username=username, password=password, email=email)
    except BaseException:
        stop_private_cluster(data_dir)
        raise
    say(f"Starting the web server and the task worker on {team.bind if team else HOST}:{port} …")
    return start(installation, data_dir, port=port, workers=workers, team=team)


def stop(data_dir: Path | None = None) -> Server | None:
    """Stop the server recorded in the data folder; None when none runs."""
    server = read_state(data_dir)
    if server is None:
        return None
    server.stop()
    (server.data_dir / _STATE).unlink(missing_ok=True)
    return server

