"""Where Doccano lives on this computer, and the process plumbing its parts share.

`.doccano/` in the project folder holds Doccano's virtualenv, its data folder and
any private PostgreSQL; the installer, the server and the PostgreSQL cluster all
need the same small tools: a step run with its output in a log and the
tail of that log, free ports on loopback, and stopping a process group
they started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TextIO

from ..paths import project_dir

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
STOP_TIMEOUT = 20.0


def default_root() -> Path:
    """`.doccano/` in the project folder (git-ignored): the virtualenv and the data."""
    return project_dir() / ".doccano"


def default_data_dir() -> Path:
    return default_root() / "data"


def run_logged(
    argv: list[str], log: TextIO, *, shown: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None, umask: int = -1
) -> int:
    """Run `argv` to its end, its output appended to `log` after a `$ command` line; its exit code.

    Every step of installing, initialising and running Doccano and PostgreSQL leaves its command and
    its output in a log, so that an error can quote the log's tail (:func:`tail`). `shown` stands for
    the command line where argv holds a script. A program that cannot be started counts as a failed
    step (exit code -1, the reason in the log), not as an exception.
    """
    log.write(f"$ {shown or ' '.join(argv)}\n")
    log.flush()
    try:
        return subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, umask=umask, check=False).returncode
    except OSError as exc:
        log.write(f"{exc}\n")
        log.flush()
        return -1


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now (for tests and throw-away servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def stop_group(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """Stop the process group led by `pid` (a process we started in its own session)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            if not alive(pid):
                return
            time.sleep(0.1)
