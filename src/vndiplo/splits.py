"""Which documents go where: the train/dev/test split and the cross-validation folds.

Splits are by document, never by sentence, and near-duplicate documents share a
group that never straddles two splits, so no text is scored that the model trained
on. The assignment is the greedy balancing that scikit-learn's `GroupKFold` also
uses, written out here because the committed figures need the same folds on every
scikit-learn release (whose shuffled group splits promise no such thing).
"""

from __future__ import annotations

import random

from . import errors
from .annotations import AnnotatedDoc
from .corpus import Document, find_near_duplicates

SPLITS = ("train", "dev", "test")


def duplicate_groups(docs: list[AnnotatedDoc]) -> list[list[str]]:
    """Document ids grouped so that near-duplicates share a group (and so a split)."""
    parent = {doc.id: doc.id for doc in docs}

    def root(doc_id: str) -> str:
        while parent[doc_id] != doc_id:
            doc_id = parent[doc_id]
        return doc_id

    as_documents = [Document(d.id, d.text, "", "", "", "", 0) for d in docs]
    for first, second, _ in find_near_duplicates(as_documents):
        parent[root(second)] = root(first)
    groups: dict[str, list[str]] = {}
    for doc in docs:
        groups.setdefault(root(doc.id), []).append(doc.id)
    return sorted(groups.values())


def check_fractions(dev: float, test: float) -> None:
    """Split shares are fractions in [0, 1) that leave documents for training."""
    for name, share in (("--dev", dev), ("--test", test)):
        if not 0 <= share < 1:
            raise errors.VndiploError(f"{name} {share} is not a fraction between 0 and 1", "it is the share of documents held out", f"Give e.g. {name} 0.1.")
    if dev + test >= 1:
        raise errors.VndiploError(f"--dev {dev} and --test {test} leave no document for training", "together they must be below 1", "Lower --dev or --test.")


def split_documents(docs: list[AnnotatedDoc], *, dev: float, test: float, seed: int) -> dict[str, list[str]]:
    """Seeded document-level split; near-duplicate groups never straddle two splits."""
    groups = duplicate_groups(docs)
    random.Random(seed).shuffle(groups)
    total = len(docs)
    n_test = round(total * test) if test else 0
    n_dev = round(total * dev) if dev else 0
    if test and n_test == 0 and total >= 3:
        n_test = 1
    if dev and n_dev == 0 and total >= 3:
        n_dev = 1
    assignment: dict[str, list[str]] = {name: [] for name in SPLITS}
    for group in groups:
        if len(assignment["test"]) < n_test:
            assignment["test"] += group
        elif len(assignment["dev"]) < n_dev:
            assignment["dev"] += group
        else:
            assignment["train"] += group
    if not assignment["train"]:
        raise errors.VndiploError("No document is left for training", f"{total} documents, dev={dev}, test={test}", "Lower --dev/--test or add documents.")
    return {name: sorted(ids) for name, ids in assignment.items()}


def fold_documents(docs: list[AnnotatedDoc], *, folds: int, seed: int) -> list[list[str]]:
    """K folds of document ids, near-duplicates kept together, sizes as even as groups allow."""
    groups = duplicate_groups(docs)
    if folds < 2 or folds > len(groups):
        raise errors.VndiploError(f"Cannot make {folds} folds of {len(groups)} document groups", "", "Choose 2 ≤ --folds ≤ number of documents.")
    random.Random(seed).shuffle(groups)
    groups.sort(key=len, reverse=True)
    assignment: list[list[str]] = [[] for _ in range(folds)]
    for group in groups:
        min(assignment, key=len).extend(group)
    return [sorted(ids) for ids in assignment]
