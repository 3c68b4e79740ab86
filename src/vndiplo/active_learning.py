"""Model in the loop: which documents to annotate next, and what pre-annotation saves.

Two questions decide whether a model helps annotators:

* **Order** (query by committee): the cross-validation models of the current
  gold each label a new document; where they disagree, the model is unsure and
  a human decision teaches it most. `uncertainty_order` ranks documents by
  that disagreement; `doccano push --order uncertain` uploads them in this
  order, and Doccano shows documents in upload order.
* **Yield**: of the spans a model suggests (`doccano push --pre-annotations`),
  how many does the final gold keep unchanged? Those are clicks saved.

`loop_study` measures both on annotated text the committee never saw, so that
the README's figures come from one command (`vndiplo loop-study`).
"""

from __future__ import annotations

import random
import re
import statistics
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import NamedTuple

from spacy.scorer import PRFScore

from . import errors
from .annotations import AnnotatedDoc, require_valid
from .corpus import Document
from .labels import LabelSet, load_labels
from .model import load, predict
from .paths import COMMITTEE
from .scoring import gold_count, predicted_count, score
from .train import TrainingJob, train_all

ORDERS = ("corpus", "uncertain", "random")


def committee_paths(folder: Path = COMMITTEE) -> list[Path]:
    """The fold models `vndiplo crossval` left in `folder` (learning-curve models excluded)."""
    paths = sorted(
        path / "model-last"
        for path in folder.glob("fold-*")
        if re.fullmatch(r"fold-\d+", path.name) and (path / "model-last" / "config.cfg").exists()
    )
    if len(paths) < 2:
        raise errors.VndiploError(
            f"No committee of cross-validation models in {folder}",
            f"found {len(paths)} fold model(s); a committee needs at least two",
            "Train them first: vndiplo crossval annotations/gold/ --folds 5 (or pass --committee MODEL several times).",
        )
    return paths


def committee_disagreement(predictions: list[list[AnnotatedDoc]]) -> dict[str, float]:
    """Per document: 1 − mean pairwise strict span F1 between the committee's predictions.

    0 means every member found the same spans; 1 means no two agree on any.
    """
    if len(predictions) < 2:
        raise errors.VndiploError("A committee needs at least two models", "", "Train cross-validation models first: vndiplo crossval annotations/gold/ --folds 5")
    by_member = [{doc.id: doc for doc in member} for member in predictions]
    disagreement = {}
    for doc_id in by_member[0]:
        f1s = []
        for first, second in combinations(by_member, 2):
            a, b = first[doc_id], second[doc_id]
            f1s.append(1.0 if not a.spans and not b.spans else score([a], [b]).micro.fscore)
        disagreement[doc_id] = 1.0 - statistics.fmean(f1s)
    return disagreement


def rank_by(disagreement: dict[str, float], docs: list[AnnotatedDoc]) -> list[str]:
    """Document ids, most disputed first; ties keep corpus order."""
    position = {doc.id: i for i, doc in enumerate(docs)}
    return sorted(position, key=lambda doc_id: (-disagreement[doc_id], position[doc_id]))


def committee_predictions(docs: list[AnnotatedDoc], model_paths: list[Path], progress=None) -> list[list[AnnotatedDoc]]:
    """Each model's spans on `docs`; `progress(done, total)` after each model."""
    members = []
    for path in model_paths:
        members.append(predict(load(path), docs))
        if progress:
            progress(len(members), len(model_paths))
    return members


def uncertainty_order(docs: list[AnnotatedDoc], model_paths: list[Path], progress=None) -> tuple[list[str], dict[str, float]]:
    """Ids most disputed by the committee first, and each document's disagreement."""
    disagreement = committee_disagreement(committee_predictions(docs, model_paths, progress))
    return rank_by(disagreement, docs), disagreement


def random_order(ids: list[str], seed: int) -> list[str]:
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)
    return shuffled


class UploadOrder(NamedTuple):
    """The ids in upload order; for `uncertain`, each document's committee disagreement and the committee's size."""

    ids: list[str]
    disagreement: dict[str, float]
    committee_size: int


def upload_order(documents: dict[str, Document], order: str, *, committee: list[Path] | None = None, seed: int = 0, progress=None) -> UploadOrder:
    """Document ids in the order `doccano push --order` asks for.

    `corpus` keeps the corpus order, `random` shuffles with the seed, `uncertain` ranks by the
    disagreement of the cross-validation models (or the `committee` given).
    """
    ids = list(documents)
    if order not in ORDERS:
        raise errors.VndiploError(f"Unknown --order {order!r}", "", f"Choose one of: {', '.join(ORDERS)}.")
    if order == "random":
        return UploadOrder(random_order(ids, seed), {}, 0)
    if order == "corpus":
        return UploadOrder(ids, {}, 0)
    members = list(committee) if committee else committee_paths()
    docs = [AnnotatedDoc(doc_id, doc.text, []) for doc_id, doc in documents.items()]
    return UploadOrder(*uncertainty_order(docs, members, progress), len(members))


# --- measuring the loop on gold the models never saw ------------------------------------------------


def preannotation_yield(gold: list[AnnotatedDoc], suggestions: list[AnnotatedDoc], labels: LabelSet | None = None) -> dict[str, PRFScore]:
    """Per label and overall ("micro"): suggested spans (`predicted`), those gold keeps unchanged
    (`tp`, share `precision`) and the gold spans they pre-fill (share `recall`)."""
    scores = score(gold, suggestions, labels or load_labels())
    return {**scores.per_label, "micro": scores.micro}


@dataclass
class OrderingStudy:
    """Uncertain order versus random order on documents with known gold."""

    uncertain: list[str]
    random: list[str]
    disagreement: dict[str, float]
    error: dict[str, float]  # 1 − mean strict F1 of the committee members against gold
    batch: int

    def first(self, order: list[str]) -> list[str]:
        return order[: self.batch]

    @property
    def overlap(self) -> int:
        return len(set(self.first(self.uncertain)) & set(self.first(self.random)))

    @property
    def expected_random_overlap(self) -> float:
        """Mean overlap of a random batch with any fixed batch of the same size: k²/n."""
        return self.batch * self.batch / len(self.uncertain)

    def mean_error(self, ids: list[str]) -> float:
        return statistics.fmean(self.error[i] for i in ids)

    @property
    def spearman(self) -> float | None:
        """Rank correlation of committee disagreement with the committee's real error (None if either is constant)."""
        from scipy.stats import spearmanr

        disagreement = [self.disagreement[i] for i in self.uncertain]
        error = [self.error[i] for i in self.uncertain]
        if len(set(disagreement)) < 2 or len(set(error)) < 2:
            return None
        return float(spearmanr(disagreement, error).statistic)


def ordering_study(gold: list[AnnotatedDoc], members: list[list[AnnotatedDoc]], *, batch: int, seed: int) -> OrderingStudy:
    by_id = {doc.id: doc for doc in gold}
    disagreement = committee_disagreement(members)
    error = {doc_id: 1.0 - statistics.fmean(score([doc], member).micro.fscore for member in members) for doc_id, doc in by_id.items()}
    ids = [doc.id for doc in gold]
    return OrderingStudy(rank_by(disagreement, gold), random_order(ids, seed), disagreement, error, min(batch, len(ids)))


@dataclass
class LoopStudy:
    committee_size: int
    pool_documents: int
    yields: dict[str, PRFScore]
    ordering: OrderingStudy

    def to_dict(self) -> dict:
        o = self.ordering
        return {
            "committee_size": self.committee_size,
            "pool_documents": self.pool_documents,
            "preannotation_yield": {
                name: {"suggested": predicted_count(y), "kept": y.tp, "gold": gold_count(y), "share_kept": y.precision, "share_of_gold": y.recall}
                for name, y in self.yields.items()
            },
            "ordering": {
                "batch": o.batch,
                "uncertain_order": o.uncertain,
                "random_order": o.random,
                "disagreement": o.disagreement,
                "committee_error": o.error,
                "overlap_of_first_batch": o.overlap,
                "expected_overlap_of_a_random_batch": o.expected_random_overlap,
                "committee_error_first_batch": {"uncertain": o.mean_error(o.first(o.uncertain)), "random": o.mean_error(o.first(o.random)), "all": o.mean_error(o.uncertain)},
                "spearman_disagreement_vs_error": o.spearman,
            },
        }


def loop_study(
    known: list[AnnotatedDoc],
    pool: list[AnnotatedDoc],
    *,
    config: Path,
    work_dir: Path,
    batch: int = 5,
    seed: int = 0,
    overrides: dict | None = None,
    processes: int = 1,
    progress=None,
) -> LoopStudy:
    """Replay one round of the loop: gold `known` so far, gold `pool` still to annotate.

    A committee of leave-one-document-out models of `known` ranks the pool;
    a model trained on all of `known` pre-annotates it. The pool's gold then
    tells how good the ranking and the suggestions were. Trainings run
    `processes` at a time; `progress(done, total)` counts them.
    """
    require_valid(known, "known gold")
    require_valid(pool, "pool gold")
    if len(known) < 2 or not pool:
        raise errors.VndiploError("The loop study needs at least two known documents and a pool", f"known {len(known)}, pool {len(pool)}", "Pass the seed gold and the extra gold.")
    members = [
        TrainingJob([doc for doc in known if doc.id != held_out.id], [held_out], work_dir / f"member-{index}", config, overrides)
        for index, held_out in enumerate(known)
    ]
    full = TrainingJob(known, known[:1], work_dir / "all-known", config, overrides)
    train_all([*members, full], processes=processes, progress=progress)
    unlabelled = [AnnotatedDoc(doc.id, doc.text, []) for doc in pool]
    suggestions = predict(load(full.output / "model-last"), unlabelled)
    votes = committee_predictions(unlabelled, [job.output / "model-last" for job in members])
    return LoopStudy(len(members), len(pool), preannotation_yield(pool, suggestions), ordering_study(pool, votes, batch=batch, seed=seed))
