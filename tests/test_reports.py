import json

from vndiplo.reports import write_reports
from vndiplo.scoring import score


def test_reports_are_written_as_json_markdown_and_png(tmp_path, tiny_gold):
    paths = write_reports(score(tiny_gold, tiny_gold[:2]), tmp_path, "test")
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert set(data["per_label"]) == {"PER", "TITLE", "ORG", "GPE", "LOC", "EVENT", "AGREEMENT", "DATE"}
    assert "| **micro** |" in paths["markdown"].read_text(encoding="utf-8")
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
