"""The main job end to end through the CLI, as `make all` chains it: ingest → dataset → train → evaluate.

Small and quick (the seed articles, a few training steps); it proves the stages hand
each other the files they expect, not that the model is good.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vndiplo.cli import app
from vndiplo.labels import load_labels

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def run(*args: str) -> None:
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, f"vndiplo {' '.join(map(str, args))}\n{result.output}"


@pytest.mark.slow
def test_ingest_dataset_train_evaluate_chain(tmp_path):
    corpus, training = tmp_path / "corpus", tmp_path / "training"
    run("ingest", ROOT / "seeds", "--out", corpus / "docs.jsonl")
    run("dataset", ROOT / "annotations/gold/seeds.jsonl", "--corpus", corpus / "docs.jsonl", "--out", corpus, "--dev", "0.2", "--test", "0.2")
    run("train", corpus, "--output", training, "--set", "training.max_steps=20", "--set", "training.eval_frequency=10")
    run("evaluate", training / "model-best", corpus / "test.spacy", "--train-data", corpus / "train.spacy", "--output", tmp_path / "evaluation", "--no-baselines")

    scores = json.loads((tmp_path / "evaluation" / "scores.json").read_text(encoding="utf-8"))
    test_ids = json.loads((corpus / "splits.json").read_text(encoding="utf-8"))["test"]
    assert scores["documents"] == test_ids
    assert set(scores["per_label"]) == set(load_labels().names)
    gold_spans = scores["micro"]["tp"] + scores["micro"]["fn"]
    assert gold_spans == sum(len(json.loads(line)["label"]) for line in (ROOT / "annotations/gold/seeds.jsonl").read_text(encoding="utf-8").splitlines() if json.loads(line)["id"] in test_ids)


def test_python_dash_m_runs_the_same_cli():
    result = subprocess.run([sys.executable, "-m", "vndiplo", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "ingest" in result.stdout and "predict" in result.stdout
