"""Scoring a trained pipeline on gold, beside the baselines, as `vndiplo evaluate` reports it.

The model's spans are its own (untrimmed: the spec check is part of what is
measured), for documents of any length; the baselines are scored on the same
documents, the gazetteer learnt from the training gold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import errors
from .annotations import AnnotatedDoc, read_annotation_paths
from .baselines import Predictor, gazetteer_predictor, underthesea_predictor
from .dataset import read_docbin
from .scoring import Scores, score


def model_predictor(nlp) -> Predictor:
    """The pipeline's own spans (untrimmed), a document of any length included."""
    from .stream import pipe_spans

    return lambda docs: list(pipe_spans(nlp, docs))


def read_gold(paths: list[Path]) -> list[AnnotatedDoc]:
    """Gold to score on, from `.spacy` DocBin files (the dataset's splits) or gold JSONL."""
    docs: list[AnnotatedDoc] = []
    for path in paths:
        found = read_docbin(path) if path.suffix == ".spacy" else read_annotation_paths([path])
        if not found:
            raise errors.VndiploError(f"{path} holds no documents", "scores on nothing would be a table of zeros", "Build the corpus again with `vndiplo dataset` or point at another file.")
        docs += found
    return docs


@dataclass
class Evaluation:
    """The model's scores and, when asked for, the baselines' on the same documents."""

    model: Scores
    gazetteer: Scores | None = None
    underthesea: Scores | None = None  # coarse labels only
    documents: list[str] = field(default_factory=list)

    def comparison(self) -> list[tuple[str, float, float, float | None]]:
        """(score, model, gazetteer, underthesea) rows: fine micro-F1 (underthesea has no fine labels), coarse micro-F1."""
        if self.gazetteer is None or self.underthesea is None:
            return []
        return [
            ("fine micro-F1", self.model.micro.fscore, self.gazetteer.micro.fscore, None),
            ("coarse micro-F1", self.model.coarse_micro.fscore, self.gazetteer.coarse_micro.fscore, self.underthesea.coarse_micro.fscore),
        ]

    def extra(self) -> dict:
        """What the JSON report holds beside the model's scores."""
        data: dict = {"documents": self.documents}
        if self.gazetteer is not None and self.underthesea is not None:
            data["baselines"] = {"gazetteer": self.gazetteer.to_dict(), "underthesea": self.underthesea.to_dict()}
        return data


def evaluate(nlp, gold: list[AnnotatedDoc], *, train_docs: list[AnnotatedDoc] | None = None) -> Evaluation:
    """Strict scores of the pipeline on `gold`; with `train_docs`, the gazetteer (built from them) and underthesea too."""
    result = Evaluation(score(gold, model_predictor(nlp)(gold)), documents=[doc.id for doc in gold])
    if train_docs is not None:
        result.gazetteer = score(gold, gazetteer_predictor(train_docs)(gold))
        result.underthesea = score(gold, underthesea_predictor()(gold), coarse_only=True)
    return result
