"""Evaluation with the spec's strict span matching: label and both offsets.

Scores are computed on character spans, so the trained pipeline and the
baselines (a gazetteer, underthesea's NER) are measured the same way on the
same documents. Reports are data (JSON), prose (Markdown) and a PNG.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .annotations import PRF, AnnotatedDoc, Span, context_of, count_matches, require_valid
from .corpus import atomic_write_text
from .date_rules import date_spans
from .labels import LabelSet, load_labels
from .text import is_word_bounded

MISSED = "(missed)"
SPURIOUS = "(spurious)"
COARSE_LABELS = ("PER", "ORG", "LOC", "MISC")

Predictor = Callable[[list[AnnotatedDoc]], list[AnnotatedDoc]]


@dataclass
class Scores:
    per_label: dict[str, PRF]
    micro: PRF
    coarse: dict[str, PRF]
    coarse_micro: PRF
    confusion: Counter = field(default_factory=Counter)  # (gold label or SPURIOUS, predicted label or MISSED)
    errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        def prf(p: PRF) -> dict:
            return {"p": p.precision, "r": p.recall, "f": p.f1, "tp": p.tp, "fp": p.fp, "fn": p.fn}

        return {
            "micro": prf(self.micro),
            "per_label": {label: prf(p) for label, p in self.per_label.items()},
            "coarse_micro": prf(self.coarse_micro),
            "coarse": {label: prf(p) for label, p in self.coarse.items()},
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
    per_label = {name: PRF() for name in labels.names}
    coarse = {name: PRF() for name in COARSE_LABELS}
    micro, coarse_micro = PRF(), PRF()
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


# --- predictors --------------------------------------------------------------------------


def model_predictor(nlp) -> Predictor:
    """The pipeline's own spans (untrimmed), a document of any length included."""
    from .stream import pipe_spans

    return lambda docs: list(pipe_spans(nlp, docs))


def build_gazetteer(train_docs: list[AnnotatedDoc]) -> dict[str, str]:
    """Every surface string seen in training, with the label it had most often."""
    seen: dict[str, Counter] = {}
    for doc in train_docs:
        for span in doc.spans:
            seen.setdefault(doc.text[span.start : span.end], Counter())[span.label] += 1
    return {surface: counts.most_common(1)[0][0] for surface, counts in seen.items()}


def gazetteer_spans(text: str, gazetteer: dict[str, str]) -> list[Span]:
    """Longest-first, non-overlapping, whole-word matches of the gazetteer's surfaces."""
    taken = [False] * len(text)
    spans = []
    for surface in sorted(gazetteer, key=len, reverse=True):
        position = text.find(surface)
        while position != -1:
            end = position + len(surface)
            if is_word_bounded(text, position, end) and not any(taken[position:end]):
                spans.append(Span(position, end, gazetteer[surface]))
                for i in range(position, end):
                    taken[i] = True
            position = text.find(surface, position + 1)
    return sorted(spans)


def gazetteer_predictor(train_docs: list[AnnotatedDoc]) -> Predictor:
    gazetteer = build_gazetteer(train_docs)
    return lambda docs: [AnnotatedDoc(d.id, d.text, gazetteer_spans(d.text, gazetteer)) for d in docs]


GAZETTEER_FILE = Path(__file__).resolve().parents[2] / "configs" / "gazetteers" / "entities.tsv"
def read_gazetteer(path: Path = GAZETTEER_FILE) -> dict[str, str]:
    """The project's own entity lists: `surface<TAB>LABEL` per line."""
    from .text import decode_utf8

    entries = {}
    for number, line in enumerate(decode_utf8(path.read_bytes(), str(path)).splitlines(), start=1):
        if line.strip():
            surface, _, label = line.partition("\t")
            if label not in load_labels():
                from .errors import VndiploError

                raise VndiploError(f"{path}:{number}: unknown label {label!r}", line, "Use a label of configs/labels.json.")
            entries[surface] = label
    return entries


def fill_gaps(spans: list[Span], extra: list[Span]) -> list[Span]:
    """`spans` plus the `extra` spans that overlap none of them (an entity ruler that never overrides)."""
    return sorted(spans + [e for e in extra if not any(e.start < s.end and s.start < e.end for s in spans)])


def rules_spans(text: str, gazetteer: dict[str, str]) -> list[Span]:
    """Calendar expressions by pattern, then gazetteer names where no date is."""
    return fill_gaps([Span(start, end, "DATE") for start, end in date_spans(text)], gazetteer_spans(text, gazetteer))


def rules_predictor(gazetteer: dict[str, str]) -> Predictor:
    """A baseline with no training data: project gazetteers (`read_gazetteer`) plus date patterns."""
    return lambda docs: [AnnotatedDoc(d.id, d.text, rules_spans(d.text, gazetteer)) for d in docs]


def add_rules(predicted: list[AnnotatedDoc], gazetteer: dict[str, str]) -> list[AnnotatedDoc]:
    """Predicted spans, gaps filled by the rules baseline: does the gazetteer add to a model?"""
    return [AnnotatedDoc(d.id, d.text, fill_gaps(d.spans, rules_spans(d.text, gazetteer))) for d in predicted]


def underthesea_spans(text: str) -> list[Span]:
    """underthesea's CRF NER (PER/ORG/LOC/MISC), tokens mapped back to character offsets."""
    from underthesea import ner

    spans: list[Span] = []
    offset = 0
    for line in text.split("\n"):
        cursor = 0
        current: list[int] | None = None  # [start, end, label]
        for token, _pos, _chunk, tag in ner(line) if line.strip() else []:
            found = line.find(token, cursor)
            if found == -1:
                current = None
                continue
            start, end = found, found + len(token)
            cursor = end
            kind = tag[2:] if "-" in tag else None
            if tag.startswith("B-") or (tag.startswith("I-") and (current is None or current[2] != kind)):
                if current:
                    spans.append(Span(offset + current[0], offset + current[1], current[2]))
                current = [start, end, kind]
            elif tag.startswith("I-") and current:
                current[1] = end
            else:
                if current:
                    spans.append(Span(offset + current[0], offset + current[1], current[2]))
                current = None
        if current:
            spans.append(Span(offset + current[0], offset + current[1], current[2]))
        offset += len(line) + 1
    return spans


def underthesea_predictor() -> Predictor:
    return lambda docs: [AnnotatedDoc(d.id, d.text, underthesea_spans(d.text)) for d in docs]


# --- reports -----------------------------------------------------------------------------


def scores_table(scores: Scores, labels: LabelSet | None = None) -> str:
    labels = labels or load_labels()
    rows = ["| label | P | R | F1 | gold |", "|---|---|---|---|---|"]
    for name in labels.names:
        p = scores.per_label[name]
        rows.append(f"| {name} | {p.precision:.3f} | {p.recall:.3f} | {p.f1:.3f} | {p.tp + p.fn} |")
    m = scores.micro
    rows.append(f"| **micro** | **{m.precision:.3f}** | **{m.recall:.3f}** | **{m.f1:.3f}** | {m.tp + m.fn} |")
    return "\n".join(rows)


def coarse_table(scores: Scores) -> str:
    rows = ["| coarse | P | R | F1 | gold |", "|---|---|---|---|---|"]
    for name, p in scores.coarse.items():
        rows.append(f"| {name} | {p.precision:.3f} | {p.recall:.3f} | {p.f1:.3f} | {p.tp + p.fn} |")
    m = scores.coarse_micro
    rows.append(f"| **micro** | **{m.precision:.3f}** | **{m.recall:.3f}** | **{m.f1:.3f}** | {m.tp + m.fn} |")
    return "\n".join(rows)


def confusion_labels(labels: LabelSet | None = None) -> tuple[list[str], list[str]]:
    names = (labels or load_labels()).names
    return names + [SPURIOUS], names + [MISSED]


def confusion_table(scores: Scores, labels: LabelSet | None = None) -> str:
    rows_labels, cols_labels = confusion_labels(labels)
    lines = ["| gold \\ predicted | " + " | ".join(cols_labels) + " |", "|---" * (len(cols_labels) + 1) + "|"]
    for gold in rows_labels:
        lines.append(f"| {gold} | " + " | ".join(str(scores.confusion.get((gold, pred), 0) or "") for pred in cols_labels) + " |")
    return "\n".join(lines)


def plot_confusion(scores: Scores, path: Path, labels: LabelSet | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows_labels, cols_labels = confusion_labels(labels)
    matrix = [[scores.confusion.get((g, p), 0) for p in cols_labels] for g in rows_labels]
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(cols_labels)), cols_labels, rotation=45, ha="right")
    ax.set_yticks(range(len(rows_labels)), rows_labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    ax.set_title("Strict span confusion (label and both offsets)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown_report(title: str, scores: Scores, *, max_errors: int = 200) -> str:
    errors = "\n".join(
        f"- `{e['id']}` gold {e['gold']} → predicted {e['predicted']}: {e['context']}" for e in scores.errors[:max_errors]
    )
    more = f"\n… and {len(scores.errors) - max_errors} more (see the JSON report)" if len(scores.errors) > max_errors else ""
    return f"""# {title}

Strict span matching: a prediction counts only with the gold label and both offsets.

## Scores per label

{scores_table(scores)}

## Coarse scores (spec mapping; TITLE and DATE left out)

{coarse_table(scores)}

## Confusion (gold rows, predicted columns; exact offsets)

{confusion_table(scores)}

![confusion matrix](confusion.png)

## Errors ({len(scores.errors)})

{errors}{more}
"""


def write_reports(scores: Scores, out_dir: Path, title: str, extra: dict | None = None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = scores.to_dict()
    data.update(extra or {})
    paths = {"json": out_dir / "scores.json", "markdown": out_dir / "report.md", "png": out_dir / "confusion.png"}
    atomic_write_text(paths["json"], json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    atomic_write_text(paths["markdown"], markdown_report(title, scores))
    plot_confusion(scores, paths["png"])
    return paths


def mean_std(values: list[float]) -> tuple[float, float]:
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)


# --- cross-validation and learning curve ---------------------------------------------------

@dataclass
class CrossValidation:
    folds: list[list[str]]
    fold_scores: dict[str, list[Scores]]  # system → one Scores per fold
    curve: list[dict] = field(default_factory=list)  # {"fraction", "documents" (mean), "f1": [per fold]}
    predictions: dict[str, list[AnnotatedDoc]] = field(default_factory=dict)  # system → held-out predictions, all folds
    news_test: dict[str, Scores] = field(default_factory=dict)  # system → scores on the held-out news test set
    news_test_interval: tuple[float, float] | None = None  # model micro-F1, 95% bootstrap interval over documents
    news_curve: list[dict] = field(default_factory=list)  # {"fraction", "documents", "f1"} on the news test

    def by_source(self, gold: list[AnnotatedDoc], sources: dict[str, str]) -> dict[str, dict[str, float]]:
        """Strict micro-F1 per document source, pooled over the held-out folds."""
        out: dict[str, dict[str, float]] = {}
        for source in sorted(set(sources.get(doc.id, "unknown") for doc in gold)):
            subset = [doc for doc in gold if sources.get(doc.id, "unknown") == source]
            out[source] = {"documents": len(subset)}
            for system, predictions in self.predictions.items():
                scores = score(subset, predictions)
                out[source][system] = scores.micro.f1
                if system == "model":
                    out[source]["model_per_label"] = {name: [prf.f1, prf.gold] for name, prf in scores.per_label.items()}
        return out

    def summary(self, labels: LabelSet | None = None, gold: list[AnnotatedDoc] | None = None, sources: dict[str, str] | None = None) -> dict:
        labels = labels or load_labels()
        out: dict = {"folds": self.folds, "systems": {}, "learning_curve": []}
        if gold is not None and sources and self.folds:
            out["by_source"] = self.by_source(gold, sources)
        for system, runs in self.fold_scores.items():
            if not runs:  # no folds: news test only
                continue
            entry = {
                "micro_f1": mean_std([s.micro.f1 for s in runs]),
                "coarse_micro_f1": mean_std([s.coarse_micro.f1 for s in runs]),
                "per_label_f1": {name: mean_std([s.per_label[name].f1 for s in runs]) for name in labels.names},
                "coarse_f1": {name: mean_std([s.coarse[name].f1 for s in runs]) for name in COARSE_LABELS},
                "support": {name: sum(s.per_label[name].tp + s.per_label[name].fn for s in runs) for name in labels.names},
            }
            out["systems"][system] = entry
        for point in self.curve:
            out["learning_curve"].append({"fraction": point["fraction"], "documents": point["documents"], "micro_f1": mean_std(point["f1"])})
        if self.news_test:
            out["news_test"] = {
                system: {
                    "micro_f1": scores.micro.f1,
                    "precision": scores.micro.precision,
                    "recall": scores.micro.recall,
                    "coarse_micro_f1": scores.coarse_micro.f1,
                    "per_label_f1": {name: scores.per_label[name].f1 for name in labels.names},
                    "support": {name: scores.per_label[name].gold for name in labels.names},
                }
                for system, scores in self.news_test.items()
            }
            out["news_test_interval"] = self.news_test_interval
            out["news_curve"] = self.news_curve
        return out


def bootstrap_interval(gold: list[AnnotatedDoc], predicted: list[AnnotatedDoc], *, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% interval of strict micro-F1 when the documents are resampled with replacement."""
    import random

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


def cross_validate(
    docs: list[AnnotatedDoc],
    *,
    folds: int,
    seed: int,
    config: Path,
    work_dir: Path,
    overrides: dict | None = None,
    curve_fractions: tuple[float, ...] = (),
    baselines: tuple[str, ...] = ("gazetteer", "rules", "underthesea"),
    news_test: list[AnnotatedDoc] | None = None,
    news_curve_fractions: tuple[float, ...] = (),
    processes: int = 1,
    progress=None,
) -> CrossValidation:
    """Train and score one model per document fold; baselines scored on the same folds.

    The gazetteer baseline is built from each fold's training part only. The
    learning curve retrains on the first n training documents of each fold
    (shuffled with the seed). With `news_test`, one more model is trained on all
    the gold and scored on those held-out documents, beside the baselines (the
    gazetteer then built from all the gold): cross-validation on the project's
    own gold flatters a model, unseen news is what it is for;
    `news_curve_fractions` also trains on shares of the gold for a learning
    curve measured on the news test. `folds=0` skips cross-validation and
    trains for the news test only. All trainings are planned first and run
    `processes` at a time; scoring follows. `progress(done, total)` counts trainings.
    """
    import random

    import spacy

    from .dataset import fold_documents
    from .train import TrainingJob, train_all

    require_valid(docs, "gold")
    if folds == 0 and not news_test:
        from .errors import VndiploError

        raise VndiploError("Nothing to score: no folds and no news test", "", "Give --folds 2 or more, or --news-test GOLD.jsonl.")
    by_id = {doc.id: doc for doc in docs}
    fold_ids = fold_documents(docs, folds=folds, seed=seed) if folds else []
    jobs, plan = [], []
    for index, test_ids in enumerate(fold_ids):
        train_docs = [doc for doc in docs if doc.id not in set(test_ids)]
        # model-last is scored, so the dev set only feeds spaCy's progress table: keep it small.
        jobs.append(TrainingJob(train_docs, train_docs[:2], work_dir / f"fold-{index}", config, overrides))
        shuffled = train_docs[:]
        random.Random(seed + index).shuffle(shuffled)
        sizes = {}
        for fraction in curve_fractions:
            size = max(1, round(len(train_docs) * fraction))
            sizes[fraction] = size
            if size < len(train_docs):
                jobs.append(TrainingJob(shuffled[:size], shuffled[:1], work_dir / f"fold-{index}-n{size}", config, overrides))
        plan.append((test_ids, train_docs, sizes))
    news_sizes = []
    if news_test:
        jobs.append(TrainingJob(docs, docs[:2], work_dir / "all", config, overrides))
        shuffled = docs[:]
        random.Random(seed).shuffle(shuffled)
        news_sizes = [max(1, round(len(docs) * fraction)) for fraction in news_curve_fractions if fraction < 1.0]
        for size in news_sizes:
            jobs.append(TrainingJob(shuffled[:size], shuffled[:1], work_dir / f"all-n{size}", config, overrides))
    train_all(jobs, processes=processes, progress=progress)

    systems = ("model",) + baselines + (("model+rules",) if "rules" in baselines else ())
    results = CrossValidation(fold_ids, {name: [] for name in systems})
    curve: dict[float, dict[str, list]] = {}
    gazetteer = read_gazetteer() if "rules" in baselines else {}  # read once, not per fold
    for index, (test_ids, train_docs, sizes) in enumerate(plan):
        test_docs = [by_id[i] for i in test_ids]
        fine_systems = {"model": model_predictor(spacy.load(work_dir / f"fold-{index}" / "model-last"))}
        if "gazetteer" in baselines:
            fine_systems["gazetteer"] = gazetteer_predictor(train_docs)
        if "rules" in baselines:
            fine_systems["rules"] = rules_predictor(gazetteer)
        fold_predictions = {system: predictor(test_docs) for system, predictor in fine_systems.items()}
        if "rules" in baselines:
            fold_predictions["model+rules"] = add_rules(fold_predictions["model"], gazetteer)
        for system, predictions in fold_predictions.items():
            results.predictions.setdefault(system, []).extend(predictions)
            results.fold_scores[system].append(score(test_docs, predictions))
        if "underthesea" in baselines:
            results.fold_scores["underthesea"].append(score(test_docs, underthesea_predictor()(test_docs), coarse_only=True))
        for fraction, size in sizes.items():
            point = curve.setdefault(fraction, {"sizes": [], "f1": []})
            point["sizes"].append(size)
            if size >= len(train_docs):
                point["f1"].append(results.fold_scores["model"][-1].micro.f1)
                continue
            subset_nlp = spacy.load(work_dir / f"fold-{index}-n{size}" / "model-last")
            point["f1"].append(score(test_docs, model_predictor(subset_nlp)(test_docs)).micro.f1)
    results.curve = [
        {"fraction": fraction, "documents": round(statistics.fmean(point["sizes"]), 1), "f1": point["f1"]}
        for fraction, point in sorted(curve.items())
    ]
    if news_test:
        predictions = {"model": model_predictor(spacy.load(work_dir / "all" / "model-last"))(news_test)}
        if "gazetteer" in baselines:
            predictions["gazetteer"] = gazetteer_predictor(docs)(news_test)
        if "rules" in baselines:
            predictions["rules"] = rules_predictor(gazetteer)(news_test)
            predictions["model+rules"] = add_rules(predictions["model"], gazetteer)
        results.news_test = {system: score(news_test, predicted) for system, predicted in predictions.items()}
        if "underthesea" in baselines:
            results.news_test["underthesea"] = score(news_test, underthesea_predictor()(news_test), coarse_only=True)
        results.news_test_interval = bootstrap_interval(news_test, predictions["model"], seed=seed)
        for size in news_sizes:
            subset_nlp = spacy.load(work_dir / f"all-n{size}" / "model-last")
            results.news_curve.append({"fraction": size / len(docs), "documents": size, "f1": score(news_test, model_predictor(subset_nlp)(news_test)).micro.f1})
        if news_sizes:
            results.news_curve.append({"fraction": 1.0, "documents": len(docs), "f1": results.news_test["model"].micro.f1})
    return results


def plot_learning_curve(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = summary["learning_curve"]
    if not points:
        return
    xs = [p["documents"] for p in points]
    means = [p["micro_f1"][0] for p in points]
    stds = [p["micro_f1"][1] for p in points]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(xs, means, yerr=stds, marker="o", capsize=4, label="spaCy pipeline")
    gazetteer = summary["systems"].get("gazetteer")
    if gazetteer:
        ax.axhline(gazetteer["micro_f1"][0], color="grey", linestyle="--", label="gazetteer (all training docs)")
    ax.set_xlabel("training documents")
    ax.set_ylabel("strict micro-F1 (held-out fold)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def crossval_markdown(summary: dict, *, title: str, labels: LabelSet | None = None) -> str:
    labels = labels or load_labels()
    systems = summary["systems"]
    fine = [name for name in ("model", "gazetteer", "rules", "model+rules") if name in systems]
    fmt = lambda ms: f"{ms[0]:.3f} ± {ms[1]:.3f}"  # noqa: E731
    lines = [f"# {title}", ""]
    if summary["folds"]:
        lines += _crossval_tables(summary, labels, fine, fmt)
    if summary.get("news_test"):
        lines += _news_test_tables(summary, labels)
    if summary["learning_curve"]:
        lines += ["", "Learning curve (share of each fold's training documents → held-out micro-F1):", "", "| share | documents (mean) | micro-F1 |", "|---|---|---|"]
        lines += [f"| {p['fraction']:.0%} | {p['documents']} | {fmt(p['micro_f1'])} |" for p in summary["learning_curve"]]
        lines += ["", "![learning curve](learning_curve.png)"]
    return "\n".join(lines) + "\n"


def _crossval_tables(summary: dict, labels: LabelSet, fine: list[str], fmt) -> list[str]:
    systems = summary["systems"]
    lines = [f"Document-level {len(summary['folds'])}-fold cross-validation, strict span matching, mean ± standard deviation over folds.", ""]
    lines += ["| label | gold mentions | " + " | ".join(fine) + " |", "|---|---|" + "---|" * len(fine)]
    for name in labels.names:
        lines.append(f"| {name} | {systems['model']['support'][name]} | " + " | ".join(fmt(systems[s]["per_label_f1"][name]) for s in fine) + " |")
    lines.append("| **micro** | | " + " | ".join(f"**{fmt(systems[s]['micro_f1'])}**" for s in fine) + " |")
    lines += ["", "Coarse labels (spec mapping: GPE and LOC → LOC, EVENT and AGREEMENT → MISC; TITLE and DATE left out):", ""]
    coarse_systems = list(systems)
    lines += ["| coarse | " + " | ".join(coarse_systems) + " |", "|---|" + "---|" * len(coarse_systems)]
    for name in COARSE_LABELS:
        lines.append(f"| {name} | " + " | ".join(fmt(systems[s]["coarse_f1"][name]) for s in coarse_systems) + " |")
    lines.append("| **micro** | " + " | ".join(f"**{fmt(systems[s]['coarse_micro_f1'])}**" for s in coarse_systems) + " |")
    if summary.get("by_source"):
        fine_present = [name for name in fine if name in next(iter(summary["by_source"].values()))]
        lines += ["", "Micro-F1 by source (held-out predictions of all folds pooled):", ""]
        lines += ["| source | documents | " + " | ".join(fine_present) + " |", "|---|---|" + "---|" * len(fine_present)]
        for source, row in summary["by_source"].items():
            lines.append(f"| {source} | {row['documents']} | " + " | ".join(f"{row[name]:.3f}" for name in fine_present) + " |")
        sources = [source for source, row in summary["by_source"].items() if "model_per_label" in row]
        if sources:
            lines += ["", "Model F1 per label by source (gold mentions in brackets):", ""]
            lines += ["| label | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
            for name in labels.names:
                cells = [summary["by_source"][source]["model_per_label"][name] for source in sources]
                lines.append(f"| {name} | " + " | ".join(f"{f1:.3f} ({gold})" for f1, gold in cells) + " |")
    return lines


def _news_test_tables(summary: dict, labels: LabelSet) -> list[str]:
    news = summary["news_test"]
    news_fine = [name for name in ("model", "gazetteer", "rules", "model+rules") if name in news]
    low, high = summary["news_test_interval"]
    lines = ["", "## Held-out news test", "", "One model trained on all the gold above, scored on the news test set it never saw "
             f"(model micro-F1 95% interval over documents: {low:.3f}–{high:.3f}).", ""]
    lines += ["| label | gold mentions | " + " | ".join(news_fine) + " |", "|---|---|" + "---|" * len(news_fine)]
    for name in labels.names:
        lines.append(f"| {name} | {news['model']['support'][name]} | " + " | ".join(f"{news[s]['per_label_f1'][name]:.3f}" for s in news_fine) + " |")
    lines.append("| **micro** | | " + " | ".join(f"**{news[s]['micro_f1']:.3f}**" for s in news_fine) + " |")
    lines.append("| coarse micro | | " + " | ".join(f"{news[s]['coarse_micro_f1']:.3f}" for s in news_fine) + " |")
    if "underthesea" in news:
        lines += ["", f"underthesea, coarse micro-F1 on the same documents: {news['underthesea']['coarse_micro_f1']:.3f}."]
    if summary.get("news_curve"):
        lines += ["", "Learning curve on the news test (a share of the gold, shuffled → news-test micro-F1):", "", "| share | documents | micro-F1 |", "|---|---|---|"]
        lines += [f"| {p['fraction']:.0%} | {p['documents']} | {p['f1']:.3f} |" for p in summary["news_curve"]]
    return lines
