"""Training: spaCy's own training loop on the dataset's DocBin files.

Training examples are paragraphs, not whole articles: the batcher counts
words, and a 2,000-word article would otherwise be one update. Evaluation
always runs on whole documents.
"""

from __future__ import annotations

import contextlib
import io
import random
import shutil
from pathlib import Path
from typing import NamedTuple

from spacy.util import registry

from . import errors
from .annotations import AnnotatedDoc
from .dataset import paragraphs, read_docbin, require_settled, write_docbin

DEFAULT_CONFIG = Path("configs/ner.cfg")


def mention_pool(docs, gazetteer: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Surface forms per label: entity texts of the training docs, plus gazetteer names."""
    pool: dict[str, set[str]] = {}
    for doc in docs:
        for ent in doc.ents:
            pool.setdefault(ent.label_, set()).add(ent.text)
    for surface, label in (gazetteer or {}).items():
        pool.setdefault(label, set()).add(surface)
    return {label: sorted(surfaces) for label, surfaces in pool.items()}


def swap_mentions(text: str, entities: list[tuple[int, int, str]], pool: dict[str, list[str]], rng: random.Random, labels: set[str]) -> tuple[str, list[tuple[int, int, str]]]:
    """The text with each entity of `labels` replaced by a random mention of the same label; new offsets."""
    pieces, new_entities, cursor, shift = [], [], 0, 0
    for start, end, label in sorted(entities):
        surface = text[start:end]
        if label in labels and pool.get(label):
            surface = rng.choice(pool[label])
        pieces.append(text[cursor:start])
        new_start = start + shift
        pieces.append(surface)
        new_entities.append((new_start, new_start + len(surface), label))
        shift += len(surface) - (end - start)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), new_entities


@registry.augmenters("vndiplo.mention_swap.v1")
def create_mention_swap(path: str, level: float, labels: list[str], gazetteer: str | None = None):
    """Mention replacement (Dai & Adel, 2020): copies of training paragraphs with names swapped.

    Each entity of `labels` is replaced by another surface form of its label,
    drawn from the training corpus (`path`) and the project gazetteer. The
    model sees familiar contexts around unfamiliar names, so it must learn the
    context rather than a name list: what held-out news needs.
    """
    from spacy.tokens import DocBin
    from spacy.training import Example

    if gazetteer is not None and not Path(gazetteer).exists():
        raise errors.missing_file(gazetteer, "Gazetteer of the mention-swap augmenter", "Run from the project folder, or set corpora.train.augmenter.gazetteer in the config.")
    state: dict = {}
    rng = random.Random(0)

    def augment(nlp, example):
        yield example
        if rng.random() >= level or not example.reference.ents:
            return
        if "pool" not in state:
            from .evaluate import read_gazetteer

            docs = DocBin().from_disk(path).get_docs(nlp.vocab)
            state["pool"] = mention_pool(docs, read_gazetteer(Path(gazetteer)) if gazetteer else None)
        reference = example.reference
        text, entities = swap_mentions(reference.text, [(e.start_char, e.end_char, e.label_) for e in reference.ents], state["pool"], rng, set(labels))
        gold = nlp.make_doc(text)
        spans = [gold.char_span(start, end, label) for start, end, label in entities]
        if all(span is not None for span in spans):  # a swapped name that splits differently is skipped
            gold.ents = spans
            yield Example(nlp.make_doc(text), gold)

    return augment


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
    sink = io.StringIO()
    redirect = (contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink)) if quiet else ()
    with contextlib.ExitStack() as stack:
        for context in redirect:
            stack.enter_context(context)
        try:
            spacy_train(config, output, use_gpu=-1, overrides=settings)
        except KnowledgeBaseError as error:
            raise errors.bad_knowledge_base(str(error)) from None
    return output


def train_from_corpus(corpus: Path, output: Path, *, config: Path = DEFAULT_CONFIG, overrides: dict | None = None) -> Path:
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
            finished = (future.result() for future in as_completed([pool.submit(_run_job, job) for job in jobs]))
        else:
            finished = map(_run_job, jobs)
        for done, _ in enumerate(finished, start=1):
            if progress:
                progress(done, len(jobs))
