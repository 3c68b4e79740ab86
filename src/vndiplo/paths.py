"""The project's layout in one place: where each stage reads and writes.

Commands run from the project folder (as the Makefile does), so the defaults are
paths relative to it. Two files of `configs/` are package data as well: the label
contract and the gazetteer ship inside the wheel (pyproject's force-include), so an
installed vndiplo finds them without a checkout (:func:`shipped_file`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# Inputs
SEEDS = Path("seeds")
GOLD = Path("annotations/gold")
RAW_ANNOTATIONS = Path("annotations/raw")
NEWS_TEST_GOLD = Path("annotations/news-test/gold.jsonl")
GUIDELINES = Path("annotations/GUIDELINES.md")

# The corpus and the dataset (`vndiplo ingest`, `vndiplo dataset`)
CORPUS = Path("corpus")
SEED_CORPUS = CORPUS / "docs.jsonl"
EXTRA_CORPUS = CORPUS / "extra.jsonl"
TREEBANK_CORPUS = CORPUS / "vtb.jsonl"
WIKI_CORPUS = CORPUS / "viwiki.jsonl"
NEWS_TEST_CORPUS = CORPUS / "news-test.jsonl"
TRAIN_DOCBIN = CORPUS / "train.spacy"
TEST_DOCBIN = CORPUS / "test.spacy"

# Configuration
CONFIG = Path("configs/ner.cfg")
VECTORS = Path("configs/vectors")
LABELS = "configs/labels.json"
GAZETTEER = "configs/gazetteers/entities.tsv"
KNOWLEDGE_BASE = "configs/kb/entities.jsonl"

# What training and evaluation write
TRAINING = Path("training")
MODEL = TRAINING / "model-best"
EVALUATION = TRAINING / "evaluation"
CROSSVAL = TRAINING / "crossval"
COMMITTEE = CROSSVAL / "models"
LOOP_STUDY = TRAINING / "loop"
ENTITIES_PAGE = TRAINING / "entities.html"
BENCHMARK = TRAINING / "benchmark.json"
DIST = Path("dist")

_CHECKOUT = Path(__file__).resolve().parents[2]


def project_dir() -> Path:
    """The checkout vndiplo runs from (its pyproject.toml), else the current folder: where `.doccano/` lives."""
    return _CHECKOUT if (_CHECKOUT / "pyproject.toml").exists() else Path.cwd()


def shipped_file(relative: str) -> Path:
    """A file of `configs/` that also ships in the wheel: the checkout's copy when there is one, else the package's."""
    in_checkout = _CHECKOUT / relative
    if in_checkout.is_file():
        return in_checkout
    return Path(str(resources.files("vndiplo").joinpath(Path(relative).name)))
