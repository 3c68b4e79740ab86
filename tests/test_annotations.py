import json

import pytest
from typer.testing import CliRunner

from vndiplo.adjudication import adjudicate, agreement
from vndiplo.annotations import (
    Span,
    check_consistency,
    check_document,
    read_annotations,
    trim_document,
)
from vndiplo.cli import app
from vndiplo.errors import VndiploError

from conftest import MEETING, MEETING_GOLD, flat, meeting, write_jsonl, write_records

runner = CliRunner()


def test_fixture_offsets_are_what_they_claim():
    assert [MEETING[s.start : s.end] for s in MEETING_GOLD] == ["Ngoại trưởng", "Nga", "Sergei Lavrov", "Antony Blinken", "Geneva", "Thụy Sĩ"]


def test_clean_document_has_no_findings():
    assert check_document(meeting(MEETING_GOLD)) == []


@pytest.mark.parametrize(
    "span, message",
    [
        (Span(13, 16, "COUNTRY"), "not in the spec"),
        (Span(60, 90, "GPE"), "out of range"),
        (Span(-1, 3, "GPE"), "out of range"),
        (Span(5, 5, "GPE"), "out of range"),
        (Span(12, 16, "GPE"), "whitespace or punctuation"),
    ],
)
def test_spec_breaking_spans_are_found(span, message):
    findings = check_document(meeting([span]))
    assert len(findings) == 1 and message in findings[0].message


def test_overlapping_spans_are_an_error():
    findings = check_document(meeting([Span(0, 16, "TITLE"), Span(13, 16, "GPE")]))
    assert [f.level for f in findings] == ["error"] and "overlaps" in findings[0].message


def test_stray_whitespace_is_trimmed_and_reported():
    trimmed, changes = trim_document(meeting([Span(12, 16, "GPE"), Span(61, 70, "GPE")]))
    assert trimmed.spans == [Span(13, 16, "GPE"), Span(62, 69, "GPE")]
    assert len(changes) == 2


def test_same_surface_with_two_labels_and_a_likely_miss_are_warned():
    first = meeting([Span(13, 16, "GPE"), Span(54, 60, "GPE")], "a")
    second = meeting([Span(13, 16, "ORG"), Span(54, 60, "GPE")], "b")
    third = meeting([], "c")
    findings = check_consistency([first, second, third])
    assert any("different labels" in f.message for f in findings)
    missed = [f for f in findings if "'Geneva' is labelled GPE in 2 places but not here" in f.message]
    assert [(f.doc_id, f.start) for f in missed] == [("c", 54)]


def test_a_surface_left_out_in_most_places_is_warned_where_it_is_labelled():
    findings = check_consistency([meeting([Span(54, 60, "GPE")], "a"), meeting([], "b"), meeting([], "c")])
    odd = [f for f in findings if "Geneva" in f.message]
    assert [(f.doc_id, f.start) for f in odd] == [("a", 54)]
    assert "left out in 2 places" in odd[0].message


def test_doccano_entities_shape_is_read(tmp_path):
    path = tmp_path / "a.jsonl"
    record = {"id": 7, "text": MEETING, "entities": [{"start_offset": 13, "end_offset": 16, "label": "GPE"}], "meta": {"doc_id": "d1"}}
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    (read,) = read_annotations(path)
    assert read.id == "d1" and read.spans == [Span(13, 16, "GPE")]


def test_malformed_line_is_named(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "d1", "text": "x", "label": []}\n{"id": \n', encoding="utf-8")
    with pytest.raises(VndiploError, match=r"a.jsonl:2"):
        read_annotations(path)


def test_documents_with_different_texts_are_refused():
    with pytest.raises(VndiploError, match="different text"):
        agreement([meeting(MEETING_GOLD)], [meeting([], text=MEETING + " thêm")])


def test_cli_validate_exits_one_on_errors_and_zero_on_warnings(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [meeting([Span(0, 16, "TITLE"), Span(13, 16, "GPE")])])
    good = write_jsonl(tmp_path / "good.jsonl", [meeting(MEETING_GOLD)])
    bad_result = runner.invoke(app, ["validate", str(bad)])
    assert bad_result.exit_code == 1 and "overlaps" in bad_result.output
    good_result = runner.invoke(app, ["validate", str(good)])
    assert good_result.exit_code == 0, good_result.output


def test_a_review_decision_may_give_its_own_spans_and_is_checked():
    b_spans = [Span(0, 16, "TITLE")] + MEETING_GOLD[2:]
    conflict = adjudicate([meeting(MEETING_GOLD)], [meeting(b_spans)]).review[0]
    conflict["choice"] = [[0, 12, "TITLE", "Ngoại trưởng"]]
    result = adjudicate([meeting(MEETING_GOLD)], [meeting(b_spans)], decisions=[conflict])
    assert Span(0, 12, "TITLE") in result.gold[0].spans and Span(13, 16, "GPE") not in result.gold[0].spans
    conflict["choice"] = [[0, 12, "TITLE", "Ngoại trưởng Nga"]]
    with pytest.raises(VndiploError, match="not 'Ngoại trưởng Nga'"):
        adjudicate([meeting(MEETING_GOLD)], [meeting(b_spans)], decisions=[conflict])


def test_cli_validate_checks_texts_against_the_corpus(tmp_path):
    from vndiplo.corpus import Document, write_corpus

    gold = write_jsonl(tmp_path / "gold.jsonl", [meeting(MEETING_GOLD)])
    corpus = tmp_path / "docs.jsonl"
    write_corpus([Document("d1", MEETING + " Sửa.", "t", "seeds", "p", "h", 1)], corpus)
    result = runner.invoke(app, ["validate", str(gold), "--corpus", str(corpus)])
    assert result.exit_code == 1 and "differs from the corpus" in flat(result.output)


def test_markup_gives_offsets_into_the_corpus_text():
    marked = "[[Ngoại trưởng|TITLE]] [[Nga|GPE]] [[Sergei Lavrov|PER]] gặp [[Antony Blinken|PER]] tại [[Geneva|GPE]] ([[Thụy Sĩ|GPE]])."
    from vndiplo.annotations import parse_markup

    doc = parse_markup(marked + "\n", "d1", MEETING)
    assert doc.text == MEETING and doc.spans == MEETING_GOLD


def test_markup_keeps_brackets_of_the_text_outside_the_span():
    from vndiplo.annotations import parse_markup

    doc = parse_markup("gặp [[[Đảng Cộng sản|ORG]]].", "d1", "gặp [Đảng Cộng sản].")
    assert [doc.text[s.start : s.end] for s in doc.spans] == ["Đảng Cộng sản"]


def test_markup_that_changes_the_text_is_refused_with_the_place():
    from vndiplo.annotations import parse_markup

    with pytest.raises(VndiploError) as caught:
        parse_markup("[[Ngoại trưởng|TITLE]] [[Nga|GPE]] Sergei Lavrov gap Antony Blinken tại Geneva (Thụy Sĩ).", "d1", MEETING)
    assert "character 32" in caught.value.detail  # "gặp" starts at 31; its second letter differs


def test_import_markup_cli_writes_valid_spans_and_refuses_bad_labels(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "d1", "text": MEETING, "title": "", "source": "s", "path": "p", "hash": "h", "words": 11, "meta": {}}, ensure_ascii=False) + "\n")
    folder = tmp_path / "marked"
    folder.mkdir()
    (folder / "d1.txt").write_text(MEETING.replace("Geneva", "[[Geneva|GPE]]"))
    out = tmp_path / "pass.jsonl"
    result = runner.invoke(app, ["import-markup", str(folder), "--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert read_annotations(out)[0].spans == [Span(54, 60, "GPE")]
    (folder / "d1.txt").write_text(MEETING.replace("Geneva", "[[Geneva|CITY]]"))
    out.unlink()
    result = runner.invoke(app, ["import-markup", str(folder), "--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 1 and "CITY" in flat(result.output) and not out.exists()


def test_reviewed_warnings_are_counted_not_listed_and_errors_never_kept():
    from vndiplo.annotations import ERROR, Finding, finding_key, split_reviewed

    rare = Finding("warning", "a", 54, 60, "'Geneva' is labelled GPE here but left out in 2 places")
    missed = Finding("warning", "c", 54, 60, "'Geneva' is labelled GPE in 2 places but not here")
    broken = Finding(ERROR, "a", 0, 3, "span starts with whitespace")
    reviewed = [
        {"key": finding_key(rare), "decision": "kept", "note": "the city, labelled where it is one"},
        {"key": finding_key(broken), "decision": "kept", "note": "no"},
        {"key": finding_key(missed), "decision": "kept", "note": ""},  # no reason, no effect
    ]
    still_open, kept = split_reviewed([rare, missed, broken], reviewed)
    assert kept == [rare] and still_open == [missed, broken]
    assert finding_key(Finding("warning", "a", 54, 60, "'Geneva' is labelled GPE here but left out in 7 places")) == finding_key(rare)


# --- bad input: types, word edges, repeated ids, files that are no files ------------------


@pytest.mark.parametrize(
    "span, reason",
    [
        (["13", 16, "GPE"], "the start offset '13' is of type str, not an integer"),
        ([13, 16.9, "GPE"], "the end offset 16.9 is of type float, not an integer"),
        ([True, 16, "GPE"], "the start offset True is of type bool, not an integer"),
        ([13, float("inf"), "GPE"], "the end offset inf is of type float"),
        ([13, 16, 5], "the label 5 is of type int, not a string"),
        ([13, 16], "a span is [start, end, \"LABEL\"]"),
        ({"start_offset": 13, "end_offset": "16", "label": "GPE"}, "the end offset '16' is of type str"),
    ],
)
def test_offsets_and_labels_of_the_wrong_type_are_refused_not_coerced(tmp_path, span, reason):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "d1", "text": MEETING, "label": [span]}, ensure_ascii=False).replace("Infinity", "1e400") + "\n", encoding="utf-8")
    with pytest.raises(VndiploError) as caught:
        read_annotations(path)
    assert f"{path}:1: malformed span" in caught.value.title and reason in caught.value.detail
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and reason in flat(result.output) and "Traceback" not in flat(result.output)


@pytest.mark.parametrize("label", [5, "GPE", {"start": 1}])
def test_a_label_field_that_is_not_a_list_of_spans_is_one_clear_error(tmp_path, label):
    path = write_records(tmp_path / "a.jsonl", [{"id": "d1", "text": MEETING, "label": label}])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and "`label` must be a list of spans" in flat(result.output) and "Traceback" not in flat(result.output)


@pytest.mark.parametrize(
    "span, message",
    [
        (Span(13, 15, "GPE"), "inside a word"),  # "Ng" of "Nga"
        (Span(18, 30, "PER"), "inside a word"),  # "ergei Lavrov"
    ],
)
def test_a_span_that_starts_or_ends_inside_a_word_is_an_error(span, message):
    findings = check_document(meeting([span]))
    assert [f.level for f in findings if message in f.message] == ["error"]


def test_a_document_twice_in_one_annotators_file_is_refused_naming_both_lines(tmp_path):
    a = write_records(tmp_path / "a.jsonl", [meeting(MEETING_GOLD).to_record(), meeting(MEETING_GOLD, "d2").to_record(), meeting([]).to_record()])
    b = write_jsonl(tmp_path / "b.jsonl", [meeting(MEETING_GOLD)])
    for args in (["agree", str(a), str(b)], ["adjudicate", str(a), str(b), "--out", str(tmp_path / "gold.jsonl")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert f"{a}: document 'd1' occurs twice" in flat(result.output) and "lines 1 and 3" in flat(result.output)
    assert not (tmp_path / "gold.jsonl").exists()


def test_a_review_record_without_a_key_is_one_clear_error(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [meeting(MEETING_GOLD)])
    b = write_jsonl(tmp_path / "b.jsonl", [meeting(MEETING_GOLD[1:])])
    review = write_records(tmp_path / "review.jsonl", [{"id": "d1", "choice": "A"}])
    result = runner.invoke(app, ["adjudicate", str(a), str(b), "--out", str(tmp_path / "gold.jsonl"), "--review", str(review)])
    assert result.exit_code == 1 and f"{review}:1: malformed JSON Lines record" in flat(result.output) and "string `key`" in flat(result.output)
    assert "Traceback" not in flat(result.output) and not (tmp_path / "gold.jsonl").exists()


def test_an_out_path_that_is_a_folder_or_under_a_file_is_one_clear_error(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [meeting(MEETING_GOLD)])
    (tmp_path / "folder").mkdir()
    for out in (tmp_path / "folder", a / "gold.jsonl"):
        result = runner.invoke(app, ["adjudicate", str(a), str(a), "--out", str(out), "--review", str(tmp_path / "r.jsonl")])
        assert result.exit_code == 1, result.output
        assert "Could not read or write" in flat(result.output) and "Traceback" not in flat(result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
