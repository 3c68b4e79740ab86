import json

import pytest

from vndiplo.annotations import AnnotatedDoc, Span
from vndiplo.errors import VndiploError
from vndiplo.evaluate import (
    MISSED,
    SPURIOUS,
    build_gazetteer,
    gazetteer_spans,
    model_predictor,
    score,
    underthesea_spans,
    write_reports,
)

from conftest import annotated


def test_perfect_predictions_score_one(tiny_gold):
    scores = score(tiny_gold, tiny_gold)
    assert scores.micro.f1 == 1.0 and scores.errors == []
    assert scores.per_label["LOC"].tp == 2


def test_matching_is_strict_on_label_and_both_offsets():
    gold = annotated(0)
    shifted = [Span(s.start, s.end + (1 if s.label == "PER" else 0), s.label) for s in gold.spans]
    relabelled = [Span(s.start, s.end, "ORG" if s.label == "TITLE" else s.label) for s in gold.spans]
    assert score([gold], [AnnotatedDoc(gold.id, gold.text, shifted)]).per_label["PER"].f1 == 0.0
    result = score([gold], [AnnotatedDoc(gold.id, gold.text, relabelled)])
    assert result.per_label["TITLE"].fn == 1 and result.per_label["ORG"].fp == 1
    assert result.confusion[("TITLE", "ORG")] == 1


def test_missed_and_spurious_spans_enter_the_confusion_and_errors():
    gold = annotated(3)
    prediction = AnnotatedDoc(gold.id, gold.text, gold.spans[1:] + [Span(0, 8, "EVENT")])
    result = score([gold], [prediction])
    assert result.confusion[("EVENT", MISSED)] == 1 and result.confusion[(SPURIOUS, "EVENT")] == 1
    assert {e["gold"] for e in result.errors} == {"EVENT", SPURIOUS}


def test_coarse_scores_follow_the_spec_mapping():
    gold = annotated(0)
    as_loc = AnnotatedDoc(gold.id, gold.text, [Span(s.start, s.end, "LOC" if s.label == "GPE" else s.label) for s in gold.spans])
    result = score([gold], [as_loc])
    assert result.per_label["GPE"].f1 == 0.0
    assert result.coarse["LOC"].f1 == 1.0 and result.coarse_micro.f1 == 1.0


def test_gazetteer_uses_longest_whole_word_matches(tiny_gold):
    gazetteer = build_gazetteer(tiny_gold)
    text = "Bộ Ngoại giao Nga và Ngan hàng Nga"
    spans = gazetteer_spans(text, gazetteer)
    assert [(text[s.start:s.end], s.label) for s in spans] == [("Bộ Ngoại giao Nga", "ORG"), ("Nga", "GPE")]


def test_underthesea_spans_are_character_offsets():
    text = "Ngoại trưởng Antony Blinken đến Hà Nội.\nÔng gặp Thủ tướng Việt Nam."
    spans = underthesea_spans(text)
    assert spans, "underthesea found no entity"
    assert all(text[s.start:s.end].strip() == text[s.start:s.end] and s.label in {"PER", "ORG", "LOC", "MISC"} for s in spans)


def test_our_strict_scores_equal_spacy_scorer(tiny_model, tiny_gold):
    import spacy
    from spacy.training import Example

    from vndiplo.dataset import to_spacy_doc

    nlp = spacy.load(tiny_model)
    ours = score(tiny_gold, model_predictor(nlp)(tiny_gold))
    examples = [Example(nlp(doc.text), to_spacy_doc(nlp, doc)) for doc in tiny_gold]
    theirs = nlp.evaluate(examples)
    assert ours.micro.f1 == pytest.approx(theirs["ents_f"])


def test_reports_are_written_as_json_markdown_and_png(tmp_path, tiny_gold):
    paths = write_reports(score(tiny_gold, tiny_gold[:2]), tmp_path, "test")
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert set(data["per_label"]) == {"PER", "TITLE", "ORG", "GPE", "LOC", "EVENT", "AGREEMENT", "DATE"}
    assert "| **micro** |" in paths["markdown"].read_text(encoding="utf-8")
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"


def test_rules_baseline_finds_dates_and_listed_names():
    from vndiplo.evaluate import read_gazetteer, rules_spans

    text = "Ngày 21/1, Ngoại trưởng Nga gặp Tổng thống Mỹ hôm 11/1 và ngày 27 tháng 8 năm 2003."
    found = [(text[s.start:s.end], s.label) for s in rules_spans(text, read_gazetteer())]
    assert found == [
        ("Ngày 21/1", "DATE"), ("Ngoại trưởng", "TITLE"), ("Nga", "GPE"), ("Tổng thống", "TITLE"),
        ("Mỹ", "GPE"), ("11/1", "DATE"), ("ngày 27 tháng 8 năm 2003", "DATE"),
    ]


def test_gazetteer_file_with_an_unknown_label_is_refused(tmp_path):
    from vndiplo.errors import VndiploError
    from vndiplo.evaluate import read_gazetteer

    path = tmp_path / "g.tsv"
    path.write_text("Nga\tCOUNTRY\n", encoding="utf-8")
    with pytest.raises(VndiploError, match="unknown label"):
        read_gazetteer(path)


def test_cross_validation_scores_every_system_on_the_same_folds(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.evaluate import cross_validate, crossval_markdown, plot_learning_curve

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

    from vndiplo.evaluate import cross_validate, crossval_markdown

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

    from vndiplo.evaluate import cross_validate, crossval_markdown

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

    from vndiplo.evaluate import cross_validate

    with pytest.raises(VndiploError, match="Nothing to score"):
        cross_validate(tiny_gold, folds=0, seed=0, config=Path("configs/ner.cfg"), work_dir=tmp_path, baselines=())


def test_bootstrap_interval_is_a_point_when_every_document_scores_the_same(tiny_gold):
    from vndiplo.evaluate import bootstrap_interval

    assert bootstrap_interval(tiny_gold, tiny_gold, resamples=50) == (1.0, 1.0)


def test_fill_gaps_adds_only_spans_that_overlap_nothing():
    from vndiplo.evaluate import fill_gaps

    model = [Span(0, 3, "GPE")]
    rules = [Span(0, 9, "ORG"), Span(12, 16, "DATE")]
    assert fill_gaps(model, rules) == [Span(0, 3, "GPE"), Span(12, 16, "DATE")]


def test_parallel_cross_validation_trains_the_same_models(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.evaluate import cross_validate

    config = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"
    settings = {"training.max_steps": 10, "training.eval_frequency": 10, "system.seed": 3}
    runs = [
        cross_validate(tiny_gold, folds=2, seed=0, config=config, work_dir=tmp_path / str(n), overrides=settings, baselines=(), processes=n)
        for n in (1, 2)
    ]
    for fold in range(2):
        weights = [(tmp_path / str(n) / f"fold-{fold}" / "model-last" / "ner" / "model").read_bytes() for n in (1, 2)]
        assert weights[0] == weights[1]
    assert [s.micro.f1 for s in runs[0].fold_scores["model"]] == [s.micro.f1 for s in runs[1].fold_scores["model"]]


def test_cross_validation_refuses_gold_that_breaks_the_spec_before_training(tmp_path, tiny_gold):
    from pathlib import Path

    from vndiplo.errors import VndiploError
    from vndiplo.evaluate import cross_validate

    broken = [*tiny_gold[:4], AnnotatedDoc("bad", "Nga và Mỹ", [Span(0, 99, "GPE")])]
    with pytest.raises(VndiploError, match="break the label spec"):
        cross_validate(broken, folds=2, seed=0, config=Path("configs/ner.cfg"), work_dir=tmp_path / "models", baselines=())
    assert not (tmp_path / "models").exists()


def test_crossval_refuses_a_malformed_setting_before_training(tmp_path):
    from typer.testing import CliRunner

    from vndiplo.cli import app

    result = CliRunner().invoke(app, ["crossval", "annotations/gold/seeds.jsonl", "--set", "nonsense", "--output", str(tmp_path / "cv")])
    assert result.exit_code == 1 and "SECTION.KEY=VALUE" in result.output
    assert not (tmp_path / "cv").exists()


def test_evaluating_on_an_empty_docbin_is_refused_not_a_table_of_zeros(tmp_path):
    from spacy.tokens import DocBin
    from typer.testing import CliRunner

    from vndiplo.cli import app

    empty = tmp_path / "test.spacy"
    DocBin().to_disk(empty)
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "model"), str(empty), "--output", str(tmp_path / "evaluation")])
    assert result.exit_code == 1 and f"{empty} holds no documents" in result.output
    assert not (tmp_path / "evaluation").exists()
