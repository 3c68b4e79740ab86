"""What every command shares: wasabi messages, one error handler and the progress bars.

Library functions are silent and raise :class:`VndiploError`; here those become
a red title, the detail and the next step on stderr, and exit code 1.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from wasabi import Printer, msg

from ..errors import VndiploError, file_system

Command = TypeVar("Command", bound=Callable[..., Any])
_errors = Printer(no_print=True)

__all__ = ["msg", "reports_errors", "ProgressBar", "PredictionProgress"]


def fail(error: VndiploError) -> None:
    typer.echo(_errors.fail(error.title), err=True)
    if error.detail:
        typer.echo(error.detail, err=True)
    if error.next_step:
        typer.echo(error.next_step, err=True)
    raise typer.Exit(1)


def reports_errors(command: Command) -> Command:
    """Turn a VndiploError raised by the library into one clear message and exit 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except VndiploError as error:
            fail(error)
        except OSError as error:  # a folder where a file belongs, a read-only folder: atomic writes left nothing behind
            fail(file_system(error))

    return wrapper  # type: ignore[return-value]


class ProgressBar:
    """A tqdm progress bar on stderr, created at the first report of progress; pass it as `progress(done, total)`.

    Work that fails before it reports anything (a missing input) draws no bar. A total of
    None is work of unknown size: the bar counts without an end. Use it in a `with` block,
    which closes the bar however the work ends.
    """

    def __init__(self, description: str, unit: str = "doc", *, unit_scale: bool = False) -> None:
        self.description = description
        self.unit = unit
        self.unit_scale = unit_scale
        self.bar: Any = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.description, unit=self.unit, unit_scale=self.unit_scale, file=sys.stderr, leave=True)
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


class PredictionProgress:
    """A tqdm bar of documents (total counted beforehand) with the words per second; `progress(documents, words)`."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="predicting", unit="doc", file=sys.stderr, smoothing=0.1)
        self.started = time.perf_counter()

    def __call__(self, documents: int, words: int) -> None:
        self.bar.update(documents - self.bar.n)
        elapsed = time.perf_counter() - self.started
        self.bar.set_postfix_str(f"{words / elapsed if elapsed else 0:,.0f} words/s", refresh=False)

    def __enter__(self) -> PredictionProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
