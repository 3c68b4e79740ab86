"""Commands of entity ids: who is who in a corpus, and the hand check of the ids on the gold."""

from __future__ import annotations

from pathlib import Path

import typer

from .. import paths
from ..errors import VndiploError, missing_file
from .common import msg, reports_errors

KB_SAMPLE = Path("annotations/kb-check/sample.jsonl")


@reports_errors
def entities_cli(
    inputs: list[Path] = typer.Argument(..., help="Corpus or Doccano JSONL files (.jsonl, .jsonl.gz) or folders of .txt."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for entities.md, entities.json and entities.png."),
    model: Path | None = typer.Option(None, "--model", "-m", help="Pipeline folder (default training/model-best); it needs the entity_ids component."),
    top: int = typer.Option(25, "--top", min=1, help="Entities and person–partner pairs to list."),
) -> None:
    """Who is who: the most mentioned entities by id with their spellings, and which people appear with which states and organisations (same sentence)."""
    from ..entity_report import write_entity_report
    from ..model import entity_names, load
    from ..stream import pipe_spans, read_docs

    for path in inputs:
        if not path.exists():
            raise missing_file(str(path), "Corpus", "Give a corpus JSONL (`vndiplo ingest`), a .jsonl.gz or a folder of .txt files.")
    nlp = load(model)
    if "entity_ids" not in nlp.pipe_names:
        raise VndiploError(f"The pipeline {model or paths.MODEL} has no entity_ids component", "", "Train a model with the current configs/ner.cfg (`make train`).")
    report = write_entity_report(pipe_spans(nlp, read_docs(inputs)), entity_names(nlp), out, top=top)
    msg.good(f"Wrote {out}/entities.md, entities.json and entities.png ({report['documents']} documents, {len(report['entities'])} entities listed)")


@reports_errors
def kb_sample_cli(
    gold: list[Path] = typer.Argument(..., help="Gold JSONL files whose mentions are sampled."),
    out: Path = typer.Option(KB_SAMPLE, "--out", "-o", help="The sample to check by hand; verdicts already in it are kept where the id did not change."),
    kb: Path = typer.Option(Path(paths.KNOWLEDGE_BASE), "--kb", help="Knowledge base the linker reads."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random draw."),
    relink: bool = typer.Option(False, "--relink", help="Link the rows already in --out again instead of drawing (a redraw picks other mentions once the gold has grown)."),
    exclude: list[Path] = typer.Option([], "--exclude", help="Samples whose mentions are not drawn (those that guided the knowledge base); repeatable."),
) -> None:
    """Draw a fixed-seed random sample of gold mentions per label and write the id the linker gives each (for a hand check)."""
    from ..annotations import read_annotation_paths
    from ..kb_check import linker_pipeline, read_rows, relink_rows, sample_rows, write_rows

    previous = read_rows(out) if out.exists() or relink else []
    docs, nlp = read_annotation_paths(gold), linker_pipeline(kb)
    if relink:
        rows = relink_rows(docs, nlp, previous)
    else:
        rows = sample_rows(docs, nlp, seed=seed, previous=previous, exclude=[row for path in exclude for row in read_rows(path)])
    write_rows(rows, out)
    msg.good(f"Wrote {out}: {len(rows)} mentions, {sum(not row['verdict'] for row in rows)} without a verdict")


@reports_errors
def kb_score_cli(
    samples: list[Path] = typer.Argument(..., help="Hand-checked samples, one table each in this order (the fresh sample first)."),
    out: Path = typer.Option(Path("reports/entity-ids.md"), "--out", "-o", help="Markdown tables; the figures go beside it as JSON (.json), by sample."),
) -> None:
    """Precision and coverage of the entity ids per label, from the hand-checked samples."""
    from ..kb_check import read_rows, score_rows, write_scores

    typer.echo(write_scores({str(sample): score_rows(read_rows(sample)) for sample in samples}, out))
    msg.good(f"Wrote {out} and {out.with_suffix('.json')}")
