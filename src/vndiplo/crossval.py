"""Experiments that train: document-level cross-validation and the held-out news test.

Cross-validation on the project's own gold flatters a model (three quarters of it is
encyclopedia prose); unseen news is what the model is for. So one command trains
the fold models, their learning curves and a model on all the gold for the news
test, and scores each beside the baselines on the same documents.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from . import errors
from .annotations import AnnotatedDoc, require_valid
from .baselines import add_rules, gazetteer_predictor, read_gazetteer, rules_predictor, underthesea_predictor
from .evaluate import model_predictor
from .labels import LabelSet, load_labels
from .scoring import COARSE_LABELS, Scores, bootstrap_interval, gold_count, mean_std, score
from .splits import fold_documents
from .train import TrainingJob, train_all

# Shares of the training documents for the learning curves (of the folds and of the news test).
CURVE_FRACTIONS = (0.25, 0.5, 1.0)


@dataclass
class CrossValidation:
    folds: list[list[str]]
    fold_scores: dict[str, list[Scores]]  # system → one Scores per fold
    curve: list[dict] = field(default_factory=list)  # {"fraction", "documents" (mean), "f1": [per fold]}
    predictions: dict[str, list[AnnotatedDoc]] = field(default_factory=dict)  # system → held-out predictions, all folds
    news_test: dict[str, Scores] = field(default_factory=dict)  # system → scores on the held-out news test set
    news_test_interval: tuple[float, float] | None = None  # model micro-F1, 95% bootstrap interval over documents
    news_curve: list[dict] = field(default_factory=list)  # {"fraction", "documents", "f1"} on the news test

    def by_source(self, gold: list[AnnotatedDoc], sources: dict[str, str]) -> dict[str, dict]:
        """Strict micro-F1 per document source, pooled over the held-out folds."""
        out: dict[str, dict] = {}
        for source in sorted(set(sources.get(doc.id, "unknown") for doc in gold)):
            subset = [doc for doc in gold if sources.get(doc.id, "unknown") == source]
            out[source] = {"documents": len(subset)}
            for system, predictions in self.predictions.items():
                scores = score(subset, predictions)
                out[source][system] = scores.micro.fscore
                if system == "model":
                    out[source]["model_per_label"] = {name: [prf.fscore, gold_count(prf)] for name, prf in scores.per_label.items()}
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
                "micro_f1": mean_std([s.micro.fscore for s in runs]),
                "coarse_micro_f1": mean_std([s.coarse_micro.fscore for s in runs]),
                "per_label_f1": {name: mean_std([s.per_label[name].fscore for s in runs]) for name in labels.names},
                "coarse_f1": {name: mean_std([s.coarse[name].fscore for s in runs]) for name in COARSE_LABELS},
                "support": {name: sum(gold_count(s.per_label[name]) for s in runs) for name in labels.names},
            }
            out["systems"][system] = entry
        for point in self.curve:
            out["learning_curve"].append({"fraction": point["fraction"], "documents": point["documents"], "micro_f1": mean_std(point["f1"])})
        if self.news_test:
            out["news_test"] = {
                system: {
                    "micro_f1": scores.micro.fscore,
                    "precision": scores.micro.precision,
                    "recall": scores.micro.recall,
                    "coarse_micro_f1": scores.coarse_micro.fscore,
                    "per_label_f1": {name: scores.per_label[name].fscore for name in labels.names},
                    "support": {name: gold_count(scores.per_label[name]) for name in labels.names},
                }
                for system, scores in self.news_test.items()
            }
            out["news_test_interval"] = self.news_test_interval
            out["news_curve"] = self.news_curve
        return out


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
    import spacy

    require_valid(docs, "gold")
    if folds == 0 and not news_test:
        raise errors.VndiploError("Nothing to score: no folds and no news test", "", "Give --folds 2 or more, or --news-test GOLD.jsonl.")
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
                point["f1"].append(results.fold_scores["model"][-1].micro.fscore)
                continue
            subset_nlp = spacy.load(work_dir / f"fold-{index}-n{size}" / "model-last")
            point["f1"].append(score(test_docs, model_predictor(subset_nlp)(test_docs)).micro.fscore)
    results.curve = [
        {"fraction": fraction, "documents": round(statistics.fmean(point["sizes"]), 1), "f1": point["f1"]}
        for fraction, point in sorted(curve.items())
    ]
    if news_test:
        news_predictions: dict[str, list[AnnotatedDoc]] = {"model": model_predictor(spacy.load(work_dir / "all" / "model-last"))(news_test)}
        if "gazetteer" in baselines:
            news_predictions["gazetteer"] = gazetteer_predictor(docs)(news_test)
        if "rules" in baselines:
            news_predictions["rules"] = rules_predictor(gazetteer)(news_test)
            news_predictions["model+rules"] = add_rules(news_predictions["model"], gazetteer)
        results.news_test = {system: score(news_test, predicted) for system, predicted in news_predictions.items()}
        if "underthesea" in baselines:
            results.news_test["underthesea"] = score(news_test, underthesea_predictor()(news_test), coarse_only=True)
        results.news_test_interval = bootstrap_interval(news_test, news_predictions["model"], seed=seed)
        for size in news_sizes:
            subset_nlp = spacy.load(work_dir / f"all-n{size}" / "model-last")
            results.news_curve.append({"fraction": size / len(docs), "documents": size, "f1": score(news_test, model_predictor(subset_nlp)(news_test)).micro.fscore})
        if news_sizes:
            results.news_curve.append({"fraction": 1.0, "documents": len(docs), "f1": results.news_test["model"].micro.fscore})
    return results
