
import pytest

from vndiplo.annotations import AnnotatedDoc, Span
from vndiplo.errors import VndiploError

from conftest import flat


def test_cross_validation_scores_every_system_on_the_same_folds(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.crossval import cross_validate
    from vndiplo.reports import crossval_markdown, plot_learning_curve

    config = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"
    result = cross_validate(
        tiny_gold, folds=2, seed=0, config=config, work_dir=tmp_path, overrides={"training.max_steps": 10, "training.eval_frequency": 10},
        curve_fractions=(0.5, 1.0), baselines=("gazetteer", "rules"),
    )
    assert sorted(i for fold in result.folds for i in fold) == sorted(d.id for d in tiny_gold)
    assert all(len(runs) == 2 for runs in result.fold_scores.values())
    sources = {doc.id: ("news" if i % 2 else "wiki") for i, doc in enumerate(tiny_gold)}
    summary = result.summary(gold=tiny_gold, sources=sources)
    assert set(summary["systems"]) == {"model", "gazetteer", "rules", "model+rules"}
    assert set(summary["by_source"]) == {"news", "wiki"}
    news_gold = sum(1 for i, doc in enumerate(tiny_gold) if i % 2 for span in doc.spans if span.label == "PER")
    assert summary["by_source"]["news"]["model_per_label"]["PER"][1] == news_gold
    assert [p["fraction"] for p in summary["learning_curve"]] == [0.5, 1.0]
    report = crossval_markdown(summary, title="t")
    assert "± " in report and "by source" in report and "F1 per label by source" in report
    plot_learning_curve(summary, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_the_news_test_is_scored_by_a_model_trained_on_all_the_gold(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.crossval import cross_validate
    from vndiplo.reports import crossval_markdown

    config = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"
    news = tiny_gold[:2]
    result = cross_validate(
        tiny_gold[2:], folds=2, seed=0, config=config, work_dir=tmp_path, overrides={"training.max_steps": 10, "training.eval_frequency": 10},
        baselines=("gazetteer", "rules"), news_test=news,
    )
    assert (tmp_path / "all" / "model-last").is_dir()
    summary = result.summary()
    assert set(summary["news_test"]) == {"model", "gazetteer", "rules", "model+rules"}
    assert summary["news_test"]["model"]["support"]["PER"] == sum(1 for d in news for s in d.spans if s.label == "PER")
    low, high = summary["news_test_interval"]
    assert 0.0 <= low <= high <= 1.0
    assert "Held-out news test" in crossval_markdown(summary, title="t")


def test_without_folds_only_the_news_test_and_its_learning_curve_are_scored(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.crossval import cross_validate
    from vndiplo.reports import crossval_markdown

    config = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"
    result = cross_validate(
        tiny_gold[1:], folds=0, seed=0, config=config, work_dir=tmp_path, overrides={"training.max_steps": 10, "training.eval_frequency": 10},
        baselines=(), news_test=tiny_gold[:1], news_curve_fractions=(0.5, 1.0),
    )
    summary = result.summary()
    assert summary["systems"] == {} and set(summary["news_test"]) == {"model"}
    assert [(p["documents"], p["fraction"]) for p in summary["news_curve"]] == [(2, 0.5), (4, 1.0)]
    assert "Learning curve on the news test" in crossval_markdown(summary, title="t")


def test_nothing_to_score_is_refused(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.crossval import cross_validate

    with pytest.raises(VndiploError, match="Nothing to score"):
        cross_validate(tiny_gold, folds=0, seed=0, config=Path("configs/ner.cfg"), work_dir=tmp_path, baselines=())


def test_parallel_cross_validation_trains_the_same_models(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.crossval import cross_validate

    config = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"
    settings = {"training.max_steps": 10, "training.eval_frequency": 10, "system.seed": 3}
    runs = [
        cross_validate(tiny_gold, folds=2, seed=0, config=config, work_dir=tmp_path / str(n), overrides=settings, baselines=(), processes=n)
        for n in (1, 2)
    ]
    for fold in range(2):
        weights = [(tmp_path / str(n) / f"fold-{fold}" / "model-last" / "ner" / "model").read_bytes() for n in (1, 2)]
        assert weights[0] == weights[1]
    assert [s.micro.fscore for s in runs[0].fold_scores["model"]] == [s.micro.fscore for s in runs[1].fold_scores["model"]]


def test_cross_validation_refuses_gold_that_breaks_the_spec_before_training(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.crossval import cross_validate
    from vndiplo.errors import VndiploError

    broken = [*tiny_gold[:4], AnnotatedDoc("bad", "Nga và Mỹ", [Span(0, 99, "GPE")])]
    with pytest.raises(VndiploError, match="break the label spec"):
        cross_validate(broken, folds=2, seed=0, config=Path("configs/ner.cfg"), work_dir=tmp_path / "models", baselines=())
    assert not (tmp_path / "models").exists()


def test_crossval_refuses_a_malformed_setting_before_training(tmp_path):
    from typer.testing import CliRunner

    from vndiplo.cli import app

    result = CliRunner().invoke(app, ["crossval", "annotations/gold/seeds.jsonl", "--set", "nonsense", "--output", str(tmp_path / "cv")])
    assert result.exit_code == 1 and "SECTION.KEY=VALUE" in flat(result.output)
    assert not (tmp_path / "cv").exists()
