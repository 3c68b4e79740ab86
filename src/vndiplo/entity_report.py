"""Who is who in a corpus: the entities by id with their spellings, and who appears with whom.

`vndiplo entities CORPUS --out DIR` runs the pipeline over a corpus (through `stream.pipe_spans`, so
any document length works) and counts mentions by the id the `entity_ids` component resolved, not by
surface: `Mỹ`, `Hoa Kỳ` and `Washington` add up to one state. It reports the most mentioned entities
with the spellings they came under, and which people appear in the same sentence as which states and
organisations, as Markdown, JSON and a PNG chart. Mentions without an id are counted apart, so the
reader sees how much of the corpus the knowledge base covers.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .annotations import AnnotatedDoc
from .corpus import atomic_write_text
from .reports import pyplot, save_png

LINKED_LABELS = ("PER", "ORG", "GPE", "LOC", "EVENT", "AGREEMENT")
PARTNER_LABELS = ("GPE", "ORG")
# A sentence ends at a line break, or at a space after . ! ? … (and a closing quote or bracket).
_SENTENCE_END = re.compile(r"\n+|(?<=[.!?…])\s+|(?<=[.!?…][\"'”’)\]])\s+")

def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: cut at line breaks and after sentence-final punctuation."""
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > start:
            bounds.append((start, match.start()))
        start = match.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds


@dataclass
class EntityCounts:
    """Mentions by id across a corpus, the spellings of each id, and people × states/organisations by sentence."""

    mentions: Counter[str] = field(default_factory=Counter)
    documents: Counter[str] = field(default_factory=Counter)
    spellings: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    labels: dict[str, str] = field(default_factory=dict)
    together: Counter[tuple[str, str]] = field(default_factory=Counter)
    linked: Counter[str] = field(default_factory=Counter)  # per label: mentions with an id
    unlinked: Counter[str] = field(default_factory=Counter)  # per label: mentions without one
    document_count: int = 0


def count_entities(docs: Iterable[AnnotatedDoc]) -> EntityCounts:
    """Count the resolved spans of predicted documents (spans carry `kb_id`)."""
    counts = EntityCounts()
    for doc in docs:
        counts.document_count += 1
        seen: set[str] = set()
        for span in doc.spans:
            if span.label not in LINKED_LABELS:
                continue
            if not span.kb_id:
                counts.unlinked[span.label] += 1
                continue
            counts.linked[span.label] += 1
            counts.mentions[span.kb_id] += 1
            counts.spellings[span.kb_id][doc.text[span.start : span.end]] += 1
            counts.labels.setdefault(span.kb_id, span.label)
            seen.add(span.kb_id)
        counts.documents.update(seen)
        for start, end in sentence_bounds(doc.text):
            inside = [span for span in doc.spans if span.kb_id and start <= span.start and span.end <= end]
            people = {span.kb_id for span in inside if span.label == "PER"}
            partners = {span.kb_id for span in inside if span.label in PARTNER_LABELS}
            counts.together.update((person, partner) for person in people for partner in partners)
    return counts


def _name(entity_id: str, names: dict[str, str]) -> str:
    return names.get(entity_id, entity_id)


def report_json(counts: EntityCounts, names: dict[str, str], *, top: int) -> dict[str, Any]:
    return {
        "documents": counts.document_count,
        "coverage": {
            label: {"linked": counts.linked[label], "unlinked": counts.unlinked[label]}
            for label in LINKED_LABELS
            if counts.linked[label] + counts.unlinked[label]
        },
        "entities": [
            {
                "id": entity_id,
                "name": _name(entity_id, names),
                "label": counts.labels[entity_id],
                "mentions": mentions,
                "documents": counts.documents[entity_id],
                "spellings": dict(counts.spellings[entity_id].most_common()),
            }
            for entity_id, mentions in counts.mentions.most_common(top)
        ],
        "people_with": [
            {"person": person, "person_name": _name(person, names), "with": partner, "with_name": _name(partner, names), "sentences": sentences}
            for (person, partner), sentences in counts.together.most_common(top)
        ],
    }


def report_markdown(report: dict[str, Any], *, title: str) -> str:
    lines = [f"# {title}", "", f"{report['documents']} documents. Mentions with an id, by label:", ""]
    lines += ["| label | with an id | without | share |", "|---|---|---|---|"]
    for label, seen in report["coverage"].items():
        total = seen["linked"] + seen["unlinked"]
        lines.append(f"| {label} | {seen['linked']} | {seen['unlinked']} | {seen['linked'] / total:.3f} |")
    lines += ["", "## Most mentioned entities", "", "| entity | id | label | mentions | documents | spellings |", "|---|---|---|---|---|---|"]
    for entity in report["entities"]:
        spellings = ", ".join(f"{surface} ({n})" for surface, n in entity["spellings"].items())
        lines.append(f"| {entity['name']} | {entity['id']} | {entity['label']} | {entity['mentions']} | {entity['documents']} | {spellings} |")
    lines += ["", "## People in the same sentence as states and organisations", "", "| person | with | sentences |", "|---|---|---|"]
    for pair in report["people_with"]:
        lines.append(f"| {pair['person_name']} ({pair['person']}) | {pair['with_name']} ({pair['with']}) | {pair['sentences']} |")
    return "\n".join(lines) + "\n"


def plot_chart(report: dict[str, Any], path: Path) -> None:
    """Two panels: mentions of the top entities by id, and sentences shared by people and states/organisations."""
    plt = pyplot()

    entities = report["entities"][::-1]
    pairs = report["people_with"][::-1]
    height = max(4.0, 0.3 * max(len(entities), len(pairs)) + 1.5)
    fig, (left, right) = plt.subplots(1, 2, figsize=(16, height))
    colours = {label: plt.cm.tab10(index) for index, label in enumerate(LINKED_LABELS)}
    left.barh([e["name"] for e in entities], [e["mentions"] for e in entities], color=[colours[e["label"]] for e in entities])
    left.set_title("Mentions by entity (all spellings)")
    left.set_xlabel("mentions")
    for label, colour in colours.items():
        left.bar(0, 0, color=colour, label=label)
    left.legend(loc="lower right", fontsize="small")
    right.barh([f"{p['person_name']} – {p['with_name']}" for p in pairs], [p["sentences"] for p in pairs], color="tab:gray")
    right.set_title("Person with state or organisation")
    right.set_xlabel("sentences")
    fig.tight_layout()
    save_png(fig, path)


def write_entity_report(docs: Iterable[AnnotatedDoc], names: dict[str, str], out: Path, *, top: int = 25, title: str = "Who is who") -> dict[str, Any]:
    """entities.md, entities.json and entities.png in `out` from predicted documents; returns the report."""
    report = report_json(count_entities(docs), names, top=top)
    atomic_write_text(out / "entities.json", json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    atomic_write_text(out / "entities.md", report_markdown(report, title=title))
    plot_chart(report, out / "entities.png")
    return report
