"""The `vndiplo` command line: a thin typer layer over the library.

Each command parses options, calls one library function and prints its
report. Library functions are silent and raise :class:`VndiploError`; here
those become a red title, the detail, the next step and exit code 1.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import List, Optional

import typer

from .errors import VndiploError

app = typer.Typer(
    name="vndiplo",
    help="Vietnamese diplomatic NER: corpus, Doccano annotation, dataset, training and evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Vietnamese diplomatic NER: corpus, Doccano annotation, dataset, training and evaluation."""


def fail(error: VndiploError) -> None:
    typer.secho(f"✘ {error.title}", fg=typer.colors.RED, err=True, bold=True)
    if error.detail:
        typer.echo(error.detail, err=True)
    if error.next_step:
        typer.echo(error.next_step, err=True)
    raise typer.Exit(1)


def reports_errors(command):
    """Turn a VndiploError raised by the library into one clear message and exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except VndiploError as error:
            fail(error)

    return wrapper


def info(message: str) -> None:
    typer.echo(message)


def good(message: str) -> None:
    typer.secho(f"✔ {message}", fg=typer.colors.GREEN)


def warn(message: str) -> None:
    typer.secho(f"⚠ {message}", fg=typer.colors.YELLOW)


@app.command("ingest")
@reports_errors
def ingest_cli(
    sources: List[Path] = typer.Argument(..., help="Article files (.txt, .jsonl) or folders holding them."),
    out: Path = typer.Option(Path("corpus/docs.jsonl"), "--out", "-o", help="Corpus JSONL to write (atomically)."),
    source: Optional[str] = typer.Option(None, "--source", "-s", help="Source name for every document (default: the folder name)."),
):
    """Normalise articles into a corpus JSONL with stable ids, hashes and a report."""
    from .corpus import ingest, write_corpus

    report = ingest(sources, source=source)
    write_corpus(report.documents, out)
    for doc_id, line in report.removed_lines:
        info(f"  removed boilerplate in {doc_id}: {line!r}")
    for dropped, kept in report.exact_duplicates:
        warn(f"exact duplicate: {dropped} has the same text as {kept}; kept {kept} only")
    for first, second, score in report.near_duplicates:
        warn(f"near duplicate: {first} ~ {second} (shingle similarity {score:.2f})")
    good(f"Wrote {out}")
    info(
        f"documents: {len(report.documents)}  words: {report.words}  "
        f"lines removed: {len(report.removed_lines)}  "
        f"duplicates: {len(report.exact_duplicates)} exact, {len(report.near_duplicates)} near"
    )


def main() -> None:
    app()
