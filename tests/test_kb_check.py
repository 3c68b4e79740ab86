import json

import pytest
from typer.testing import CliRunner

from test_entity_ids import KB_FILE
from vndiplo.cli import app
from vndiplo.errors import VndiploError
from vndiplo.kb_check import linker_pipeline, relink_rows, sample_rows, score_rows

from conftest import flat

runner = CliRunner()


@pytest.fixture(scope="module")
def linker():
    return linker_pipeline(KB_FILE)


def test_gold_spans_get_ids_from_the_linker_and_the_draw_is_fixed_by_its_seed(tiny_gold, linker):
    sizes = {"GPE": 4, "PER": 2, "ORG": 10}
    rows = sample_rows(tiny_gold, linker, sizes=sizes, seed=3)
    assert rows == sample_rows(tiny_gold, linker, sizes=sizes, seed=3)
    assert [row["label"] for row in rows].count("GPE") == 4 and [row["label"] for row in rows].count("ORG") == 6  # all there are
    ids = {row["text"]: row["kb_id"] for row in rows}
    assert ids.get("NATO") == "Q7184" and ids.get("Tổ chức Hiệp ước Bắc Đại Tây Dương") == "Q7184"
    assert all(row["verdict"] == "" for row in rows)


def test_drawing_again_keeps_the_verdicts_of_rows_whose_id_did_not_change(tiny_gold, linker):
    sizes = {"ORG": 10}
    checked = [{**row, "verdict": "right" if row["kb_id"] else "unlinkable"} for row in sample_rows(tiny_gold, linker, sizes=sizes)]
    moved = [{**checked[0], "kb_id": "Q0"}] + checked[1:]  # as if the first id had changed since the check
    again = sample_rows(tiny_gold, linker, sizes=sizes, previous=moved)
    assert again[0]["verdict"] == "" and [row["verdict"] for row in again[1:]] == [row["verdict"] for row in checked[1:]]


def row(label, kb_id, verdict):
    return {"doc_id": "d", "start": 0, "end": 1, "label": label, "kb_id": kb_id, "verdict": verdict}


def test_precision_counts_ids_given_and_coverage_counts_mentions():
    rows = [row("GPE", "Q1", "right")] * 8 + [row("GPE", "Q2", "wrong")] * 2 + [row("GPE", "", "missed")] * 5 + [row("GPE", "", "unlinkable")] * 5
    scores = score_rows(rows)["GPE"]
    assert scores["precision"] == 0.8 and scores["coverage"] == 0.4 and scores["coverage_of_linkable"] == 8 / 15
    assert score_rows(rows)["all"]["mentions"] == 20


def test_scoring_refuses_rows_without_a_verdict_or_with_one_that_does_not_fit():
    with pytest.raises(VndiploError, match="1 rows have no verdict"):
        score_rows([row("PER", "Q1", "right"), row("PER", "", "")])
    with pytest.raises(VndiploError, match="do not fit"):
        score_rows([row("PER", "", "right")])


def test_the_commands_draw_a_sample_and_score_it_into_a_report(tmp_path, tiny_gold):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(doc.to_record(), ensure_ascii=False) + "\n" for doc in tiny_gold), encoding="utf-8")
    sample = tmp_path / "sample.jsonl"
    result = runner.invoke(app, ["kb-sample", str(gold), "--out", str(sample), "--kb", str(KB_FILE)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()]
    unscored = runner.invoke(app, ["kb-score", str(sample), "--out", str(tmp_path / "r.md")])
    assert unscored.exit_code == 1 and "no verdict" in unscored.output
    sample.write_text("".join(json.dumps({**r, "verdict": "right" if r["kb_id"] else "unlinkable"}, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = runner.invoke(app, ["kb-score", str(sample), "--out", str(tmp_path / "r.md")])
    assert result.exit_code == 0, result.output
    assert "| **all** |" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))[str(sample)]["all"]["precision"] == 1.0


def test_a_fresh_sample_leaves_out_the_mentions_of_the_samples_that_guided_the_work(tiny_gold, linker):
    sizes = {"GPE": 2}
    first = sample_rows(tiny_gold, linker, sizes=sizes, seed=0)
    fresh = sample_rows(tiny_gold, linker, sizes=sizes, seed=1, exclude=first)
    keys = lambda rows: {(row["doc_id"], row["start"], row["end"]) for row in rows}  # noqa: E731
    assert fresh and not keys(first) & keys(fresh)


def test_relinking_keeps_the_rows_and_the_verdicts_whose_id_did_not_change(tiny_gold, linker):
    checked = [{**row, "verdict": "right" if row["kb_id"] else "unlinkable"} for row in sample_rows(tiny_gold, linker, sizes={"ORG": 10, "GPE": 4})]
    moved = [{**checked[0], "kb_id": "Q0"}] + checked[1:]  # as if the first id had been another before the change
    again = relink_rows(tiny_gold, linker, moved)
    assert [(row["doc_id"], row["start"], row["kb_id"]) for row in again] == [(row["doc_id"], row["start"], row["kb_id"]) for row in checked]
    assert again[0]["verdict"] == "" and [row["verdict"] for row in again[1:]] == [row["verdict"] for row in checked[1:]]
    with pytest.raises(VndiploError, match="no longer gold mentions"):
        relink_rows(tiny_gold, linker, [{**checked[0], "start": 10**6}])


def test_the_report_has_one_table_per_sample_in_the_order_given(tmp_path, tiny_gold, linker):
    rows = [{**row, "verdict": "right" if row["kb_id"] else "unlinkable"} for row in sample_rows(tiny_gold, linker, sizes={"GPE": 4})]
    for name in ("fresh.jsonl", "first.jsonl"):
        (tmp_path / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = runner.invoke(app, ["kb-score", str(tmp_path / "fresh.jsonl"), str(tmp_path / "first.jsonl"), "--out", str(tmp_path / "r.md")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert report.index("fresh.jsonl\n") < report.index("first.jsonl\n") and report.count("| **all** |") == 2


def test_a_broken_knowledge_base_is_one_clear_error(tmp_path, tiny_gold):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(doc.to_record(), ensure_ascii=False) + "\n" for doc in tiny_gold), encoding="utf-8")
    kb = tmp_path / "kb.jsonl"
    kb.write_text(json.dumps({"id": "Q1", "name": "X", "type": "CITY", "aliases": ["X"]}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["kb-sample", str(gold), "--out", str(tmp_path / "s.jsonl"), "--kb", str(kb)])
    assert result.exit_code == 1 and "kb.jsonl:1: type 'CITY'" in flat(result.output)
    assert not (tmp_path / "s.jsonl").exists()
