"""Unit tests of the Doccano round trip: offsets, export parsing, checks, push inputs, the CLI's errors.

The export zips in tests/fixtures/doccano/ were recorded from a real Doccano 1.8.4
server by tests/fixtures/doccano/record_exports.py: alice and bob annotate four short
documents (one with emoji) through the REST API the way the browser does.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vndiplo.annotations import AnnotatedDoc, Span, read_annotations
from vndiplo.cli import app
from vndiplo.corpus import make_document, read_corpus, write_corpus
from vndiplo.doccano.client import Credentials, check_project_settings, credentials, read_export
from vndiplo.doccano.local import free_port
from vndiplo.doccano.offsets import from_utf16, spans_from_doccano, spans_to_doccano, to_utf16, trim_whitespace
from vndiplo.doccano.pull import build_pull, export_documents, write_pull
from vndiplo.doccano.push import load_guidelines, push, read_pre_annotations, span_type_payload
from vndiplo.errors import VndiploError
from vndiplo.labels import load_labels

from conftest import flat

FIXTURES = Path(__file__).parent / "fixtures" / "doccano"


@pytest.fixture
def corpus():
    return read_corpus(FIXTURES / "corpus.jsonl")


@pytest.fixture
def exported():
    return read_export((FIXTURES / "export-all.zip").read_bytes())


@pytest.fixture
def confirmed():
    return read_export((FIXTURES / "export-done.zip").read_bytes())


def surfaces(doc: AnnotatedDoc) -> list[tuple[str, str]]:
    return [(doc.text[s.start : s.end], s.label) for s in sorted(doc.spans)]


# --- offsets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Nga và Mỹ",  # Vietnamese diacritics are one code unit each
        "😀 Bộ Ngoại giao Nga",
        "👍🏻 emoji with a skin-tone modifier (two astral characters)",
        "Nga\r\nMỹ 𝐍𝐀𝐓𝐎 (mathematical bold) 😀😀",
        "",
    ],
)
def test_utf16_offsets_round_trip_at_every_character_boundary(text):
    for index in range(len(text) + 1):
        assert from_utf16(text, to_utf16(text, index)) == index


def test_an_emoji_counts_two_utf16_units():
    text = "😀 Putin"
    assert to_utf16(text, text.index("Putin")) == 3
    assert from_utf16(text, 3) == 2


@pytest.mark.parametrize("offset", [1, 99, -1])
def test_an_offset_inside_a_surrogate_pair_or_outside_the_text_has_no_python_index(offset):
    assert from_utf16("😀 Putin", offset) is None


def test_spans_survive_the_conversion_to_doccano_and_back():
    text = "😀 Bộ Ngoại giao Nga 👍🏻 tuyên bố ngày 21/1 tại Moskva."
    spans = [Span(text.index("Bộ"), text.index("Bộ") + len("Bộ Ngoại giao Nga"), "ORG"), Span(text.index("Moskva"), len(text) - 1, "GPE")]
    sent = spans_to_doccano(text, spans)
    assert sent != spans
    back, problems = spans_from_doccano(AnnotatedDoc("d", text, sent))
    assert problems == [] and back.spans == spans


def test_a_span_that_splits_an_emoji_is_a_problem_not_a_guess():
    doc, problems = spans_from_doccano(AnnotatedDoc("d", "😀 Putin", [Span(1, 8, "PER")]))
    assert doc.spans == [] and len(problems) == 1 and "split a character" in problems[0].message


# --- export parsing --------------------------------------------------------------------------


def test_the_export_zip_has_one_jsonl_per_project_member(exported):
    assert sorted(exported) == ["admin", "alice", "bob"]
    assert all(len(records) == 4 for records in exported.values())


def test_export_records_carry_the_corpus_id_and_python_offsets(exported, corpus):
    docs, problems = export_documents(exported["alice"], "alice.jsonl")
    assert problems == []
    by_id = {doc.id: doc for doc in docs}
    assert set(by_id) == {"d1", "d2", "d3", "d4"}
    assert by_id["d2"].text == corpus["d2"].text
    assert surfaces(by_id["d2"]) == [("Bộ Ngoại giao Nga", "ORG"), ("ngày 21/1", "DATE"), ("Moskva", "GPE")]
    assert by_id["d2"].meta == {}


def test_pull_keeps_only_the_documents_each_annotator_checked(exported, confirmed, corpus):
    result = build_pull(exported, confirmed, corpus, project="fixture")
    assert sorted(result.annotators) == ["alice", "bob"] and result.idle == ["admin"]
    alice, bob = result.annotators["alice"], result.annotators["bob"]
    assert [d.id for d in alice.docs] == ["d1", "d2"] and alice.done == 2
    assert (alice.unchecked, alice.not_started) == (1, 1)  # d3 has spans but was never checked
    assert [d.id for d in bob.docs] == ["d1", "d2"] and bob.done == 2 and (bob.unchecked, bob.not_started) == (0, 2)
    assert {d.id: d.spans for d in bob.docs}["d2"] == []  # done with no entity is an answer too
    assert ("Geneva", "LOC") in surfaces(bob.docs[0]) and ("Geneva", "GPE") in surfaces(alice.docs[0])


def test_pull_with_include_unchecked_adds_labelled_but_unchecked_documents(exported, confirmed, corpus):
    alice = build_pull(exported, confirmed, corpus, include_unchecked=True).annotators["alice"]
    assert [d.id for d in alice.docs] == ["d1", "d2", "d3"] and alice.done == 2 and alice.unchecked == 0


def test_a_span_with_whitespace_at_an_edge_is_held_back_with_its_context(exported, confirmed, corpus):
    result = build_pull(exported, confirmed, corpus, include_unchecked=True)
    [held] = result.trimmed
    assert (held.username, held.doc_id, held.stored.end - held.trimmed.end) == ("alice", "d3", 1)
    assert "[Hội đồng NATO-Nga ]" in held.context and not result.trimmed_accepted
    d3 = {d.id: d for d in result.annotators["alice"].docs}["d3"]
    assert held.stored not in d3.spans and ("Hội đồng NATO-Nga", "ORG") not in surfaces(d3)


def test_accept_trimmed_writes_the_span_without_its_whitespace(exported, confirmed, corpus):
    result = build_pull(exported, confirmed, corpus, include_unchecked=True, accept_trimmed=True)
    assert result.trimmed_accepted and len(result.trimmed) == 1
    d3 = {d.id: d for d in result.annotators["alice"].docs}["d3"]
    assert surfaces(d3)[0] == ("Hội đồng NATO-Nga", "ORG")


def test_trimming_whitespace_leaves_punctuation_to_the_annotator():
    doc = AnnotatedDoc("d", "Ông  Putin. ", [Span(3, 12, "PER"), Span(10, 12, "PER")])
    trimmed, changes = trim_whitespace(doc)
    assert trimmed.spans == [Span(5, 11, "PER"), Span(10, 11, "PER")]
    assert len(changes) == 2


def test_a_span_of_only_whitespace_is_dropped_and_reported():
    trimmed, changes = trim_whitespace(AnnotatedDoc("d", "a   b", [Span(1, 4, "PER")]))
    assert trimmed.spans == [] and changes == [(Span(1, 4, "PER"), Span(4, 4, "PER"))]


def test_a_label_the_spec_does_not_know_refuses_the_pull(corpus):
    exported = read_export((FIXTURES / "export-unknown-label.zip").read_bytes())
    with pytest.raises(VndiploError) as caught:
        build_pull(exported, {}, corpus, project="fixture-unknown-label", include_unchecked=True)
    assert "break the label spec" in caught.value.title
    assert "'MISC' is not in the spec" in caught.value.detail


def test_overlapping_spans_are_refused_with_the_list():
    text = "Bộ Ngoại giao Nga"
    record = {"id": 1, "doc_id": "x", "text": text, "label": [[0, 17, "ORG"], [14, 17, "GPE"]]}
    corpus = {"x": make_document("x", text, source="t", path="x")[0]}
    with pytest.raises(VndiploError) as caught:
        build_pull({"alice": [record]}, {"alice": [record]}, corpus)
    assert "overlaps ORG" in caught.value.detail and "x:14-17" in caught.value.detail


def test_offsets_that_split_an_emoji_refuse_the_pull():
    text = "😀 Putin"
    corpus = {"x": make_document("x", text, source="t", path="x")[0]}
    record = {"id": 1, "doc_id": "x", "text": text, "label": [[1, 8, "PER"]]}
    with pytest.raises(VndiploError, match="offsets that do not fit"):
        build_pull({"alice": [record]}, {}, corpus)


def test_a_document_changed_since_the_push_is_reported_not_merged(exported, confirmed, corpus, tmp_path):
    corpus["d1"] = make_document("d1", corpus["d1"].text.replace("Geneva", "Genève"), source="t", path="d1")[0]
    with pytest.raises(VndiploError) as caught:
        build_pull(exported, confirmed, corpus)
    assert "do not match the corpus" in caught.value.title and "d1: text differs from the corpus text" in caught.value.detail
    result = build_pull(exported, confirmed, corpus, skip_changed=True)
    assert result.changed == ["d1: text differs from the corpus text"]
    assert "d1" not in [d.id for d in result.annotators["alice"].docs]


def test_a_document_missing_from_the_corpus_is_reported(exported, confirmed, corpus):
    del corpus["d2"]
    with pytest.raises(VndiploError, match="do not match the corpus") as caught:
        build_pull(exported, confirmed, corpus)
    assert "d2: document is not in the corpus" in caught.value.detail


def test_write_pull_writes_one_file_per_annotator_that_reads_back_the_same(exported, confirmed, corpus, tmp_path):
    result = build_pull(exported, confirmed, corpus)
    paths, review = write_pull(result, tmp_path / "raw")
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["alice.jsonl", "bob.jsonl"] and not review.exists()
    for username, path in paths.items():
        assert read_annotations(path) == result.annotators[username].docs


def test_write_pull_lists_held_back_spans_and_removes_an_old_list(exported, confirmed, corpus, tmp_path):
    _, review = write_pull(build_pull(exported, confirmed, corpus, include_unchecked=True), tmp_path / "raw")
    listing = review.read_text(encoding="utf-8")
    assert "| alice | d3 | ORG |" in listing and "NOT in the annotators' files" in listing
    write_pull(build_pull(exported, confirmed, corpus), tmp_path / "raw")
    assert not review.exists()


def test_a_refused_pull_writes_nothing(corpus, tmp_path):
    exported = read_export((FIXTURES / "export-unknown-label.zip").read_bytes())
    with pytest.raises(VndiploError):
        write_pull(build_pull(exported, {}, corpus, include_unchecked=True), tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_a_damaged_export_is_a_clear_error():
    with pytest.raises(VndiploError, match="not a zip file"):
        read_export(b"<html>")


# --- push inputs -----------------------------------------------------------------------------


def test_span_types_take_colour_and_shortcut_from_the_label_config():
    labels = load_labels()
    payloads = [span_type_payload(label) for label in labels.labels]
    assert [p["text"] for p in payloads] == labels.names
    per = payloads[0]
    assert per["background_color"] == labels["PER"].color.lower() and per["suffix_key"] == labels["PER"].shortcut
    assert per["prefix_key"] is None and per["text_color"] in {"#000000", "#ffffff"}


@pytest.mark.parametrize(
    "setting, message",
    [("collaborative_annotation", "Share annotations"), ("grapheme_mode", "grapheme"), ("allow_overlapping", "overlapping")],
)
def test_a_project_whose_settings_mix_annotators_or_offsets_is_refused(setting, message):
    project = {"name": "p", "project_type": "SequenceLabeling", setting: True}
    with pytest.raises(VndiploError, match=message):
        check_project_settings(project)


def test_a_project_of_another_type_is_refused():
    with pytest.raises(VndiploError, match="not sequence labelling"):
        check_project_settings({"name": "p", "project_type": "DocumentClassification"})


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_pre_annotations_are_trimmed_and_checked_against_the_corpus(corpus, tmp_path):
    text = corpus["d1"].text
    start = text.index("Geneva")
    path = _write_jsonl(tmp_path / "pre.jsonl", [{"id": "d1", "text": text, "label": [[start - 1, start + 6, "GPE"]]}])
    docs, trimmed = read_pre_annotations(path, corpus)
    assert docs[0].spans == [Span(start, start + 6, "GPE")] and trimmed[0][0] == "d1"


@pytest.mark.parametrize(
    "record, message",
    [
        ({"id": "nope", "text": "x", "label": []}, "nope: document is not in the corpus"),
        ({"id": "d1", "text": "another text", "label": []}, "d1: text differs"),
    ],
)
def test_pre_annotations_that_do_not_match_the_corpus_are_refused(corpus, tmp_path, record, message):
    with pytest.raises(VndiploError) as caught:
        read_pre_annotations(_write_jsonl(tmp_path / "pre.jsonl", [record]), corpus)
    assert message in caught.value.detail


def test_pre_annotations_with_an_unknown_label_are_refused(corpus, tmp_path):
    record = {"id": "d1", "text": corpus["d1"].text, "label": [[0, 5, "MISC"]]}
    with pytest.raises(VndiploError, match="break the label spec"):
        read_pre_annotations(_write_jsonl(tmp_path / "pre.jsonl", [record]), corpus)


def test_push_refuses_an_order_with_unknown_ids_before_contacting_the_server(corpus):
    creds = Credentials(f"http://127.0.0.1:{free_port()}", "admin", "x")
    with pytest.raises(VndiploError, match="not in the corpus") as caught:
        push(creds, corpus, "p", order=["d2", "zz"])
    assert "'zz'" in caught.value.detail


def test_the_guidelines_fall_back_to_a_self_contained_text_with_every_label(tmp_path):
    text = load_guidelines(tmp_path / "missing.md")
    assert "key first" in text and all(f"| {name} |" in text for name in load_labels().names)
    assert ".md" not in text  # Doccano shows it in the browser: no file to follow from there


def test_the_project_guidelines_name_no_file_of_the_repository():
    text = load_guidelines()
    assert "Press a label's key **first**" in text and all(f"| {name} |" in text for name in load_labels().names)
    assert ".md" not in text and "../" not in text


def test_the_guidelines_are_the_project_file_when_it_exists(tmp_path):
    (tmp_path / "g.md").write_text("# Mine\n", encoding="utf-8")
    assert load_guidelines(tmp_path / "g.md") == "# Mine\n"


# --- credentials and CLI errors ------------------------------------------------------------


def test_options_win_over_the_environment_and_the_password_stays_out_of_reprs():
    env = {"DOCCANO_URL": "http://doccano:9000/", "DOCCANO_USERNAME": "env-user", "DOCCANO_PASSWORD": "s3cret"}
    creds = credentials(username="opt-user", environ=env)
    assert (creds.url, creds.username, creds.password) == ("http://doccano:9000", "opt-user", "s3cret")
    assert "s3cret" not in repr(creds)
    assert credentials(environ={"DOCCANO_USERNAME": "u", "DOCCANO_PASSWORD": "p"}).url == "http://127.0.0.1:8000"


def test_missing_credentials_name_the_variables():
    with pytest.raises(VndiploError) as caught:
        credentials(environ={"DOCCANO_USERNAME": "u"})
    assert "DOCCANO_PASSWORD" in caught.value.title


runner = CliRunner()


def test_the_doccano_command_group_lists_serve_stop_push_pull():
    result = runner.invoke(app, ["doccano", "--help"])
    assert result.exit_code == 0
    for command in ("serve", "stop", "push", "pull"):
        assert command in flat(result.output)


def test_pull_from_a_server_that_is_down_is_one_clear_error(tmp_path):
    env = {"DOCCANO_URL": f"http://127.0.0.1:{free_port()}", "DOCCANO_USERNAME": "admin", "DOCCANO_PASSWORD": "x"}
    corpus_file = tmp_path / "docs.jsonl"
    write_corpus([make_document("d", "Nga", source="t", path="d")[0]], corpus_file)
    result = runner.invoke(app, ["doccano", "pull", "--project", "p", "--corpus", str(corpus_file), "--out", str(tmp_path / "raw")], env=env)
    assert result.exit_code == 1
    assert "No Doccano server answers at" in flat(result.output) and "connection refused" in flat(result.output)
    assert "Traceback" not in flat(result.output) and not (tmp_path / "raw").exists()


def test_stop_without_a_running_server_says_so(tmp_path):
    result = runner.invoke(app, ["doccano", "stop", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "No Doccano server" in flat(result.output)


def test_push_with_an_unknown_order_names_the_choices(tmp_path):
    env = {"DOCCANO_URL": f"http://127.0.0.1:{free_port()}", "DOCCANO_USERNAME": "admin", "DOCCANO_PASSWORD": "x"}
    corpus_file = tmp_path / "docs.jsonl"
    write_corpus([make_document("d", "Nga", source="t", path="d")[0]], corpus_file)
    result = runner.invoke(app, ["doccano", "push", str(corpus_file), "--project", "p", "--order", "newest"], env=env)
    assert result.exit_code == 1
    assert "Unknown --order 'newest'" in flat(result.output) and "corpus, uncertain, random" in flat(result.output)


# --- documents Doccano would refuse ----------------------------------------------------------


def test_the_upload_size_is_the_body_requests_sends():
    import requests

    from vndiplo.doccano.client import upload_bytes

    text = "Ngoại trưởng Nga 😀 gặp \"Blinken\"\n"
    body = requests.Request("POST", "http://127.0.0.1/", json={"text": text, "meta": {"doc_id": "d"}}).prepare().body
    assert upload_bytes("d", text) == len(body)


def test_push_names_a_document_too_large_for_doccano_and_the_limit_before_uploading_anything(corpus):
    from vndiplo.doccano.client import MAX_REQUEST_BYTES

    corpus["huge"] = make_document("huge", "Ngoại trưởng Nga gặp người đồng cấp Mỹ.\n" * 60_000, source="t", path="huge")[0]
    creds = Credentials(f"http://127.0.0.1:{free_port()}", "admin", "x")  # nothing answers: the refusal comes first
    with pytest.raises(VndiploError) as caught:
        push(creds, corpus, "p")
    assert "1 documents are too large for Doccano" in caught.value.title
    assert f"above {MAX_REQUEST_BYTES:,} bytes" in caught.value.detail and "huge: " in caught.value.detail
