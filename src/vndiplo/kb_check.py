"""How right the entity ids are: a random sample of gold mentions, linked, checked by hand, scored.

The linker runs on the gold spans (a Doc whose entities are the gold ones), so the figures measure the
knowledge base and the resolution rules, not the NER. `sample_rows` draws a fixed-seed random sample of
mentions per label and writes what the linker said; a person reads every row and sets its `verdict`:

- `right`: the id is the entity the mention names;
- `wrong`: the id is another entity;
- `missed`: no id, though the mention names an entity that has a Wikidata item (it should resolve);
- `unlinkable`: no id, and none is due (a private person, a commune, a name too vague to pin down).

`score_rows` turns the checked file into precision (right / ids given) and coverage (right / mentions,
and right / mentions that should resolve) per label. Drawing the sample again keeps the verdict of every
row whose id did not change, so a better knowledge base is re-measured by checking only what moved;
`relink_rows` links the very rows of a checked sample again (a redraw would pick other mentions once
the gold has grown). A fresh sample is drawn with another seed, leaving out the mentions of the samples
that guided the work on the knowledge base (`exclude`): it is the honest figure.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import errors
from .annotations import AnnotatedDoc, context_of
from .corpus import atomic_write_text, iter_jsonl

VERDICTS = ("right", "wrong", "missed", "unlinkable")
SAMPLE_SIZES = {"GPE": 130, "ORG": 130, "PER": 130, "LOC": 50, "EVENT": 40, "AGREEMENT": 40}


def linker_pipeline(kb_path: Path) -> Any:
    """The project's tokenizer and the `entity_ids` component alone, filled from `kb_path`."""
    from .dataset import blank_nlp
    from .entity_ids import KnowledgeBaseError

    nlp = blank_nlp()
    nlp.add_pipe("vndiplo_entity_ids", name="entity_ids")
    try:
        nlp.get_pipe("entity_ids").initialize(kb_path=str(kb_path))
    except KnowledgeBaseError as error:
        raise errors.bad_knowledge_base(str(error)) from None
    return nlp


def link_gold(nlp: Any, doc: AnnotatedDoc) -> list[str]:
    """The id the pipeline's `entity_ids` gives each gold span of `doc` (in `doc.spans` order)."""
    parsed = nlp.make_doc(doc.text)
    ents = []
    for span in doc.spans:
        ent = parsed.char_span(span.start, span.end, label=span.label)
        if ent is None:
            raise errors.VndiploError(f"{doc.id}: the span {span.start}-{span.end} does not fit the tokenizer", "", "Check the gold with `vndiplo validate`.")
        ents.append(ent)
    parsed.ents = ents
    linked = nlp.get_pipe("entity_ids")(parsed)
    by_offsets = {(ent.start_char, ent.end_char): ent.kb_id_ for ent in linked.ents}
    return [by_offsets.get((span.start, span.end), "") for span in doc.spans]


def _linked_mentions(docs: list[AnnotatedDoc], nlp: Any, labels: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every gold mention of these labels with the id the linker gives it, per label, in document order."""
    names = {entity_id: entity.name for entity_id, entity in nlp.get_pipe("entity_ids").kb.entities.items()}
    wanted = set(labels)
    mentions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in docs:
        spans = sorted(doc.spans)
        linked = link_gold(nlp, AnnotatedDoc(doc.id, doc.text, spans))
        for span, kb_id in zip(spans, linked):
            if span.label in wanted:
                mentions[span.label].append(
                    {
                        "doc_id": doc.id, "start": span.start, "end": span.end, "label": span.label,
                        "text": doc.text[span.start : span.end], "context": context_of(doc.text, span.start, span.end, 60),
                        "kb_id": kb_id, "kb_name": names.get(kb_id, ""),
                    }
                )
    return mentions


def _mention_key(row: dict[str, Any]) -> tuple[str, int, int]:
    return (row["doc_id"], row["start"], row["end"])


def _with_kept_verdict(row: dict[str, Any], kept: dict[tuple[str, int, int, str], dict[str, Any]]) -> dict[str, Any]:
    earlier = kept.get((*_mention_key(row), row["kb_id"]), {})
    return {**row, "verdict": earlier.get("verdict", ""), "note": earlier.get("note", "")}


def _checked(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, int, int, str], dict[str, Any]]:
    return {(*_mention_key(row), row["kb_id"]): row for row in rows if row.get("verdict")}


def sample_rows(
    docs: list[AnnotatedDoc],
    nlp: Any,
    *,
    sizes: dict[str, int] = SAMPLE_SIZES,
    seed: int = 0,
    previous: Iterable[dict[str, Any]] = (),
    exclude: Iterable[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """A fixed-seed random sample of gold mentions per label, each with the id it got and an empty verdict.

    Rows of `previous` (an earlier checked sample) whose mention and id are unchanged keep their verdict;
    the mentions of `exclude` (samples already used) are not drawn.
    """
    kept = _checked(previous)
    excluded = {_mention_key(row) for row in exclude}
    mentions = _linked_mentions(docs, nlp, sizes)
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for label, size in sizes.items():
        pool = [row for row in mentions[label] if _mention_key(row) not in excluded]
        rows.extend(_with_kept_verdict(row, kept) for row in rng.sample(pool, min(size, len(pool))))
    return rows


def relink_rows(docs: list[AnnotatedDoc], nlp: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same rows linked again: a row keeps its verdict where its id did not change, else it is to check."""
    mentions = _linked_mentions(docs, nlp, {row["label"] for row in rows})
    current = {_mention_key(row): row for label_rows in mentions.values() for row in label_rows}
    missing = [f"{row['doc_id']}:{row['start']}-{row['end']}" for row in rows if _mention_key(row) not in current]
    if missing:
        raise errors.VndiploError(
            f"{len(missing)} rows of the sample are no longer gold mentions",
            errors.truncated_list(missing, 10, ", ", " "),
            "Draw a new sample (`vndiplo kb-sample --seed N`) instead of linking this one again.",
        )
    kept = _checked(rows)
    return [_with_kept_verdict(current[_mention_key(row)], kept) for row in rows]


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise errors.missing_file(str(path), "Checked sample", "Draw it with `vndiplo kb-sample`, then set each row's verdict.")
    return [row for _number, row in iter_jsonl(path)]


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    """The sample as JSON Lines, atomically: one mention a line, with its id and verdict."""
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def score_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Precision and coverage per label (and over all rows) from checked rows; every row needs a verdict."""
    unchecked = [f"{row['doc_id']}:{row['start']}-{row['end']}" for row in rows if row.get("verdict") not in VERDICTS]
    if unchecked:
        raise errors.VndiploError(
            f"{len(unchecked)} rows have no verdict",
            errors.truncated_list(unchecked, 10, ", ", " "),
            f"Set `verdict` to one of {', '.join(VERDICTS)} in every row.",
        )
    wrong_verdicts = [f"{row['doc_id']}:{row['start']}-{row['end']}" for row in rows if (row["verdict"] in ("right", "wrong")) != bool(row["kb_id"])]
    if wrong_verdicts:
        raise errors.VndiploError(
            "Verdicts that do not fit their row",
            errors.truncated_list(wrong_verdicts, 10, ", ", " "),
            "`right`/`wrong` judge an id; `missed`/`unlinkable` a row without one.",
        )
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["label"]].append(row)
        groups["all"].append(row)
    scores = {}
    for label, group in groups.items():
        count = {verdict: sum(row["verdict"] == verdict for row in group) for verdict in VERDICTS}
        given = count["right"] + count["wrong"]
        due = given + count["missed"]
        scores[label] = {
            "mentions": len(group),
            **count,
            "precision": count["right"] / given if given else None,
            "coverage": count["right"] / len(group),
            "coverage_of_linkable": count["right"] / due if due else None,
        }
    return scores


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def scores_markdown(scores_by_sample: dict[str, dict[str, dict[str, Any]]]) -> str:
    """One table per sample, in the order given (the fresh sample first: the honest figure)."""
    lines = [
        "# Entity ids on the gold: hand-checked samples",
        "",
        f"`vndiplo kb-score {' '.join(scores_by_sample)}`: every row of each sample read and judged (`right`, `wrong`,",
        "`missed`: no id though the entity has a Wikidata item, `unlinkable`: no id due). Precision = right / ids given;",
        "coverage = right / mentions; coverage of linkable = right / (right + wrong + missed).",
    ]
    for sample, scores in scores_by_sample.items():
        lines += ["", f"## {sample}", "", *_table(scores)]
    return "\n".join(lines) + "\n"


def _table(scores: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| label | mentions | right | wrong | missed | unlinkable | precision | coverage | coverage of linkable |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, s in sorted(scores.items(), key=lambda item: (item[0] == "all", item[0])):
        name = "**all**" if label == "all" else label
        lines.append(
            f"| {name} | {s['mentions']} | {s['right']} | {s['wrong']} | {s['missed']} | {s['unlinkable']} | "
            f"{_figure(s['precision'])} | {_figure(s['coverage'])} | {_figure(s['coverage_of_linkable'])} |"
        )
    return lines


def write_scores(scores_by_sample: dict[str, dict[str, dict[str, Any]]], out: Path) -> str:
    """The scores of each sample as Markdown tables at `out` and as JSON beside it (by sample); returns the tables."""
    tables = scores_markdown(scores_by_sample)
    atomic_write_text(out, tables)
    atomic_write_text(out.with_suffix(".json"), json.dumps(scores_by_sample, indent=2) + "\n")
    return tables
