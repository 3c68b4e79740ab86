"""Two annotators compared and merged: agreement, conflicts, review decisions and revisions.

Every document of the gold was annotated twice by annotators working apart.
`agreement` measures how far they agree (strict span F1 with A as reference,
token-level kappa); `adjudicate` keeps what both found and turns every conflict
into a review record that a person decides against the spec; revisions carry
later spec decisions into gold that was already merged.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import cohen_kappa_score
from spacy.scorer import PRFScore

from . import errors
from .annotations import AnnotatedDoc, Span, context_of, parse_record, require_valid
from .corpus import atomic_write_text, iter_jsonl
from .labels import LabelSet, load_labels
from .scoring import count_matches

_SYLLABLE = re.compile(r"\w+|[^\w\s]")
MISSING = "∅"


def syllable_tokens(text: str) -> list[tuple[int, int]]:
    """Offsets of syllables and punctuation marks: the unit of token-level agreement."""
    return [(m.start(), m.end()) for m in _SYLLABLE.finditer(text)]


def token_labels(text: str, spans: Iterable[Span]) -> list[str]:
    """The label covering each syllable token, or `O`."""
    tokens = syllable_tokens(text)
    labels = ["O"] * len(tokens)
    for span in spans:
        for index, (start, end) in enumerate(tokens):
            if start < span.end and span.start < end:
                labels[index] = span.label
    return labels


@dataclass
class Agreement:
    overall: PRFScore
    per_label: dict[str, PRFScore]
    kappa: float
    confusion: Counter  # (label in A or ∅, label in B or ∅) -> count, disagreements only
    disagreements: list[tuple[str, list[Span], list[Span], str]]  # doc id, A spans, B spans, context


def pair_documents(a_docs: list[AnnotatedDoc], b_docs: list[AnnotatedDoc]) -> list[tuple[AnnotatedDoc, AnnotatedDoc]]:
    """Documents present in both files, which must hold the same text."""
    b_by_id = {doc.id: doc for doc in b_docs}
    shared = [doc for doc in a_docs if doc.id in b_by_id]
    if not shared:
        raise errors.VndiploError("The two files share no document id", "", "Compare two annotators' files of the same documents.")
    for doc in shared:
        if doc.text != b_by_id[doc.id].text:
            raise errors.VndiploError(f"Document {doc.id!r} has a different text in the two files", "", "Pull both annotators' work from the same corpus.")
    return [(doc, b_by_id[doc.id]) for doc in shared]


def conflict_groups(a: AnnotatedDoc, b: AnnotatedDoc) -> list[tuple[list[Span], list[Span]]]:
    """Spans not shared by A and B, clustered so that overlapping spans form one conflict."""
    shared = set(a.spans) & set(b.spans)
    tagged = sorted([(s, "a") for s in a.spans if s not in shared] + [(s, "b") for s in b.spans if s not in shared])
    groups: list[tuple[list[Span], list[Span], int]] = []
    for span, side in tagged:
        if groups and span.start < groups[-1][2]:
            group = groups[-1]
            groups[-1] = (group[0], group[1], max(group[2], span.end))
        else:
            groups.append(([], [], span.end))
        (groups[-1][0] if side == "a" else groups[-1][1]).append(span)
    return [(group_a, group_b) for group_a, group_b, _ in groups]


def agreement(a_docs: list[AnnotatedDoc], b_docs: list[AnnotatedDoc], labels: LabelSet | None = None) -> Agreement:
    """Strict span F1 (A as reference), token-level Cohen's kappa, label confusion and the disagreements."""
    labels = labels or load_labels()
    overall, per_label = PRFScore(), {name: PRFScore() for name in labels.names}
    a_tokens: list[str] = []
    b_tokens: list[str] = []
    confusion: Counter = Counter()
    disagreements = []
    for a, b in pair_documents(a_docs, b_docs):
        count_matches(set(a.spans), set(b.spans), overall, per_label)
        a_tokens += token_labels(a.text, a.spans)
        b_tokens += token_labels(b.text, b.spans)
        for group_a, group_b in conflict_groups(a, b):
            start = min(s.start for s in group_a + group_b)
            end = max(s.end for s in group_a + group_b)
            disagreements.append((a.id, group_a, group_b, context_of(a.text, start, end)))
            same_extent = {(s.start, s.end) for s in group_a} & {(s.start, s.end) for s in group_b}
            for span in group_a:
                partner = next((t.label for t in group_b if (t.start, t.end) == (span.start, span.end)), MISSING)
                confusion[(span.label, partner)] += 1
            for span in group_b:
                if (span.start, span.end) not in same_extent:
                    confusion[(MISSING, span.label)] += 1
    kappa = float(cohen_kappa_score(a_tokens, b_tokens)) if a_tokens else 0.0
    return Agreement(overall, per_label, kappa, confusion, disagreements)


# --- adjudication ----------------------------------------------------------------------

PREFERENCES = ("A", "B")


def _conflict_key(doc_id: str, group_a: list[Span], group_b: list[Span]) -> str:
    return json.dumps([doc_id, [s.to_list() for s in group_a], [s.to_list() for s in group_b]], ensure_ascii=False)


def _decided_spans(choice: object, group_a: list[Span], group_b: list[Span], text: str, where: str) -> list[Span]:
    if choice == "A":
        return group_a
    if choice == "B":
        return group_b
    if choice == "none":
        return []
    if isinstance(choice, list):
        spans = []
        for item in choice:
            surface = item[3] if isinstance(item, list) and len(item) == 4 else None
            span = parse_record({"id": where, "text": text, "label": [item[:3] if surface else item]}, where).spans[0]
            if surface is not None and text[span.start : span.end] != surface:
                raise errors.VndiploError(
                    f"Review decision at {where}: {span.start}-{span.end} is {text[span.start:span.end]!r}, not {surface!r}",
                    "",
                    "Fix the offsets of the chosen span in the review file.",
                )
            spans.append(span)
        return spans
    raise errors.VndiploError(
        f"Review decision {choice!r} is not understood ({where})",
        "a choice is \"A\", \"B\", \"none\" or a list of spans [[start, end, \"LABEL\"], ...]",
        "Fix the `choice` field in the review file and run adjudicate again.",
    )


@dataclass
class Adjudication:
    gold: list[AnnotatedDoc] | None  # None while conflicts wait for a decision
    review: list[dict]  # one record per conflict, with `choice` filled or null
    agreed: int
    unresolved: int


def adjudicate(
    a_docs: list[AnnotatedDoc],
    b_docs: list[AnnotatedDoc],
    *,
    decisions: list[dict] | None = None,
    prefer: str | None = None,
    labels: LabelSet | None = None,
) -> Adjudication:
    """Keep agreed spans; settle each conflict from a review decision or the `prefer` rule.

    A conflict nobody decided is never dropped: the gold is withheld and the
    review records say which decisions are missing.
    """
    if prefer is not None and prefer not in PREFERENCES:
        raise errors.VndiploError(f"--prefer takes A or B, not {prefer!r}", "", "")
    decided = {record["key"]: record for record in decisions or []}
    gold, review, agreed, unresolved = [], [], 0, 0
    for a, b in pair_documents(a_docs, b_docs):
        spans = sorted(set(a.spans) & set(b.spans))
        agreed += len(spans)
        for group_a, group_b in conflict_groups(a, b):
            key = _conflict_key(a.id, group_a, group_b)
            start = min(s.start for s in group_a + group_b)
            end = max(s.end for s in group_a + group_b)
            previous = decided.get(key, {})
            choice = previous.get("choice") or prefer
            record = {
                "key": key,
                "id": a.id,
                "start": start,
                "end": end,
                "context": context_of(a.text, start, end, width=60),
                "A": [[s.start, s.end, s.label, a.text[s.start : s.end]] for s in group_a],
                "B": [[s.start, s.end, s.label, b.text[s.start : s.end]] for s in group_b],
                "choice": choice,
                "note": previous.get("note", ""),
            }
            review.append(record)
            if choice is None:
                unresolved += 1
            else:
                spans += _decided_spans(choice, group_a, group_b, a.text, f"{a.id}:{start}-{end}")
        gold.append(AnnotatedDoc(a.id, a.text, sorted(set(spans)), a.meta))
    if not unresolved:
        require_valid(gold, "adjudicated gold", labels)
    return Adjudication(None if unresolved else gold, review, agreed, unresolved)


def _revision_spans(items: object, text: str, where: str) -> list[Span]:
    """[[start, end, LABEL, surface], ...] of a revision, each surface checked against the text."""
    if not isinstance(items, list) or not all(isinstance(item, list) and len(item) == 4 for item in items):
        raise errors.VndiploError(f"Revision {where}: spans must be [[start, end, \"LABEL\", \"surface\"], ...]", repr(items), "Fix the revisions file.")
    return _decided_spans([list(item) for item in items], [], [], text, where)


def apply_revisions(gold: list[AnnotatedDoc], revisions: list[dict], labels: LabelSet | None = None) -> list[AnnotatedDoc]:
    """Gold with later decisions applied: each revision removes and adds named spans in one document.

    Agreed spans are final for adjudication, but a spec decision made after both
    passes (date ranges, event names) must still reach them; a revision says
    which spans change and why, and fails if the gold no longer holds what it removes.
    """
    revised = {doc.id: doc for doc in gold}
    for number, revision in enumerate(revisions, start=1):
        doc = revised.get(str(revision.get("id")))
        if doc is None:
            raise errors.VndiploError(f"Revision {number} names document {revision.get('id')!r}, which the gold does not hold", "", "Fix the `id` in the revisions file.")
        where = f"{doc.id} (revision {number})"
        remove = set(_revision_spans(revision.get("remove", []), doc.text, where))
        missing = remove - set(doc.spans)
        if missing:
            raise errors.VndiploError(
                f"Revision {where} removes spans the gold does not hold", ", ".join(map(str, sorted(missing))), "The gold changed since the revision was written: check it and update the revision."
            )
        add = _revision_spans(revision.get("add", []), doc.text, where)
        revised[doc.id] = AnnotatedDoc(doc.id, doc.text, sorted((set(doc.spans) - remove) | set(add)), doc.meta)
    docs = [revised[doc.id] for doc in gold]
    require_valid(docs, "revised gold", labels)
    return docs


def revisions_log(revisions: list[dict]) -> str:
    """Markdown list of the revisions: what each removed and added, and why."""
    def spans(items: list) -> str:
        return "; ".join(f"{label} `{surface}`" for _s, _e, label, surface in items) or "nothing"

    return "\n".join(f"- `{r['id']}` removed {spans(r.get('remove', []))}; added {spans(r.get('add', []))} — {r.get('note', '')}" for r in revisions)


def _records_naming(path: Path, field: str, shape: str) -> list[dict]:
    """The objects of a JSONL file, each holding a string `field`; `shape` tells the user what a record is."""
    records = []
    for number, record in iter_jsonl(path):
        if not isinstance(record, dict) or not isinstance(record.get(field), str):
            raise errors.bad_jsonl(str(path), number, shape)
        records.append(record)
    return records


def read_review(path: Path) -> list[dict]:
    """Review records (conflict decisions, kept warnings): each an object with a string `key`."""
    if not path.exists():
        return []
    return _records_naming(path, "key", "a review record is an object with a string `key` (copy the records vndiplo wrote)")


def read_revisions(path: Path) -> list[dict]:
    """Revision records of `adjudicate --revisions`: each an object naming its document (`id`)."""
    return _records_naming(path, "id", "a revision is an object {id, remove, add, note} with the document's `id`")


def write_review(records: list[dict], path: Path) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def adjudication_log(review: list[dict]) -> str:
    """Markdown list of every conflict with both annotators' spans and the decision."""
    def spans(items: list) -> str:
        return "; ".join(f"{label} `{surface}`" for _s, _e, label, surface in items) or "no span"

    lines = []
    for record in review:
        choice = record.get("choice")
        decided = {"A": "A", "B": "B", "none": "no span"}.get(choice, None) if isinstance(choice, str) else None
        if decided is None and isinstance(choice, list):
            decided = "; ".join(f"{label} [{start}:{end}]" for start, end, label, *_ in choice)
        note = f" — {record['note']}" if record.get("note") else ""
        lines.append(f"- `{record['id']}` {record['context']}\n  A: {spans(record['A'])} | B: {spans(record['B'])} → **{decided or 'undecided'}**{note}")
    return "\n".join(lines)


def adjudication_markdown(a_name: str, b_name: str, review: list[dict], revisions: list[dict], revisions_name: str = "") -> str:
    """The readable record of one adjudication: every conflict and its decision, then the revisions applied."""
    text = f"# Adjudication of {a_name} and {b_name}\n\n" + adjudication_log(review) + "\n"
    if revisions:
        text += f"\n## Revisions after adjudication ({revisions_name})\n\n" + revisions_log(revisions) + "\n"
    return text
