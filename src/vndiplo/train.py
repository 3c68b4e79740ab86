"""Training: spaCy's own training loop on the dataset's DocBin files.

Training examples are paragraphs, not whole articles: the batcher counts
words, and a 2,000-word article would otherwise be one update. Evaluation
always runs on whole documents.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

from . import errors
from .annotations import AnnotatedDoc
from .dataset import paragraphs, read_docbin, write_docbin

DEFAULT_CONFIG = Path("configs/ner.cfg")


def write_training_docbin(docs: list[AnnotatedDoc], path: Path) -> Path:
    write_docbin([piece for doc in docs for piece in paragraphs(doc)], path)
    return path


def train_model(
    train_docs: list[AnnotatedDoc],
    dev_docs: list[AnnotatedDoc],
    output: Path,
    *,
    config: Path = DEFAULT_CONFIG,
    overrides: dict | None = None,
    quiet: bool = False,
) -> Path:
    """Train from a config; returns the output folder with model-best and model-last.

    `quiet` hides spaCy's progress table (cross-validation shows its own bar).
    """
    from spacy.cli.train import train as spacy_train

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
    sink = io.StringIO()
    redirect = (contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink)) if quiet else ()
    with contextlib.ExitStack() as stack:
        for context in redirect:
            stack.enter_context(context)
        spacy_train(config, output, use_gpu=-1, overrides=settings)
    return output


def train_from_corpus(corpus: Path, output: Path, *, config: Path = DEFAULT_CONFIG, overrides: dict | None = None) -> Path:
    """Train on `corpus/train.spacy`, select on `corpus/dev.spacy`."""
    train_docs = read_docbin(corpus / "train.spacy")
    dev_path = corpus / "dev.spacy"
    dev_docs = read_docbin(dev_path) if dev_path.exists() else []
    return train_model(train_docs, dev_docs, output, config=config, overrides=overrides)
