"""The `vndiplo` command line: a thin typer layer over the library.

Each command parses options, calls one library function and prints its
report. Library functions are silent and raise :class:`VndiploError`; here
those become a red title, the detail, the next step and exit code 1.
"""

from __future__ import annotations

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from .errors import VndiploError, file_system, missing_file
from .stream import BATCH_WORDS

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
        except OSError as error:  # a folder where a file belongs, a read-only folder: atomic writes left nothing behind
            fail(file_system(error))

    return wrapper


def info(message: str) -> None:
    typer.echo(message)


def good(message: str) -> None:
    typer.secho(f"✔ {message}", fg=typer.colors.GREEN)


def warn(message: str) -> None:
    typer.secho(f"⚠ {message}", fg=typer.colors.YELLOW)


class ProgressBar:
    """A tqdm progress bar on stderr, created when the total is known; pass it as `progress(done, total)`.

    Use it in a `with` block, which closes the bar however the work ends.
    """

    def __init__(self, description: str, unit: str = "doc") -> None:
        self.description = description
        self.unit = unit
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.description, unit=self.unit, file=sys.stderr, leave=True)
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


@app.command("ingest")
@reports_errors
def ingest_cli(
    sources: List[Path] = typer.Argument(..., help="Article files (.txt, .jsonl), treebank files (.conllu) or folders holding them."),
    out: Path = typer.Option(Path("corpus/docs.jsonl"), "--out", "-o", help="Corpus JSONL to write (atomically)."),
    source: Optional[str] = typer.Option(None, "--source", "-s", help="Source name for every document (default: the folder name)."),
    skip_sentences: Optional[Path] = typer.Option(
        None, "--skip-sentences", help="File of treebank sentence ids (one a line) to leave out of .conllu input, e.g. those already in another corpus."
    ),
):
    """Normalise articles into a corpus JSONL with stable ids, hashes and a report.

    A .conllu treebank file becomes documents of 25 consecutive sentences, restored to running text.
    """
    from .corpus import ingest, read_id_list, write_corpus

    report = ingest(sources, source=source, skip_sentences=read_id_list(skip_sentences) if skip_sentences else frozenset())
    write_corpus(report.documents, out)
    for doc_id, line in report.removed_lines:
        info(f"  removed boilerplate in {doc_id}: {line!r}")
    for dropped, kept in report.exact_duplicates:
        warn(f"exact duplicate: {dropped} has the same text as {kept}; kept {kept} only")
    for first, second, score in report.near_duplicates:
        warn(f"near duplicate: {first} ~ {second} (shingle similarity {score:.2f})")
    from .doccano import MAX_REQUEST_BYTES, too_large_for_doccano

    for doc_id, size in too_large_for_doccano(report.documents):
        warn(f"{doc_id} is too large for Doccano ({size:,} bytes to upload, the limit is {MAX_REQUEST_BYTES:,}): split it before `vndiplo doccano push`")
    good(f"Wrote {out}")
    info(
        f"documents: {len(report.documents)}  words: {report.words}  "
        f"lines removed: {len(report.removed_lines)}  "
        f"duplicates: {len(report.exact_duplicates)} exact, {len(report.near_duplicates)} near"
    )


@app.command("validate")
@reports_errors
def validate_cli(
    files: List[Path] = typer.Argument(..., help="Annotation JSONL files or folders (Doccano shape: id, text, label)."),
    corpus: List[Path] = typer.Option([], "--corpus", "-c", help="Corpus JSONL(s): also check each text equals the corpus text."),
    max_warnings: int = typer.Option(200, "--max-warnings", help="How many warnings to list."),
    counts: bool = typer.Option(False, "--counts", help="Also print a Markdown table of spans per label per document."),
    reviewed: Optional[Path] = typer.Option(
        None, "--reviewed", help="JSONL of warnings a reviewer read and kept, each with a reason ({key, decision: kept, note}); they are counted, not listed."
    ),
):
    """Lint annotations against the label spec; errors exit 1, warnings are listed."""
    from .annotations import ERROR, read_annotation_paths, read_review, split_reviewed, validate
    from .corpus import read_corpus

    if reviewed is not None and not reviewed.is_file():
        raise missing_file(str(reviewed), "Review file", "Check the path given to --reviewed.")
    docs = read_annotation_paths(files)
    findings, kept = split_reviewed(validate(docs), read_review(reviewed) if reviewed else [])
    if corpus:
        from .annotations import Finding

        texts = {doc_id: doc for path in corpus for doc_id, doc in read_corpus(path).items()}
        for doc in docs:
            if doc.id not in texts:
                findings.append(Finding(ERROR, doc.id, 0, 0, "document is not in the corpus"))
            elif texts[doc.id].text != doc.text:
                findings.append(Finding(ERROR, doc.id, 0, 0, "text differs from the corpus text"))
    errors_found = [f for f in findings if f.level == ERROR]
    warnings = [f for f in findings if f.level != ERROR]
    for finding in errors_found:
        typer.secho(str(finding), fg=typer.colors.RED)
    for finding in warnings[:max_warnings]:
        warn(str(finding))
    if len(warnings) > max_warnings:
        info(f"… and {len(warnings) - max_warnings} more warnings")
    if counts:
        from .annotations import count_table

        info(count_table(docs))
    spans = sum(len(doc.spans) for doc in docs)
    reviewed_note = f"  (and {len(kept)} reviewed and kept, see {reviewed})" if kept else ""
    info(f"documents: {len(docs)}  spans: {spans}  errors: {len(errors_found)}  warnings: {len(warnings)}{reviewed_note}")
    if errors_found:
        raise typer.Exit(1)
    good("No errors")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in rows]
    return "\n".join(lines)


@app.command("import-markup")
@reports_errors
def import_markup_cli(
    marked: List[Path] = typer.Argument(..., help="Files <document id>.txt with [[surface|LABEL]] markup, or folders holding them."),
    corpus: List[Path] = typer.Option(..., "--corpus", "-c", help="Corpus JSONL(s) holding the documents' texts."),
    out: Path = typer.Option(..., "--out", "-o", help="Annotation JSONL to write (Doccano shape, atomically)."),
):
    """Turn documents annotated in a text editor ([[surface|LABEL]]) into an annotation file.

    The text left after removing the markup must equal the corpus text; the spans are then
    checked against the spec like any annotation file.
    """
    from .annotations import parse_markup, require_valid, write_annotations
    from .corpus import find_input_files, read_corpus
    from .text import decode_utf8

    texts = {doc_id: doc.text for path in corpus for doc_id, doc in read_corpus(path).items()}
    docs = []
    for path in find_input_files(marked):
        if path.stem not in texts:
            raise VndiploError(f"{path}: no document {path.stem!r} in the corpus", "", "Name each markup file after its corpus document id.")
        docs.append(parse_markup(decode_utf8(path.read_bytes(), str(path)), path.stem, texts[path.stem]))
    require_valid(docs, "markup")
    write_annotations(docs, out)
    good(f"Wrote {out}: {len(docs)} documents, {sum(len(d.spans) for d in docs)} spans")


@app.command("agree")
@reports_errors
def agree_cli(
    file_a: Path = typer.Argument(..., help="Annotator A's JSONL (the reference for precision/recall)."),
    file_b: Path = typer.Argument(..., help="Annotator B's JSONL."),
    show: int = typer.Option(50, "--show", help="How many disagreements to list."),
):
    """Inter-annotator agreement: strict span F1, token kappa, confusion and disagreements."""
    from .annotations import agreement, read_annotations, require_valid

    docs = {path: read_annotations(path) for path in (file_a, file_b)}
    for path, annotated in docs.items():
        require_valid(annotated, str(path))  # an offset out of range or an unknown label would be scored as a disagreement
    result = agreement(docs[file_a], docs[file_b])
    rows = [
        [name, prf.tp + prf.fn, prf.tp + prf.fp, f"{prf.precision:.3f}", f"{prf.recall:.3f}", f"{prf.f1:.3f}"]
        for name, prf in result.per_label.items()
    ]
    o = result.overall
    rows.append(["ALL", o.tp + o.fn, o.tp + o.fp, f"{o.precision:.3f}", f"{o.recall:.3f}", f"{o.f1:.3f}"])
    info(_table(rows, ["label", "A", "B", "P", "R", "F1"]))
    info(f"\nstrict span F1: {o.f1:.3f}   token-level Cohen's kappa: {result.kappa:.3f}")
    if result.confusion:
        info("\nLabel disagreements (A → B, ∅ = no span):")
        info(_table([[a, b, n] for (a, b), n in result.confusion.most_common()], ["A", "B", "count"]))
    info(f"\n{len(result.disagreements)} disagreements")
    for doc_id, group_a, group_b, context in result.disagreements[:show]:
        spans_a = ", ".join(f"{s.label}" for s in group_a) or "∅"
        spans_b = ", ".join(f"{s.label}" for s in group_b) or "∅"
        info(f"  {doc_id}: A={spans_a} B={spans_b}  {context}")


@app.command("adjudicate")
@reports_errors
def adjudicate_cli(
    file_a: Path = typer.Argument(..., help="Annotator A's JSONL."),
    file_b: Path = typer.Argument(..., help="Annotator B's JSONL."),
    out: Path = typer.Option(..., "--out", "-o", help="Gold JSONL to write once every conflict is decided."),
    review: Optional[Path] = typer.Option(None, "--review", "-r", help="Review file of conflicts (default: OUT with .review.jsonl)."),
    prefer: Optional[str] = typer.Option(None, "--prefer", help="Settle undecided conflicts with A's or B's spans."),
    log: Optional[Path] = typer.Option(None, "--log", help="Also write every conflict and its decision as Markdown."),
    revisions: Optional[Path] = typer.Option(
        None, "--revisions", help="JSONL of later changes to the merged gold ({id, remove, add, note}; spans as \\[start, end, LABEL, surface])."
    ),
):
    """Merge two annotators: agreed spans kept, conflicts decided in a review file (or by --prefer).

    Revisions apply decisions taken after both passes (a new rule of the spec) to the merged gold.
    """
    from .annotations import adjudicate, apply_revisions, read_annotations, read_review, read_revisions, write_annotations, write_review

    if revisions is not None and not revisions.is_file():
        raise missing_file(str(revisions), "Revisions file", "Check the path given to --revisions.")
    changes = read_revisions(revisions) if revisions is not None else []
    review = review or out.with_suffix(".review.jsonl")
    result = adjudicate(read_annotations(file_a), read_annotations(file_b), decisions=read_review(review), prefer=prefer)
    write_review(result.review, review)
    if log is not None:
        from .annotations import adjudication_log, revisions_log
        from .corpus import atomic_write_text

        text = f"# Adjudication of {file_a.name} and {file_b.name}\n\n" + adjudication_log(result.review) + "\n"
        if changes:
            text += f"\n## Revisions after adjudication ({revisions.name})\n\n" + revisions_log(changes) + "\n"
        atomic_write_text(log, text)
    info(f"agreed spans: {result.agreed}  conflicts: {len(result.review)}  undecided: {result.unresolved}")
    if result.gold is None:
        warn(f"{result.unresolved} conflicts wait for a decision in {review}")
        info('Set "choice" to "A", "B", "none" or a list of spans [[start, end, "LABEL"]] and run again.')
        raise typer.Exit(1)
    gold = apply_revisions(result.gold, changes) if changes else result.gold
    write_annotations(gold, out)
    good(f"Wrote {out} ({sum(len(d.spans) for d in gold)} spans); decisions in {review}" + (f", {len(changes)} revisions applied" if changes else ""))


@app.command("dataset")
@reports_errors
def dataset_cli(
    gold: List[Path] = typer.Argument(..., help="Gold JSONL files or folders (annotations/gold/)."),
    out: Path = typer.Option(Path("corpus"), "--out", "-o", help="Folder for dataset/, *.spacy, *.conll and the card."),
    corpus: List[Path] = typer.Option([], "--corpus", "-c", help="Corpus JSONL(s) the gold must match; gives each document its source."),
    dev: float = typer.Option(0.1, "--dev", help="Fraction of documents for the dev split."),
    test: float = typer.Option(0.2, "--test", help="Fraction of documents for the test split."),
    folds: int = typer.Option(0, "--folds", "-k", help="Also record K document-grouped cross-validation folds."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split."),
):
    """Build the Hugging Face DatasetDict, spaCy DocBins, CoNLL files and the dataset card."""
    from .dataset import build, label_counts, write_outputs

    built = build(gold, corpus_paths=corpus, dev=dev, test=test, folds=folds, seed=seed)
    _written, settled = write_outputs(built, out)
    if settled:
        warn(f"{out}: {settled}")
    a = built.alignment
    info(f"gold spans: {a.spans}; off token boundaries: syllables {len(a.syllable_misaligned)}, pyvi {len(a.pyvi_misaligned)}")
    for name, docs in built.splits.items():
        counts = label_counts(docs)
        info(f"  {name:5} {len(docs):3} documents  {sum(counts.values()):5} spans  " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    good(f"Wrote {out}/dataset, {out}/{{train,dev,test}}.spacy, .conll and {out}/README.md")


@app.command("vectors")
@reports_errors
def vectors_cli(
    texts: List[Path] = typer.Argument(..., help="Plain-text files, or JSONL files with a `text` field (.jsonl, .jsonl.gz, .jsonl.xz)."),
    out: Path = typer.Option(Path("configs/vectors"), "--out", "-o", help="spaCy vectors folder to write (replaced whole at the end)."),
    dim: int = typer.Option(100, "--dim", help="Vector width."),
    bucket: int = typer.Option(50_000, "--bucket", help="Rows of the hashed subword table (the vectors' size)."),
    minn: int = typer.Option(3, "--minn", help="Shortest character n-gram."),
    maxn: int = typer.Option(5, "--maxn", help="Longest character n-gram."),
    epoch: int = typer.Option(5, "--epoch", help="Passes over the text."),
    min_count: int = typer.Option(5, "--min-count", help="Words seen fewer times get no entry of their own (their subwords still train)."),
    threads: int = typer.Option(2, "--threads", help="Training threads."),
):
    """Train floret word vectors (cbow, hashed subwords) on plain Vietnamese text for the model.

    The text is cut by the pipeline's syllable tokenizer; the folder written is what
    `paths.vectors` in configs/ner.cfg points to.
    """
    from tqdm import tqdm

    from .vectors import FloretSettings, train_floret

    settings = FloretSettings(dim=dim, bucket=bucket, minn=minn, maxn=maxn, epoch=epoch, min_count=min_count, threads=threads)
    with tqdm(desc="Tokenising", unit=" tokens", unit_scale=True, file=sys.stderr) as bar:
        facts = train_floret(texts, out, settings, progress=lambda tokens: bar.update(tokens - bar.n))
    good(f"Wrote {out}: {settings.bucket:,} × {settings.dim} floret vectors from {facts['training_tokens']:,} tokens ({facts['vocabulary']:,} words)")


@app.command("train")
@reports_errors
def train_cli(
    corpus: Path = typer.Argument(Path("corpus"), help="Folder with train.spacy and dev.spacy from `vndiplo dataset`."),
    output: Path = typer.Option(Path("training"), "--output", "-o", help="Writes model-best and model-last here."),
    config: Path = typer.Option(Path("configs/ner.cfg"), "--config", "-c", help="spaCy training config."),
    seed: int = typer.Option(0, "--seed", help="Random seed (training is deterministic for a seed)."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Override training.max_steps."),
):
    """Train the spaCy NER pipeline on CPU, showing spaCy's progress table."""
    from .train import train_from_corpus

    overrides = {"system.seed": seed}
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    train_from_corpus(corpus, output, config=config, overrides=overrides)
    good(f"Trained: {output}/model-best and {output}/model-last")


def _read_gold_or_docbin(data: List[Path]):
    from .annotations import read_annotation_paths
    from .dataset import read_docbin

    docs = []
    for path in data:
        found = read_docbin(path) if path.suffix == ".spacy" else read_annotation_paths([path])
        if not found:
            raise VndiploError(f"{path} holds no documents", "scores on nothing would be a table of zeros", "Build the corpus again with `vndiplo dataset` or point at another file.")
        docs += found
    return docs


@app.command("evaluate")
@reports_errors
def evaluate_cli(
    model: Path = typer.Argument(Path("training/model-best"), help="Trained pipeline folder."),
    data: List[Path] = typer.Argument(None, help="Gold to score on: .spacy DocBin or gold JSONL (default corpus/test.spacy)."),
    output: Path = typer.Option(Path("training/evaluation"), "--output", "-o", help="Folder for scores.json, report.md, confusion.png."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Also score the gazetteer (from corpus/train.spacy) and underthesea."),
    train_data: Path = typer.Option(Path("corpus/train.spacy"), "--train-data", help="Training gold for the gazetteer baseline."),
    disable: List[str] = typer.Option([], "--disable", help="Pipeline component to leave out (repeatable), e.g. date_rules, to measure what it adds."),
):
    """Strict per-label P/R/F1, coarse scores, confusion matrix and errors, as JSON, Markdown and PNG."""
    from .dataset import read_docbin
    from .evaluate import coarse_table, gazetteer_predictor, model_predictor, score, scores_table, underthesea_predictor, write_reports
    from .model import load

    gold = _read_gold_or_docbin(data or [Path("corpus/test.spacy")])
    scores = score(gold, model_predictor(load(model, disable=tuple(disable)))(gold))
    extra = {"documents": [d.id for d in gold], "model": str(model), "disabled": disable}
    comparison = []
    if baselines:
        gazetteer = score(gold, gazetteer_predictor(read_docbin(train_data))(gold))
        under = score(gold, underthesea_predictor()(gold), coarse_only=True)
        extra["baselines"] = {"gazetteer": gazetteer.to_dict(), "underthesea": under.to_dict()}
        comparison = [
            ("fine micro-F1", scores.micro.f1, gazetteer.micro.f1, None),
            ("coarse micro-F1", scores.coarse_micro.f1, gazetteer.coarse_micro.f1, under.coarse_micro.f1),
        ]
    paths = write_reports(scores, output, f"Evaluation of {model} on {len(gold)} documents", extra)
    info(scores_table(scores))
    info("")
    info(coarse_table(scores))
    if comparison:
        info("\n| score | model | gazetteer | underthesea |\n|---|---|---|---|")
        for name, ours, gaz, und in comparison:
            info(f"| {name} | {ours:.3f} | {gaz:.3f} | {'—' if und is None else f'{und:.3f}'} |")
    good(f"Reports: {paths['markdown']}, {paths['json']}, {paths['png']}")


# Shares of the training documents for the learning curves (of the folds and of the news test).
CURVE_FRACTIONS = (0.25, 0.5, 1.0)


@app.command("crossval")
@reports_errors
def crossval_cli(
    gold: List[Path] = typer.Argument(..., help="Gold JSONL files or folders."),
    folds: int = typer.Option(5, "--folds", "-k", min=0, help="Number of document folds (0: no cross-validation, only the --news-test model)."),
    output: Path = typer.Option(Path("training/crossval"), "--output", "-o", help="Folder for crossval.json, report.md, learning_curve.png."),
    config: Path = typer.Option(Path("configs/ner.cfg"), "--config", "-c", help="spaCy training config."),
    seed: int = typer.Option(0, "--seed", help="Seed for folds and training."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Override training.max_steps for every fold."),
    curve: bool = typer.Option(True, "--curve/--no-curve", help="Also train on 25% and 50% of each fold's training documents (the learning curve)."),
    underthesea: bool = typer.Option(True, "--underthesea/--no-underthesea", help="Score underthesea's NER on the coarse labels."),
    corpus: List[Path] = typer.Option([Path("corpus/docs.jsonl"), Path("corpus/extra.jsonl")], "--corpus", help="Corpus JSONL(s) giving each document its source, for scores by source."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Trainings run at the same time (one CPU core each)."),
    news_test: Optional[Path] = typer.Option(
        None, "--news-test", help="Held-out gold JSONL: also train on all the gold and score that model (and the baselines) on it."
    ),
    news_curve: bool = typer.Option(False, "--news-curve/--no-news-curve", help="Also train on 25% and 50% of the gold and score those on the news test."),
    settings: List[str] = typer.Option(
        [], "--set", help="Override a setting of the training config, SECTION.KEY=VALUE as in spaCy's CLI (repeatable), e.g. paths.vectors=null."
    ),
):
    """Document-level K-fold cross-validation with mean ± std per label, baselines and a learning curve.

    `--set paths.vectors=null --set components.tok2vec.model.embed.include_static_vectors=false`
    trains the same pipeline without word vectors.
    """
    import json as _json

    from weasel.util.config import parse_config_overrides

    from .annotations import read_annotation_paths
    from .evaluate import cross_validate, crossval_markdown, plot_learning_curve

    docs = read_annotation_paths(gold)
    held_out = read_annotation_paths([news_test]) if news_test is not None else None
    malformed = [setting for setting in settings if "." not in setting.partition("=")[0] or "=" not in setting]
    if malformed:
        raise VndiploError(f"--set takes SECTION.KEY=VALUE, not {malformed[0]!r}", "", "For example: --set paths.vectors=null")
    overrides = {"system.seed": seed, **parse_config_overrides([f"--{setting}" for setting in settings])}
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    baselines = ("gazetteer", "rules", "underthesea") if underthesea else ("gazetteer", "rules")
    with ProgressBar("training", unit="model") as bar:
        result = cross_validate(
            docs, folds=folds, seed=seed, config=config, work_dir=output / "models", overrides=overrides,
            curve_fractions=CURVE_FRACTIONS if curve else (), baselines=baselines, news_test=held_out,
            news_curve_fractions=CURVE_FRACTIONS if news_curve else (), processes=jobs, progress=bar,
        )
    from .corpus import atomic_write_text, read_corpus

    sources = {doc_id: doc.source for path in corpus if path.exists() for doc_id, doc in read_corpus(path).items()}
    summary = result.summary(gold=docs, sources=sources)

    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / "crossval.json", _json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    report = crossval_markdown(summary, title=f"Cross-validation on {len(docs)} documents")
    atomic_write_text(output / "report.md", report)
    plot_learning_curve(summary, output / "learning_curve.png")
    info(report)
    good(f"Wrote {output}/crossval.json, report.md and learning_curve.png")


@app.command("loop-study")
@reports_errors
def loop_study_cli(
    known: Path = typer.Argument(Path("annotations/gold/seeds.jsonl"), help="Gold the models may learn from (the first round)."),
    pool: Path = typer.Argument(Path("annotations/gold/extra.jsonl"), help="Gold of the documents still to annotate (the pool)."),
    output: Path = typer.Option(Path("training/loop"), "--output", "-o", help="Folder for loop.json, report.md and the models."),
    config: Path = typer.Option(Path("configs/ner.cfg"), "--config", "-c", help="spaCy training config."),
    batch: int = typer.Option(5, "--batch", "-b", min=1, help="Size of the first annotation batch compared between orders."),
    seed: int = typer.Option(0, "--seed", help="Seed of training and of the random order."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Override training.max_steps for every model."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Trainings run at the same time (one CPU core each)."),
):
    """Replay one round of model-in-the-loop annotation on gold: pre-annotation yield and uncertain vs random order."""
    import json as _json

    from .annotations import read_annotations
    from .corpus import atomic_write_text
    from .loop import loop_markdown, loop_study

    overrides = {"system.seed": seed}
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    with ProgressBar("training", unit="model") as bar:
        study = loop_study(
            read_annotations(known), read_annotations(pool), config=config, work_dir=output / "models",
            batch=batch, seed=seed, overrides=overrides, processes=jobs, progress=bar,
        )
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / "loop.json", _json.dumps(study.to_dict(), ensure_ascii=False, indent=2) + "\n")
    report = loop_markdown(study)
    atomic_write_text(output / "report.md", report)
    info(report)
    good(f"Wrote {output}/loop.json and report.md")


class PredictionProgress:
    """A tqdm bar of documents (total counted beforehand) with the words per second; `progress(documents, words)`."""

    def __init__(self, total: int) -> None:
        import time

        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="predicting", unit="doc", file=sys.stderr, smoothing=0.1)
        self.clock = time.perf_counter
        self.started = self.clock()

    def __call__(self, documents: int, words: int) -> None:
        self.bar.update(documents - self.bar.n)
        elapsed = self.clock() - self.started
        self.bar.set_postfix_str(f"{words / elapsed if elapsed else 0:,.0f} words/s", refresh=False)

    def __enter__(self) -> "PredictionProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


class Engine(str, Enum):
    local = "local"
    ray = "ray"


@app.command("predict")
@reports_errors
def predict_cli(
    paths: List[Path] = typer.Argument(..., help="IN... OUT: corpus or Doccano JSONL files (.jsonl, .jsonl.gz) or folders of .txt, then the Doccano JSONL to write."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Pipeline folder (default training/model-best), or with --engine ray the name of an installed model package."),
    n_process: int = typer.Option(1, "--n-process", "-n", min=1, help="Processes of spaCy's multiprocessing (local engine); one per core."),
    engine: Engine = typer.Option(Engine.local, "--engine", help="local: this machine's processes; ray: Ray Data actors on a local Ray instance or the cluster at --address."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to run on (e.g. ray://head:10001 or auto); default: a local Ray instance."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Ray actors, each with its own copy of the pipeline (--engine ray)."),
    resume: bool = typer.Option(False, "--resume", help="Keep the documents already in OUT.part (left by a killed run) and do the rest."),
    batch_words: int = typer.Option(BATCH_WORDS, "--batch-words", min=1, help="Words handed to the pipeline at once."),
):
    """Label documents with the trained pipeline, streaming; writes Doccano JSONL.

    Documents are read one at a time and written to OUT.part as they are done; OUT.part becomes OUT at the end. A long document is cut at paragraph, then sentence, boundaries and its spans put back at their offsets.
    """
    from .stream import count_docs, local_engine, predict_to_file, refuse_output_among_inputs

    if len(paths) < 2:
        raise VndiploError("predict needs IN... OUT", f"got {len(paths)} path", "For example: vndiplo predict corpus/docs.jsonl predictions.jsonl")
    *inputs, output = paths
    refuse_output_among_inputs(output, inputs)
    if engine is Engine.ray:
        from .model import DEFAULT_MODEL
        from .ray_engine import ray_engine

        job = ray_engine(str(model or DEFAULT_MODEL), address=address, workers=workers, batch_words=batch_words)
    else:
        from .model import load

        job = local_engine(load(model), batch_words=batch_words, n_process=n_process)
    with PredictionProgress(count_docs(inputs)) as bar:
        run = predict_to_file(job, inputs, output, resume=resume, progress=bar)
    resumed = f" ({run.resumed} kept from the killed run)" if run.resumed else ""
    good(f"Wrote {output}: {run.documents} documents{resumed}, {run.spans} predicted spans")


@app.command("visualize")
@reports_errors
def visualize_cli(
    input_path: Path = typer.Argument(..., help="Corpus or Doccano JSONL (.jsonl, .jsonl.gz) or a folder of .txt to render."),
    output: Path = typer.Option(Path("training/entities.html"), "--output", "-o", help="displaCy HTML page."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Pipeline folder (default training/model-best)."),
):
    """Render predicted entities as displaCy HTML in the label colours."""
    from .model import load, visualize
    from .stream import read_docs, refuse_output_among_inputs

    refuse_output_among_inputs(output, [input_path])
    visualize(load(model), read_docs([input_path]), output)
    good(f"Wrote {output}")


@app.command("package")
@reports_errors
def package_cli(
    model: Path = typer.Argument(Path("training/model-best"), help="Pipeline folder to package."),
    output: Path = typer.Option(Path("dist"), "--output", "-o", help="Folder for the package build."),
    version: str = typer.Option("0.1.0", "--version", help="Package version."),
):
    """Build an installable model wheel with spaCy's packager (`spacy.load("vi_vndiplo_ner")`)."""
    from .model import package

    wheel = package(model, output, version=version)
    good(f"Built {wheel}")
    info(f"Install with: pip install {wheel}")


@app.command("benchmark")
@reports_errors
def benchmark_cli(
    model: Path = typer.Argument(Path("training/model-best"), help="Trained pipeline folder."),
    texts: List[Path] = typer.Option(
        [Path("corpus/docs.jsonl"), Path("corpus/vtb.jsonl"), Path("corpus/news-test.jsonl"), Path("corpus/extra.jsonl"), Path("corpus/viwiki.jsonl")],
        "--texts", "-t", help="Corpus JSONL files; their documents are grouped into news and encyclopedia text by source.",
    ),
    words: int = typer.Option(1_000_000, "--words", help="The texts are repeated to at least this many words for the speed runs."),
    small_words: int = typer.Option(30_000, "--small-words", help="Size of the small run, whose peak memory is compared with the big one's."),
    underthesea_words: int = typer.Option(50_000, "--underthesea-words", help="underthesea's NER runs on this many words of the same texts (its steady state)."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Processes for --n-process and Ray actors."),
    output: Path = typer.Option(Path("training/benchmark.json"), "--output", "-o", help="JSON with the figures; a Markdown table is written beside it (.md)."),
):
    """Words per second and peak memory of `vndiplo predict` (one process, --n-process, Ray) against underthesea's NER.

    Every run is the real command in a fresh process, on news and on encyclopedia text apart.
    """
    from .benchmark import benchmark, benchmark_json, benchmark_markdown
    from .corpus import atomic_write_text

    for path in texts:
        if not path.is_file():
            raise missing_file(str(path), "Corpus file", "Run `make ingest` first.")
    measurements = benchmark(model, texts, words=words, small_words=small_words, underthesea_words=underthesea_words, workers=workers, progress=info)
    table = benchmark_markdown(measurements)
    atomic_write_text(output, benchmark_json(measurements))
    atomic_write_text(output.with_suffix(".md"), table)
    info(table)
    good(f"Wrote {output} and {output.with_suffix('.md')}")


@app.command("entities")
@reports_errors
def entities_cli(
    inputs: List[Path] = typer.Argument(..., help="Corpus or Doccano JSONL files (.jsonl, .jsonl.gz) or folders of .txt."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for entities.md, entities.json and entities.png."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Pipeline folder (default training/model-best); it needs the entity_ids component."),
    top: int = typer.Option(25, "--top", min=1, help="Entities and person–partner pairs to list."),
):
    """Who is who: the most mentioned entities by id with their spellings, and which people appear with which states and organisations (same sentence)."""
    from .entity_report import entity_names, write_entity_report
    from .model import load
    from .stream import pipe_spans, read_docs

    for path in inputs:
        if not path.exists():
            raise missing_file(str(path), "Corpus", "Give a corpus JSONL (`vndiplo ingest`), a .jsonl.gz or a folder of .txt files.")
    nlp = load(model)
    if "entity_ids" not in nlp.pipe_names:
        raise VndiploError(f"The pipeline {model or 'training/model-best'} has no entity_ids component", "", "Train a model with the current configs/ner.cfg (`make train`).")
    report = write_entity_report(pipe_spans(nlp, read_docs(inputs)), entity_names(nlp), out, top=top)
    good(f"Wrote {out}/entities.md, entities.json and entities.png ({report['documents']} documents, {len(report['entities'])} entities listed)")


@app.command("kb-sample")
@reports_errors
def kb_sample_cli(
    gold: List[Path] = typer.Argument(..., help="Gold JSONL files whose mentions are sampled."),
    out: Path = typer.Option(Path("annotations/kb-check/sample.jsonl"), "--out", "-o", help="The sample to check by hand; verdicts already in it are kept where the id did not change."),
    kb: Path = typer.Option(Path("configs/kb/entities.jsonl"), "--kb", help="Knowledge base the linker reads."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random draw."),
):
    """Draw a fixed-seed random sample of gold mentions per label and write the id the linker gives each (for a hand check)."""
    from .annotations import read_annotations
    from .corpus import atomic_write_text
    from .kb_check import linker_pipeline, read_rows, sample_rows

    docs = [doc for path in gold for doc in read_annotations(path)]
    previous = read_rows(out) if out.exists() else []
    rows = sample_rows(docs, linker_pipeline(kb), seed=seed, previous=previous)
    atomic_write_text(out, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    unchecked = sum(not row["verdict"] for row in rows)
    good(f"Wrote {out}: {len(rows)} mentions, {unchecked} without a verdict")


@app.command("kb-score")
@reports_errors
def kb_score_cli(
    sample: Path = typer.Argument(Path("annotations/kb-check/sample.jsonl"), help="The hand-checked sample."),
    out: Path = typer.Option(Path("reports/entity-ids.md"), "--out", "-o", help="Markdown table; the figures go beside it as JSON (.json)."),
):
    """Precision and coverage of the entity ids per label, from the hand-checked sample."""
    from .corpus import atomic_write_text
    from .kb_check import read_rows, score_rows, scores_markdown

    scores = score_rows(read_rows(sample))
    table = scores_markdown(scores, sample=str(sample))
    atomic_write_text(out, table)
    atomic_write_text(out.with_suffix(".json"), json.dumps(scores, indent=2) + "\n")
    info(table)
    good(f"Wrote {out} and {out.with_suffix('.json')}")


from .cli_doccano import doccano_app
app.add_typer(doccano_app, name="doccano")


def main() -> None:
    app()
