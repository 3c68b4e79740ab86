import json

import pytest
from typer.testing import CliRunner

from vndiplo.adjudication import adjudicate, agreement, apply_revisions
from vndiplo.annotations import (
    AnnotatedDoc,
    Span,
    check_document,
    read_annotations,
)
from vndiplo.cli import app
from vndiplo.errors import VndiploError

from conftest import MEETING, MEETING_GOLD, flat, meeting, write_jsonl, write_records

runner = CliRunner()


def test_identical_annotators_agree_perfectly():
    result = agreement([meeting(MEETING_GOLD)], [meeting(MEETING_GOLD)])
    assert result.overall.fscore == 1.0 and result.kappa == pytest.approx(1.0)
    assert result.disagreements == []


def test_a_label_disagreement_shows_in_f1_kappa_and_confusion():
    other = [s if s.label != "TITLE" else Span(s.start, s.end, "ORG") for s in MEETING_GOLD]
    other = [s for s in other if s.start != 62]  # B missed Thụy Sĩ
    result = agreement([meeting(MEETING_GOLD)], [meeting(other)])
    assert result.overall.tp == 4 and result.overall.fp == 1 and result.overall.fn == 2
    assert result.per_label["TITLE"].fscore == 0.0
    assert result.confusion[("TITLE", "ORG")] == 1 and result.confusion[("GPE", "∅")] == 1
    assert 0 < result.kappa < 1
    assert len(result.disagreements) == 2


def test_adjudication_keeps_agreed_spans_and_withholds_gold_until_decided():
    b_spans = [s for s in MEETING_GOLD if s.label != "TITLE"]
    result = adjudicate([meeting(MEETING_GOLD)], [meeting(b_spans)])
    assert result.gold is None and result.unresolved == 1 and result.agreed == 5
    (conflict,) = result.review
    assert conflict["A"] == [[0, 12, "TITLE", "Ngoại trưởng"]] and conflict["B"] == []
    conflict["choice"] = "A"
    decided = adjudicate([meeting(MEETING_GOLD)], [meeting(b_spans)], decisions=[conflict])
    assert decided.gold[0].spans == sorted(MEETING_GOLD)


def test_prefer_rule_settles_every_conflict():
    b_spans = [Span(0, 16, "TITLE")] + MEETING_GOLD[2:]
    result = adjudicate([meeting(MEETING_GOLD)], [meeting(b_spans)], prefer="B")
    assert result.unresolved == 0 and Span(0, 16, "TITLE") in result.gold[0].spans
    assert Span(13, 16, "GPE") not in result.gold[0].spans


def test_cli_agree_prints_f1_and_kappa(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [meeting(MEETING_GOLD)])
    b = write_jsonl(tmp_path / "b.jsonl", [meeting(MEETING_GOLD[1:])])
    result = runner.invoke(app, ["agree", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "kappa" in flat(result.output) and "TITLE" in flat(result.output)


def test_cli_adjudicate_writes_review_then_gold(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [meeting(MEETING_GOLD)])
    b = write_jsonl(tmp_path / "b.jsonl", [meeting(MEETING_GOLD[1:])])
    out = tmp_path / "gold.jsonl"
    first = runner.invoke(app, ["adjudicate", str(a), str(b), "--out", str(out)])
    assert first.exit_code == 1 and not out.exists()
    review = tmp_path / "gold.review.jsonl"
    records = [json.loads(line) for line in review.read_text(encoding="utf-8").splitlines()]
    records[0]["choice"] = "none"
    review.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    second = runner.invoke(app, ["adjudicate", str(a), str(b), "--out", str(out)])
    assert second.exit_code == 0, second.output
    assert read_annotations(out)[0].spans == sorted(MEETING_GOLD[1:])


def test_revisions_replace_named_spans_and_refuse_stale_ones():

    revision = {"id": "d1", "remove": [[54, 60, "GPE", "Geneva"]], "add": [[54, 60, "LOC", "Geneva"]], "note": "test"}
    (revised,) = apply_revisions([meeting(MEETING_GOLD)], [revision])
    assert Span(54, 60, "LOC") in revised.spans and Span(54, 60, "GPE") not in revised.spans
    assert len(revised.spans) == len(MEETING_GOLD)
    with pytest.raises(VndiploError, match="removes spans the gold does not hold"):
        apply_revisions([revised], [revision])
    with pytest.raises(VndiploError, match="not 'Sergei'"):
        apply_revisions([meeting(MEETING_GOLD)], [{"id": "d1", "remove": [], "add": [[17, 30, "PER", "Sergei"]]}])


def test_a_span_across_a_line_break_is_an_error_and_adjudicate_writes_no_gold(tmp_path):
    text = "Họp tại Nga\nMỹ phản đối."
    crossing = AnnotatedDoc("d1", text, [Span(8, 14, "GPE")])
    assert [f.message for f in check_document(crossing)] == ["span runs across a line break"]
    a = write_jsonl(tmp_path / "a.jsonl", [crossing])
    result = runner.invoke(app, ["adjudicate", str(a), str(a), "--out", str(tmp_path / "gold.jsonl")])
    assert result.exit_code == 1 and "line break" in flat(result.output)
    assert not (tmp_path / "gold.jsonl").exists()


@pytest.mark.parametrize(
    "spans, message",
    [
        ([[-3, 3, "GPE"]], "offsets out of range"),
        ([[60, 500, "GPE"]], "offsets out of range"),
        ([[13, 16, "COUNTRY"]], "label 'COUNTRY' is not in the spec"),
    ],
)
def test_agree_refuses_files_that_break_the_spec_instead_of_scoring_them(tmp_path, spans, message):
    a = write_records(tmp_path / "a.jsonl", [{"id": "d1", "text": MEETING, "label": spans}])
    b = write_jsonl(tmp_path / "b.jsonl", [meeting(MEETING_GOLD)])
    result = runner.invoke(app, ["agree", str(a), str(b)])
    assert result.exit_code == 1 and "break the label spec" in flat(result.output) and message in flat(result.output)
    assert "strict span F1" not in flat(result.output)
