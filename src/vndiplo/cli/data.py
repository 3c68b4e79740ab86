"""Commands of the data stages: ingest the corpus, check and merge annotations, build the dataset, train vectors."""

from __future__ import annotations

from pathlib import Path

import typer

from .. import paths
from ..errors import missing_file
from .common import ProgressBar, msg, reports_errors


@reports_errors
def ingest_cli(
    sources: list[Path] = typer.Argument(..., help="Article files (.txt, .jsonl), treebank files (.conllu) or folders holding them."),
    out: Path = typer.Option(paths.SEED_CORPUS, "--out", "-o", help="Corpus JSONL to write (atomically)."),
    source: str | None = typer.Option(None, "--source", "-s", help="Source name for every document (default: the folder name)."),
    skip_sentences: Path | None = typer.Option(
        None, "--skip-sentences", help="File of treebank sentence ids (one a line) to leave out of .conllu input, e.g. those already in another corpus."
    ),
) -> None:
    """Normalise articles into a corpus JSONL with stable ids, hashes and a report.

    A .conllu treebank file becomes documents of 25 consecutive sentences, restored to running text.
    """
    from ..corpus import ingest, read_id_list, write_corpus
    from ..doccano.client import MAX_REQUEST_BYTES, too_large_for_doccano

    report = ingest(sources, source=source, skip_sentences=read_id_list(skip_sentences) if skip_sentences else frozenset())
    write_corpus(report.documents, out)
    for doc_id, line in report.removed_lines:
        msg.text(f"  removed boilerplate in {doc_id}: {line!r}")
    for dropped, kept in report.exact_duplicates:
        msg.warn(f"exact duplicate: {dropped} has the same text as {kept}; kept {kept} only")
    for first, second, score in report.near_duplicates:
        msg.warn(f"near duplicate: {first} ~ {second} (shingle similarity {score:.2f})")
    for doc_id, size in too_large_for_doccano(report.documents):
        msg.warn(f"{doc_id} is too large for Doccano ({size:,} bytes to upload, the limit is {MAX_REQUEST_BYTES:,}): split it before `vndiplo doccano push`")
    msg.good(f"Wrote {out}")
    msg.text(
        f"documents: {len(report.documents)}  words: {report.words}  "
        f"lines removed: {len(report.removed_lines)}  "
        f"duplicates: {len(report.exact_duplicates)} exact, {len(report.near_duplicates)} near"
    )


@reports_errors
def validate_cli(
    files: list[Path] = typer.Argument(..., help="Annotation JSONL files or folders (Doccano shape: id, text, label)."),
    corpus: list[Path] = typer.Option([], "--corpus", "-c", help="Corpus JSONL(s): also check each text equals the corpus text."),
    max_warnings: int = typer.Option(200, "--max-warnings", help="How many warnings to list."),
    counts: bool = typer.Option(False, "--counts", help="Also print a Markdown table of spans per label per document."),
    reviewed: Path | None = typer.Option(
        None, "--reviewed", help="JSONL of warnings a reviewer read and kept, each with a reason ({key, decision: kept, note}); they are counted, not listed."
    ),
) -> None:
    """Lint annotations against the label spec; errors exit 1, warnings are listed."""
    from ..adjudication import read_review
    from ..annotations import ERROR, count_table, read_annotation_paths, split_reviewed, validate
    from ..corpus import read_corpora

    if reviewed is not None and not reviewed.is_file():
        raise missing_file(str(reviewed), "Review file", "Check the path given to --reviewed.")
    docs = read_annotation_paths(files)
    findings, kept = split_reviewed(validate(docs, corpus=read_corpora(corpus) if corpus else None), read_review(reviewed) if reviewed else [])
    errors_found = [f for f in findings if f.level == ERROR]
    warnings = [f for f in findings if f.level != ERROR]
    for finding in errors_found:
        msg.fail(str(finding))
    for finding in warnings[:max_warnings]:
        msg.warn(str(finding))
    if len(warnings) > max_warnings:
        msg.text(f"… and {len(warnings) - max_warnings} more warnings")
    if counts:
        typer.echo(count_table(docs))
    spans = sum(len(doc.spans) for doc in docs)
    reviewed_note = f"  (and {len(kept)} reviewed and kept, see {reviewed})" if kept else ""
    msg.text(f"documents: {len(docs)}  spans: {spans}  errors: {len(errors_found)}  warnings: {len(warnings)}{reviewed_note}")
    if errors_found:
        raise typer.Exit(1)
    msg.good("No errors")


@reports_errors
def import_markup_cli(
    marked: list[Path] = typer.Argument(..., help="Files <document id>.txt with [[surface|LABEL]] markup, or folders holding them."),
    corpus: list[Path] = typer.Option(..., "--corpus", "-c", help="Corpus JSONL(s) holding the documents' texts."),
    out: Path = typer.Option(..., "--out", "-o", help="Annotation JSONL to write (Doccano shape, atomically)."),
) -> None:
    """Turn documents annotated in a text editor (\\[\\[surface|LABEL]]) into an annotation file.

    The text left after removing the markup must equal the corpus text; the spans are then
    checked against the spec like any annotation file.
    """
    from ..annotations import read_markup, write_annotations
    from ..corpus import read_corpora

    docs = read_markup(marked, read_corpora(corpus))
    write_annotations(docs, out)
    msg.good(f"Wrote {out}: {len(docs)} documents, {sum(len(d.spans) for d in docs)} spans")


@reports_errors
def agree_cli(
    file_a: Path = typer.Argument(..., help="Annotator A's JSONL (the reference for precision/recall)."),
    file_b: Path = typer.Argument(..., help="Annotator B's JSONL."),
    show: int = typer.Option(50, "--show", help="How many disagreements to list."),
) -> None:
    """Inter-annotator agreement: strict span F1, token kappa, confusion and disagreements."""
    from ..adjudication import agreement
    from ..annotations import read_annotations, require_valid
    from ..scoring import gold_count, predicted_count

    docs = {path: read_annotations(path) for path in (file_a, file_b)}
    for path, annotated in docs.items():
        require_valid(annotated, str(path))  # an offset out of range or an unknown label would be scored as a disagreement
    result = agreement(docs[file_a], docs[file_b])
    rows = [
        (name, gold_count(prf), predicted_count(prf), f"{prf.precision:.3f}", f"{prf.recall:.3f}", f"{prf.fscore:.3f}")
        for name, prf in [*result.per_label.items(), ("ALL", result.overall)]
    ]
    msg.table(rows, header=("label", "A", "B", "P", "R", "F1"), divider=True)
    msg.text(f"strict span F1: {result.overall.fscore:.3f}   token-level Cohen's kappa: {result.kappa:.3f}")
    if result.confusion:
        msg.text("Label disagreements (A → B, ∅ = no span):", spaced=True)
        msg.table([(a, b, n) for (a, b), n in result.confusion.most_common()], header=("A", "B", "count"), divider=True)
    msg.text(f"{len(result.disagreements)} disagreements", spaced=True)
    for doc_id, group_a, group_b, context in result.disagreements[:show]:
        spans_a = ", ".join(f"{s.label}" for s in group_a) or "∅"
        spans_b = ", ".join(f"{s.label}" for s in group_b) or "∅"
        msg.text(f"  {doc_id}: A={spans_a} B={spans_b}  {context}")


@reports_errors
def adjudicate_cli(
    file_a: Path = typer.Argument(..., help="Annotator A's JSONL."),
    file_b: Path = typer.Argument(..., help="Annotator B's JSONL."),
    out: Path = typer.Option(..., "--out", "-o", help="Gold JSONL to write once every conflict is decided."),
    review: Path | None = typer.Option(None, "--review", "-r", help="Review file of conflicts (default: OUT with .review.jsonl)."),
    prefer: str | None = typer.Option(None, "--prefer", help="Settle undecided conflicts with A's or B's spans."),
    log: Path | None = typer.Option(None, "--log", help="Also write every conflict and its decision as Markdown."),
    revisions: Path | None = typer.Option(
        None, "--revisions", help="JSONL of later changes to the merged gold ({id, remove, add, note}; spans as \\[start, end, LABEL, surface])."
    ),
) -> None:
    """Merge two annotators: agreed spans kept, conflicts decided in a review file (or by --prefer).

    Revisions apply decisions taken after both passes (a new rule of the spec) to the merged gold.
    """
    from ..adjudication import adjudicate, adjudication_markdown, apply_revisions, read_review, read_revisions, write_review
    from ..annotations import read_annotations, write_annotations
    from ..corpus import atomic_write_text

    if revisions is not None and not revisions.is_file():
        raise missing_file(str(revisions), "Revisions file", "Check the path given to --revisions.")
    changes = read_revisions(revisions) if revisions is not None else []
    review = review or out.with_suffix(".review.jsonl")
    result = adjudicate(read_annotations(file_a), read_annotations(file_b), decisions=read_review(review), prefer=prefer)
    write_review(result.review, review)
    if log is not None:
        atomic_write_text(log, adjudication_markdown(file_a.name, file_b.name, result.review, changes, revisions.name if revisions else ""))
    msg.text(f"agreed spans: {result.agreed}  conflicts: {len(result.review)}  undecided: {result.unresolved}")
    if result.gold is None:
        msg.warn(f"{result.unresolved} conflicts wait for a decision in {review}")
        msg.text('Set "choice" to "A", "B", "none" or a list of spans [[start, end, "LABEL"]] and run again.')
        raise typer.Exit(1)
    gold = apply_revisions(result.gold, changes) if changes else result.gold
    write_annotations(gold, out)
    msg.good(f"Wrote {out} ({sum(len(d.spans) for d in gold)} spans); decisions in {review}" + (f", {len(changes)} revisions applied" if changes else ""))


@reports_errors
def dataset_cli(
    gold: list[Path] = typer.Argument(..., help="Gold JSONL files or folders (annotations/gold/)."),
    out: Path = typer.Option(paths.CORPUS, "--out", "-o", help="Folder for dataset/, *.spacy, *.conll and the card."),
    corpus: list[Path] = typer.Option([], "--corpus", "-c", help="Corpus JSONL(s) the gold must match; gives each document its source."),
    dev: float = typer.Option(0.1, "--dev", help="Fraction of documents for the dev split."),
    test: float = typer.Option(0.2, "--test", help="Fraction of documents for the test split."),
    folds: int = typer.Option(0, "--folds", "-k", help="Also record K document-grouped cross-validation folds."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split."),
) -> None:
    """Build the Hugging Face DatasetDict, spaCy DocBins, CoNLL files and the dataset card."""
    from ..dataset import build, label_counts, write_outputs

    built = build(gold, corpus_paths=corpus, dev=dev, test=test, folds=folds, seed=seed)
    _written, settled = write_outputs(built, out)
    if settled:
        msg.warn(f"{out}: {settled}")
    a = built.alignment
    msg.text(f"gold spans: {a.spans}; off token boundaries: syllables {len(a.syllable_misaligned)}, pyvi {len(a.pyvi_misaligned)}")
    for name, docs in built.splits.items():
        counts = label_counts(docs)
        msg.text(f"  {name:5} {len(docs):3} documents  {sum(counts.values()):5} spans  " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    msg.good(f"Wrote {out}/dataset, {out}/{{train,dev,test}}.spacy, .conll and {out}/README.md")


@reports_errors
def vectors_cli(
    texts: list[Path] = typer.Argument(..., help="Plain-text files, or JSONL files with a `text` field (.jsonl, .jsonl.gz, .jsonl.xz)."),
    out: Path = typer.Option(paths.VECTORS, "--out", "-o", help="spaCy vectors folder to write (replaced whole at the end)."),
    dim: int = typer.Option(100, "--dim", help="Vector width."),
    bucket: int = typer.Option(50_000, "--bucket", help="Rows of the hashed subword table (the vectors' size)."),
    minn: int = typer.Option(3, "--minn", help="Shortest character n-gram."),
    maxn: int = typer.Option(5, "--maxn", help="Longest character n-gram."),
    epoch: int = typer.Option(5, "--epoch", help="Passes over the text."),
    min_count: int = typer.Option(5, "--min-count", help="Words seen fewer times get no entry of their own (their subwords still train)."),
    threads: int = typer.Option(2, "--threads", help="Training threads."),
) -> None:
    """Train floret word vectors (cbow, hashed subwords) on plain Vietnamese text for the model.

    The text is cut by the pipeline's syllable tokenizer; the folder written is what
    `paths.vectors` in configs/ner.cfg points to.
    """
    from ..vectors import FloretSettings, train_floret

    settings = FloretSettings(dim=dim, bucket=bucket, minn=minn, maxn=maxn, epoch=epoch, min_count=min_count, threads=threads)
    with ProgressBar("Tokenising", unit=" tokens", unit_scale=True) as bar:
        facts = train_floret(texts, out, settings, progress=lambda tokens: bar(tokens, None))
    msg.good(f"Wrote {out}: {settings.bucket:,} × {settings.dim} floret vectors from {facts['training_tokens']:,} tokens ({facts['vocabulary']:,} words)")
