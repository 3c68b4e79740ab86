"""Doccano 1.8.4 installed once into its own virtualenv, `.doccano/venv/`.

Doccano 1.8.4 needs old pins (pydantic 2 with `marshmallow<4`, `numpy<2`,
pandas 1.x) that clash with spaCy 3.8, so it never enters the project's
environment. A stamp file records a complete installation; two commands never
install into one folder at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import errors
from ..corpus import atomic_write_text, exclusive_lock
from .local import default_root, run_logged, tail

DOCCANO_VERSION = "1.8.4"
# doccano 1.8.4 declares loose upper bounds; these two releases broke it since.
DOCCANO_REQUIREMENTS = (f"doccano=={DOCCANO_VERSION}", "marshmallow<4", "numpy<2")
_STAMP = "vndiplo-install.json"


@dataclass(frozen=True)
class Installation:
    """A Doccano virtualenv ready to run."""

    venv: Path
    python: Path
    doccano: Path
    gunicorn: Path
    backend: Path  # Doccano's Django project folder (config/, manage.py)


def _stamp_matches(venv: Path) -> dict | None:
    stamp = venv / _STAMP
    if not stamp.exists():
        return None
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return None
    if data.get("requirements") != list(DOCCANO_REQUIREMENTS):
        return None
    if not (Path(data.get("backend", "")) / "config" / "wsgi.py").exists():
        return None
    return data


def _installation(venv: Path, backend: Path) -> Installation:
    bin_dir = venv / "bin"
    return Installation(venv, bin_dir / "python", bin_dir / "doccano", bin_dir / "gunicorn", backend)


def installed(root: Path | None = None) -> Installation | None:
    """The cached installation under `root/venv`, if it is complete."""
    venv = (root or default_root()) / "venv"
    data = _stamp_matches(venv)
    return _installation(venv, Path(data["backend"])) if data else None


def ensure_installed(root: Path | None = None, *, python: str | None = None, progress: Callable[[str], None] | None = None) -> Installation:
    """Install Doccano into `root/venv` unless a complete installation is cached there.

    `python` is the interpreter the virtualenv is built from (default: the one
    running vndiplo, or $VNDIPLO_DOCCANO_PYTHON); Doccano 1.8.4 needs 3.8–3.11.
    pip output goes to `root/install.log`; pip's wheel cache is used as usual.
    `progress` hears that an installation starts (it takes minutes).
    """
    root = root or default_root()
    if progress is not None and installed(root) is None:
        progress(f"Installing Doccano {DOCCANO_VERSION} into {root / 'venv'} (first run only: a few minutes; log in {root / 'install.log'}) …")
    venv = root / "venv"
    with exclusive_lock(root / "install.lock"):
        found = installed(root)
        if found:
            return found
        log = root / "install.log"
        python = python or os.environ.get("VNDIPLO_DOCCANO_PYTHON") or sys.executable
        if venv.exists():
            import shutil

            shutil.rmtree(venv)  # an interrupted installation: start again
        with open(log, "w", encoding="utf-8") as out:
            steps = [
                [python, "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", *DOCCANO_REQUIREMENTS],
            ]
            for step in steps:
                if run_logged(step, out) != 0:
                    raise errors.doccano_install_failed(str(venv), str(log), tail(log))
        probe = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import os, backend; print(os.path.dirname(backend.__file__))"],
            capture_output=True, text=True, check=False,
        )
        backend = Path(probe.stdout.strip())
        if probe.returncode != 0 or not (backend / "config" / "wsgi.py").exists():
            raise errors.doccano_install_failed(str(venv), str(log), probe.stderr[-2000:] or "doccano's backend package is missing")
        stamp = {"requirements": list(DOCCANO_REQUIREMENTS), "backend": str(backend), "python": python}
        atomic_write_text(venv / _STAMP, json.dumps(stamp, indent=2) + "\n")
        return _installation(venv, backend)
