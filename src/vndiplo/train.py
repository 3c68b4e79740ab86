"""Training: spaCy's own training loop on the dataset's DocBin files.

Training examples are paragraphs, not whole articles: the batcher counts
words, and a 2,000-word article would otherwise be one update. Evaluation
always runs on whole documents.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from . import errors
from .annotations import AnnotatedDoc, Span
from .dataset import read_docbin, require_settled, write_docbin
from .paths import CONFIG


def paragraphs(annotated: AnnotatedDoc) -> list[AnnotatedDoc]:
    """The document cut at line breaks, spans re-based: shorter training examples.

    A span that crossed a line break would keep its document whole; the spec's
    spans never do, but nothing is dropped if one ever does.
    """
    pieces, start = [], 0
    for line in annotated.text.split("\n"):
        end = start + len(line)
        pieces.append((start, end))
        start = end + 1
    if any(not any(s <= span.start and span.end <= e for s, e in pieces) for span in annotated.spans):
        return [annotated]
    return [
        AnnotatedDoc(
            f"{annotated.id}#{number}",
            annotated.text[s:e],
            [Span(span.start - s, span.end - s, span.label) for span in annotated.spans if s <= span.start and span.end <= e],
        )
        for number, (s, e) in enumerate(pieces)
        if e > s
    ]


def write_training_docbin(docs: list[AnnotatedDoc], path: Path) -> Path:
    write_docbin([piece for doc in docs for piece in paragraphs(doc)], path)
    return path


def train_model(
    train_docs: list[AnnotatedDoc],
    dev_docs: list[AnnotatedDoc],
    output: Path,
    *,
    config: Path = CONFIG,
    overrides: dict | None = None,
    quiet: bool = False,
) -> Path:
    """Train from a config; returns the output folder with model-best and model-last.

    `quiet` hides spaCy's progress table (cross-validation shows its own bar). A training multiplies
    on one BLAS thread, as it did on blis (`cpu_ops.one_blas_thread`), so trainings side by side
    (`train_all`) do not fight over the cores.
    """
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_nlp
    from spacy.util import load_config
    from thinc.api import ConfigValidationError

    from .cpu_ops import one_blas_thread
    from .entity_ids import KnowledgeBaseError

    if not config.exists():
        raise errors.missing_file(str(config), "Training config", "Run from the project folder or pass --config.")
    if not train_docs:
        raise errors.VndiploError("No training documents", "", "Build the dataset first: vndiplo dataset annotations/gold/ --out corpus/")
    corpus_dir = output / "corpus"
    train_path = write_training_docbin(train_docs, corpus_dir / "train.spacy")
    dev_path = write_training_docbin(dev_docs or train_docs, corpus_dir / "dev.spacy")
    settings = {"paths.train": str(train_path), "paths.dev": str(dev_path)}
    settings.update(overrides or {})
    for name in ("model-best", "model-last"):
        shutil.rmtree(output / name, ignore_errors=True)
    try:
        nlp = init_nlp(load_config(config, overrides=settings, interpolate=False))
    except ConfigValidationError as error:
        raise errors.VndiploError(f"The training config {config} does not validate", str(error), "Fix the config or the --set/override named above.") from None
    except KnowledgeBaseError as error:
        raise errors.bad_knowledge_base(str(error)) from None
    sink = io.StringIO() if quiet else None
    with one_blas_thread():
        train_nlp(nlp, output, stdout=sink or sys.stdout, stderr=sink or sys.stderr)
    return output


def train_from_corpus(corpus: Path, output: Path, *, config: Path = CONFIG, overrides: dict | None = None) -> Path:
    """Train on `corpus/train.spacy`, select on `corpus/dev.spacy`."""
    require_settled(corpus)
    train_docs = read_docbin(corpus / "train.spacy")
    dev_path = corpus / "dev.spacy"
    dev_docs = read_docbin(dev_path) if dev_path.exists() else []
    return train_model(train_docs, dev_docs, output, config=config, overrides=overrides)


class TrainingJob(NamedTuple):
    """One `train_model` call, picklable so that a worker process can run it."""

    train_docs: list[AnnotatedDoc]
    dev_docs: list[AnnotatedDoc]
    output: Path
    config: Path
    overrides: dict | None


def _run_job(job: TrainingJob) -> Path:
    return train_model(job.train_docs, job.dev_docs, job.output, config=job.config, overrides=job.overrides, quiet=True)


def train_all(jobs: list[TrainingJob], *, processes: int = 1, progress=None) -> None:
    """Run training jobs, `processes` at a time (each spaCy training keeps about one core busy).

    `progress(done, total)` is called as each one finishes.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with contextlib.ExitStack() as stack:
        if processes > 1:
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork")))
            finished: Iterator[Path] = (future.result() for future in as_completed([pool.submit(_run_job, job) for job in jobs]))
        else:
            finished = map(_run_job, jobs)
        for done, _ in enumerate(finished, start=1):
            if progress:
                progress(done, len(jobs))
