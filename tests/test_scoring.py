

from vndiplo.annotations import AnnotatedDoc, Span
from vndiplo.scoring import MISSED, SPURIOUS, score

from conftest import annotated


def test_perfect_predictions_score_one(tiny_gold):
    scores = score(tiny_gold, tiny_gold)
    assert scores.micro.fscore == 1.0 and scores.errors == []
    assert scores.per_label["LOC"].tp == 2


def test_matching_is_strict_on_label_and_both_offsets():
    gold = annotated(0)
    shifted = [Span(s.start, s.end + (1 if s.label == "PER" else 0), s.label) for s in gold.spans]
    relabelled = [Span(s.start, s.end, "ORG" if s.label == "TITLE" else s.label) for s in gold.spans]
    assert score([gold], [AnnotatedDoc(gold.id, gold.text, shifted)]).per_label["PER"].fscore == 0.0
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
    assert result.per_label["GPE"].fscore == 0.0
    assert result.coarse["LOC"].fscore == 1.0 and result.coarse_micro.fscore == 1.0


def test_bootstrap_interval_is_a_point_when_every_document_scores_the_same(tiny_gold):
    from vndiplo.scoring import bootstrap_interval

    assert bootstrap_interval(tiny_gold, tiny_gold, resamples=50) == (1.0, 1.0)
