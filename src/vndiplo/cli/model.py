"""Commands of the model stages: train, evaluate, cross-validate, replay the loop, predict, render, package, benchmark.

Training commands take config overrides as `--set section.key=value` (repeatable; e.g.
`--set training.max_steps=200`, `--set paths.vectors=null`), read by spaCy's own override parser.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from .. import paths
from ..errors import VndiploError, missing_file
from ..stream import BATCH_WORDS
from .common import PredictionProgress, ProgressBar, msg, reports_errors

SET_HELP = "Override a setting of the training config, SECTION.KEY=VALUE as in spaCy's CLI (repeatable), e.g. training.max_steps=200."


def config_overrides(settings: list[str], seed: int | None = None) -> dict:
    """`--set section.key=value` options as config overrides, parsed as spaCy's CLI parses its own."""
    from weasel.util.config import parse_config_overrides

    malformed = [setting for setting in settings if "=" not in setting or "." not in setting.partition("=")[0]]
    if malformed:
        raise VndiploError(f"--set takes SECTION.KEY=VALUE, not {malformed[0]!r}", "", "For example: --set training.max_steps=200 --set paths.vectors=null")
    overrides = parse_config_overrides([f"--{setting}" for setting in settings])
    return {"system.seed": seed, **overrides} if seed is not None else overrides


@reports_errors
def train_cli(
    corpus: Path = typer.Argument(paths.CORPUS, help="Folder with train.spacy and dev.spacy from `vndiplo dataset`."),
    output: Path = typer.Option(paths.TRAINING, "--output", "-o", help="Writes model-best and model-last here."),
    config: Path = typer.Option(paths.CONFIG, "--config", "-c", help="spaCy training config (settings overridable with --set)."),
    settings: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Train the spaCy NER pipeline on CPU, showing spaCy's progress table."""
    from ..train import train_from_corpus

    train_from_corpus(corpus, output, config=config, overrides=config_overrides(settings))
    msg.good(f"Trained: {output}/model-best and {output}/model-last")


@reports_errors
def evaluate_cli(
    model: Path = typer.Argument(paths.MODEL, help="Trained pipeline folder."),
    data: list[Path] | None = typer.Argument(None, help="Gold to score on: .spacy DocBin or gold JSONL (default corpus/test.spacy)."),
    output: Path = typer.Option(paths.EVALUATION, "--output", "-o", help="Folder for scores.json, report.md, confusion.png."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Also score the gazetteer (from corpus/train.spacy) and underthesea."),
    train_data: Path = typer.Option(paths.TRAIN_DOCBIN, "--train-data", help="Training gold for the gazetteer baseline."),
    disable: list[str] = typer.Option([], "--disable", help="Pipeline component to leave out (repeatable), e.g. date_rules, to measure what it adds."),
) -> None:
    """Strict per-label P/R/F1, coarse scores, confusion matrix and errors, as JSON, Markdown and PNG."""
    from ..dataset import read_docbin
    from ..evaluate import evaluate, read_gold
    from ..model import load
    from ..reports import coarse_table, scores_table, write_reports

    gold = read_gold(data or [paths.TEST_DOCBIN])
    result = evaluate(load(model, disable=tuple(disable)), gold, train_docs=read_docbin(train_data) if baselines else None)
    written = write_reports(result.model, output, f"Evaluation of {model} on {len(gold)} documents", {**result.extra(), "model": str(model), "disabled": disable})
    typer.echo(scores_table(result.model) + "\n\n" + coarse_table(result.model))
    comparison = result.comparison()
    if comparison:
        typer.echo("\n| score | model | gazetteer | underthesea |\n|---|---|---|---|")
        for name, ours, gazetteer, underthesea in comparison:
            typer.echo(f"| {name} | {ours:.3f} | {gazetteer:.3f} | {'—' if underthesea is None else f'{underthesea:.3f}'} |")
    msg.good(f"Reports: {written['markdown']}, {written['json']}, {written['png']}")


@reports_errors
def crossval_cli(
    gold: list[Path] = typer.Argument(..., help="Gold JSONL files or folders."),
    folds: int = typer.Option(5, "--folds", "-k", min=0, help="Number of document folds (0: no cross-validation, only the --news-test model)."),
    output: Path = typer.Option(paths.CROSSVAL, "--output", "-o", help="Folder for crossval.json, report.md, learning_curve.png."),
    config: Path = typer.Option(paths.CONFIG, "--config", "-c", help="spaCy training config (settings overridable with --set)."),
    seed: int = typer.Option(0, "--seed", help="Seed for folds and training (system.seed)."),
    curve: bool = typer.Option(True, "--curve/--no-curve", help="Also train on 25% and 50% of each fold's training documents (the learning curve)."),
    underthesea: bool = typer.Option(True, "--underthesea/--no-underthesea", help="Score underthesea's NER on the coarse labels."),
    corpus: list[Path] = typer.Option([paths.SEED_CORPUS, paths.EXTRA_CORPUS], "--corpus", help="Corpus JSONL(s) giving each document its source, for scores by source."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Trainings run at the same time (one CPU core each)."),
    news_test: Path | None = typer.Option(
        None, "--news-test", help="Held-out gold JSONL: also train on all the gold and score that model (and the baselines) on it."
    ),
    news_curve: bool = typer.Option(False, "--news-curve/--no-news-curve", help="Also train on 25% and 50% of the gold and score those on the news test."),
    settings: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Document-level K-fold cross-validation with mean ± std per label, baselines and a learning curve.

    `--set paths.vectors=null --set components.tok2vec.model.embed.include_static_vectors=false`
    trains the same pipeline without word vectors.
    """
    from ..annotations import read_annotation_paths
    from ..corpus import read_corpora
    from ..crossval import CURVE_FRACTIONS, cross_validate
    from ..reports import write_crossval_reports

    overrides = config_overrides(settings, seed)
    docs = read_annotation_paths(gold)
    held_out = read_annotation_paths([news_test]) if news_test is not None else None
    baselines = ("gazetteer", "rules", "underthesea") if underthesea else ("gazetteer", "rules")
    with ProgressBar("training", unit="model") as bar:
        result = cross_validate(
            docs, folds=folds, seed=seed, config=config, work_dir=output / "models", overrides=overrides,
            curve_fractions=CURVE_FRACTIONS if curve else (), baselines=baselines, news_test=held_out,
            news_curve_fractions=CURVE_FRACTIONS if news_curve else (), processes=jobs, progress=bar,
        )
    sources = {doc_id: doc.source for doc_id, doc in read_corpora([path for path in corpus if path.exists()]).items()}
    report = write_crossval_reports(result.summary(gold=docs, sources=sources), output, title=f"Cross-validation on {len(docs)} documents")
    typer.echo(report)
    msg.good(f"Wrote {output}/crossval.json, report.md and learning_curve.png")


@reports_errors
def loop_study_cli(
    known: Path = typer.Argument(paths.GOLD / "seeds.jsonl", help="Gold the models may learn from (the first round)."),
    pool: Path = typer.Argument(paths.GOLD / "extra.jsonl", help="Gold of the documents still to annotate (the pool)."),
    output: Path = typer.Option(paths.LOOP_STUDY, "--output", "-o", help="Folder for loop.json, report.md and the models."),
    config: Path = typer.Option(paths.CONFIG, "--config", "-c", help="spaCy training config (settings overridable with --set)."),
    batch: int = typer.Option(5, "--batch", "-b", min=1, help="Size of the first annotation batch compared between orders."),
    seed: int = typer.Option(0, "--seed", help="Seed of training (system.seed) and of the random order."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Trainings run at the same time (one CPU core each)."),
    settings: list[str] = typer.Option([], "--set", help=SET_HELP),
) -> None:
    """Replay one round of model-in-the-loop annotation on gold: pre-annotation yield and uncertain vs random order."""
    from ..active_learning import loop_study
    from ..annotations import read_annotations
    from ..reports import write_loop_study

    overrides = config_overrides(settings, seed)
    with ProgressBar("training", unit="model") as bar:
        study = loop_study(
            read_annotations(known), read_annotations(pool), config=config, work_dir=output / "models",
            batch=batch, seed=seed, overrides=overrides, processes=jobs, progress=bar,
        )
    typer.echo(write_loop_study(study, output))
    msg.good(f"Wrote {output}/loop.json and report.md")


class Engine(str, Enum):
    local = "local"
    ray = "ray"


@reports_errors
def predict_cli(
    inputs_and_output: list[Path] = typer.Argument(..., metavar="IN... OUT", help="Corpus or Doccano JSONL files (.jsonl, .jsonl.gz) or folders of .txt, then the Doccano JSONL to write."),
    model: Path | None = typer.Option(None, "--model", "-m", help="Pipeline folder (default training/model-best), or with --engine ray the name of an installed model package."),
    n_process: int = typer.Option(1, "--n-process", "-n", min=1, help="Worker processes that parse (local engine); one per core."),
    engine: Engine = typer.Option(Engine.local, "--engine", help="local: this machine's processes; ray: Ray Data actors on a local Ray instance or the cluster at --address."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster to run on (e.g. ray://head:10001 or auto); default: a local Ray instance."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Ray actors, each with its own copy of the pipeline (--engine ray)."),
    resume: bool = typer.Option(False, "--resume", help="Keep the documents already in OUT.part (left by a killed run) and do the rest."),
    batch_words: int = typer.Option(BATCH_WORDS, "--batch-words", min=1, help="Words handed to the pipeline at once."),
) -> None:
    """Label documents with the trained pipeline, streaming; writes Doccano JSONL.

    Documents are read one at a time and written to OUT.part as they are done; OUT.part becomes OUT at the end.
    A long document is cut at paragraph, then sentence, boundaries and its spans put back at their offsets.
    """
    from ..stream import count_docs, local_engine, predict_to_file, refuse_output_among_inputs

    if len(inputs_and_output) < 2:
        raise VndiploError("predict needs IN... OUT", f"got {len(inputs_and_output)} path", "For example: vndiplo predict corpus/docs.jsonl predictions.jsonl")
    *inputs, output = inputs_and_output
    refuse_output_among_inputs(output, inputs)
    if engine is Engine.ray:
        from ..ray_engine import ray_engine

        job = ray_engine(str(model or paths.MODEL), address=address, workers=workers, batch_words=batch_words)
    else:
        from ..model import load

        job = local_engine(load(model), batch_words=batch_words, n_process=n_process)
    with PredictionProgress(count_docs(inputs)) as bar:
        run = predict_to_file(job, inputs, output, resume=resume, progress=bar)
    resumed = f" ({run.resumed} kept from the killed run)" if run.resumed else ""
    msg.good(f"Wrote {output}: {run.documents} documents{resumed}, {run.spans} predicted spans")


@reports_errors
def visualize_cli(
    input_path: Path = typer.Argument(..., help="Corpus or Doccano JSONL (.jsonl, .jsonl.gz) or a folder of .txt to render."),
    output: Path = typer.Option(paths.ENTITIES_PAGE, "--output", "-o", help="displaCy HTML page."),
    model: Path | None = typer.Option(None, "--model", "-m", help="Pipeline folder (default training/model-best)."),
) -> None:
    """Render predicted entities as displaCy HTML in the label colours."""
    from ..model import load, visualize
    from ..stream import read_docs, refuse_output_among_inputs

    refuse_output_among_inputs(output, [input_path])
    visualize(load(model), read_docs([input_path]), output)
    msg.good(f"Wrote {output}")


@reports_errors
def package_cli(
    model: Path = typer.Argument(paths.MODEL, help="Pipeline folder to package."),
    output: Path = typer.Option(paths.DIST, "--output", "-o", help="Folder for the package build."),
    version: str = typer.Option("0.1.0", "--version", help="Package version."),
) -> None:
    """Build an installable model wheel with spaCy's packager (`spacy.load("vi_vndiplo_ner")`)."""
    from ..model import package

    wheel = package(model, output, version=version)
    msg.good(f"Built {wheel}")
    msg.text(f"Install with: pip install {wheel}")


@reports_errors
def benchmark_cli(
    model: Path = typer.Argument(paths.MODEL, help="Trained pipeline folder."),
    texts: list[Path] = typer.Option(
        [paths.SEED_CORPUS, paths.TREEBANK_CORPUS, paths.NEWS_TEST_CORPUS, paths.EXTRA_CORPUS, paths.WIKI_CORPUS],
        "--texts", "-t", help="Corpus JSONL files; their documents are grouped into news and encyclopedia text by source.",
    ),
    words: int = typer.Option(1_000_000, "--words", help="The texts are repeated to at least this many words for the speed runs."),
    small_words: int = typer.Option(30_000, "--small-words", help="Size of the small run, whose peak memory is compared with the big one's."),
    underthesea_words: int = typer.Option(50_000, "--underthesea-words", help="underthesea's NER runs on this many words of the same texts (its steady state)."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Processes for --n-process and Ray actors."),
    output: Path = typer.Option(paths.BENCHMARK, "--output", "-o", help="JSON with the figures; a Markdown table is written beside it (.md)."),
) -> None:
    """Words per second and peak memory of `vndiplo predict` (one process, --n-process, Ray) against underthesea's NER.

    Every run is the real command in a fresh process, on news and on encyclopedia text apart.
    """
    from ..benchmark import benchmark, speed_ratios
    from ..reports import write_benchmark

    for path in texts:
        if not path.is_file():
            raise missing_file(str(path), "Corpus file", "Run `make ingest` first.")
    measurements = benchmark(model, texts, words=words, small_words=small_words, underthesea_words=underthesea_words, workers=workers, progress=msg.text)
    typer.echo(write_benchmark(measurements, speed_ratios(measurements), output))
    msg.good(f"Wrote {output} and {output.with_suffix('.md')}")
