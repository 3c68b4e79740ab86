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
row whose id did not change, so a better knowledge base is re-measured by checking only what moved.
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


def sample_rows(
    docs: list[AnnotatedDoc], nlp: Any, *, sizes: dict[str, int] = SAMPLE_SIZES, seed: int = 0, previous: Iterable[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """A fixed-seed random sample of gold mentions per label, each with the id it got and an empty verdict.

    Rows of `previous` (an earlier checked sample) whose mention and id are unchanged keep their verdict.
    """
    kept = {(row["doc_id"], row["start"], row["end"], row["kb_id"]): row for row in previous if row.get("verdict")}
    names = {entity_id: entity.name for entity_id, entity in nlp.get_pipe("entity_ids").kb.entities.items()}
    mentions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in docs:
        spans = sorted(doc.spans)
        linked = link_gold(nlp, AnnotatedDoc(doc.id, doc.text, spans))
        for span, kb_id in zip(spans, linked):
            if span.label in sizes:
                mentions[span.label].append(
                    {
                        "doc_id": doc.id, "start": span.start, "end": span.end, "label": span.label,
                        "text": doc.text[span.start : span.end], "context": context_of(doc.text, span.start, span.end, 60),
                        "kb_id": kb_id, "kb_name": names.get(kb_id, ""),
                    }
                )
    rng = random.Random(seed)
    rows = []
    for label, size in sizes.items():
        for row in rng.sample(mentions[label], min(size, len(mentions[label]))):
            earlier = kept.get((row["doc_id"], row["start"], row["end"], row["kb_id"]), {})
            rows.append({**row, "verdict": earlier.get("verdict", ""), "note": earlier.get("note", "")})
    return rows


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


def scores_markdown(scores: dict[str, dict[str, Any]], *, sample: str) -> str:
    lines = [
        "# Entity ids on the gold: a hand-checked sample",
        "",
        f"`vndiplo kb-score {sample}`: every row of the sample read and judged (`right`, `wrong`, `missed`: no id though",
        "the entity has a Wikidata item, `unlinkable`: no id due). Precision = right / ids given; coverage = right / mentions;",
        "coverage of linkable = right / (right + wrong + missed).",
        "",
        "| label | mentions | right | wrong | missed | unlinkable | precision | coverage | coverage of linkable |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, s in sorted(scores.items(), key=lambda item: (item[0] == "all", item[0])):
        name = "**all**" if label == "all" else label
        lines.append(
            f"| {name} | {s['mentions']} | {s['right']} | {s['wrong']} | {s['missed']} | {s['unlinkable']} | "
            f"{_figure(s['precision'])} | {_figure(s['coverage'])} | {_figure(s['coverage_of_linkable'])} |"
        )
    return "\n".join(lines) + "\n"


def write_scores(scores: dict[str, dict[str, Any]], out: Path, *, sample: str) -> str:
    """The scores as a Markdown table at `out` and as JSON beside it; returns the table."""
    table = scores_markdown(scores, sample=sample)
    atomic_write_text(out, table)
    atomic_write_text(out.with_suffix(".json"), json.dumps(scores, indent=2) + "\n")
    return table
