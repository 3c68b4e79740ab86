"""Strict span scoring as the spec defines it: a span counts only with its label and both offsets.

Scores are computed on character spans, so the trained pipeline and the baselines
are measured the same way on the same documents. Counting is spaCy's `PRFScore`;
this module adds what a span-level report needs around it: per-label and coarse
tables of counts, the confusion of labels, the list of errors and an interval.
Everything here is pure.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from spacy.scorer import PRFScore

from .annotations import AnnotatedDoc, Span, context_of
from .labels import LabelSet, load_labels

MISSED = "(missed)"
SPURIOUS = "(spurious)"
COARSE_LABELS = ("PER", "ORG", "LOC", "MISC")


def gold_count(prf: PRFScore) -> int:
    """The gold (reference) spans behind a score: found and missed."""
    return prf.tp + prf.fn


def predicted_count(prf: PRFScore) -> int:
    """The predicted spans behind a score: right and wrong."""
    return prf.tp + prf.fp


def prf_dict(prf: PRFScore) -> dict:
    """A score with its counts, as the JSON reports hold it."""
    return {"p": prf.precision, "r": prf.recall, "f": prf.fscore, "tp": prf.tp, "fp": prf.fp, "fn": prf.fn}


def count_matches(gold: set[Span], predicted: set[Span], overall: PRFScore, per_label: dict[str, PRFScore]) -> None:
    """Add strict matches (label and both offsets) to the overall and per-label counts."""
    overall.score_set(predicted, gold)
    for label in {span.label for span in gold | predicted}:
        per_label.setdefault(label, PRFScore()).score_set({s for s in predicted if s.label == label}, {s for s in gold if s.label == label})


@dataclass
class Scores:
    per_label: dict[str, PRFScore]
    micro: PRFScore
    coarse: dict[str, PRFScore]
    coarse_micro: PRFScore
    confusion: Counter = field(default_factory=Counter)  # (gold label or SPURIOUS, predicted label or MISSED)
    errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "micro": prf_dict(self.micro),
            "per_label": {label: prf_dict(p) for label, p in self.per_label.items()},
            "coarse_micro": prf_dict(self.coarse_micro),
            "coarse": {label: prf_dict(p) for label, p in self.coarse.items()},
            "confusion": [[gold, pred, n] for (gold, pred), n in sorted(self.confusion.items())],
            "errors": self.errors,
        }


def to_coarse(spans: Iterable[Span], mapping: dict[str, str]) -> set[Span]:
    return {Span(s.start, s.end, mapping[s.label]) for s in spans if s.label in mapping}


def score(gold_docs: list[AnnotatedDoc], pred_docs: list[AnnotatedDoc], labels: LabelSet | None = None, *, coarse_only: bool = False) -> Scores:
    """Strict P/R/F1 per label and micro-averaged, coarse scores, confusion and errors.

    With `coarse_only` the predictions already carry coarse labels (a
    PER/ORG/LOC/MISC tool) and only coarse scores are meaningful.
    """
    labels = labels or load_labels()
    mapping = labels.coarse
    predicted = {doc.id: doc for doc in pred_docs}
    per_label = {name: PRFScore() for name in labels.names}
    coarse = {name: PRFScore() for name in COARSE_LABELS}
    micro, coarse_micro = PRFScore(), PRFScore()
    confusion: Counter = Counter()
    errors = []
    for gold in gold_docs:
        pred_spans = set(predicted[gold.id].spans) if gold.id in predicted else set()
        gold_spans = set(gold.spans)
        if coarse_only:
            count_matches(to_coarse(gold_spans, mapping), pred_spans, coarse_micro, coarse)
            continue
        count_matches(gold_spans, pred_spans, micro, per_label)
        count_matches(to_coarse(gold_spans, mapping), to_coarse(pred_spans, mapping), coarse_micro, coarse)
        pred_by_offsets = {(s.start, s.end): s.label for s in pred_spans}
        gold_by_offsets = {(s.start, s.end): s.label for s in gold_spans}
        for span in sorted(gold_spans):
            predicted_label = pred_by_offsets.get((span.start, span.end), MISSED)
            confusion[(span.label, predicted_label)] += 1
            if predicted_label != span.label:
                errors.append({"id": gold.id, "start": span.start, "end": span.end, "gold": span.label, "predicted": predicted_label, "context": context_of(gold.text, span.start, span.end)})
        for span in sorted(pred_spans):
            if (span.start, span.end) not in gold_by_offsets:
                confusion[(SPURIOUS, span.label)] += 1
                errors.append({"id": gold.id, "start": span.start, "end": span.end, "gold": SPURIOUS, "predicted": span.label, "context": context_of(gold.text, span.start, span.end)})
    return Scores(per_label, micro, coarse, coarse_micro, confusion, errors)


def mean_std(values: list[float]) -> tuple[float, float]:
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)


def bootstrap_interval(gold: list[AnnotatedDoc], predicted: list[AnnotatedDoc], *, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% interval of strict micro-F1 when the documents are resampled with replacement."""
    predicted_by_id = {doc.id: doc for doc in predicted}
    counts = []
    for doc in gold:
        gold_spans, predicted_spans = set(doc.spans), set(predicted_by_id[doc.id].spans)
        counts.append((len(gold_spans & predicted_spans), len(predicted_spans - gold_spans), len(gold_spans - predicted_spans)))
    rng = random.Random(seed)
    f1s = []
    for _ in range(resamples):
        tp = fp = fn = 0
        for a, b, c in rng.choices(counts, k=len(counts)):
            tp, fp, fn = tp + a, fp + b, fn + c
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    f1s.sort()
    return f1s[int(0.025 * resamples)], f1s[int(0.975 * resamples) - 1]
