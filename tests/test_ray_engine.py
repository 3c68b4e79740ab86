"""The Ray engine on a real local Ray instance (2 CPUs, loopback only): deselect with -m 'not ray'."""

import gzip
import json
from pathlib import Path

import pytest

from conftest import SENTENCES

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]' (make install does)")

from vndiplo.errors import VndiploError  # noqa: E402
from vndiplo.ray_engine import ray_engine  # noqa: E402
from vndiplo.stream import local_engine, predict_to_file  # noqa: E402

pytestmark = pytest.mark.ray
TEXTS = [text for text, _ in SENTENCES]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def inputs(tmp_path) -> list[Path]:
    plain = tmp_path / "a.jsonl"
    plain.write_text("".join(json.dumps({"id": f"a{i}", "text": TEXTS[i % len(TEXTS)], "meta": {"n": i}}, ensure_ascii=False) + "\n" for i in range(40)), encoding="utf-8")
    zipped = tmp_path / "b.jsonl.gz"
    zipped.write_bytes(gzip.compress("".join(json.dumps({"id": f"b{i}", "text": TEXTS[-1 - i % len(TEXTS)], "label": [[0, 1, "PER"]]}, ensure_ascii=False) + "\n" for i in range(5)).encode()))
    folder = tmp_path / "txt"
    folder.mkdir()
    for i in range(3):
        (folder / f"t{i}.txt").write_text("\n".join(TEXTS[i:]), encoding="utf-8")
    return [plain, zipped, folder]


def records(path: Path) -> dict[str, dict]:
    return {record["id"]: record for record in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def test_the_ray_engine_predicts_the_same_documents_and_spans_as_one_process(local_ray, inputs, tmp_path, tiny_model):
    import spacy

    on_ray, local = tmp_path / "ray.jsonl", tmp_path / "local.jsonl"
    run = predict_to_file(ray_engine(str(tiny_model), workers=2), inputs, on_ray)
    predict_to_file(local_engine(spacy.load(tiny_model)), inputs, local)
    assert run.documents == 48
    assert records(on_ray) == records(local)
    assert any(record["label"] for record in records(local).values())


def test_the_ray_engine_resumes_from_the_documents_done(local_ray, inputs, tmp_path, tiny_model):
    import spacy

    from vndiplo.stream import part_path

    local, resumed = tmp_path / "local.jsonl", tmp_path / "resumed.jsonl"
    predict_to_file(local_engine(spacy.load(tiny_model)), inputs, local)
    first_ten = local.read_text(encoding="utf-8").splitlines(keepends=True)[:10]
    part_path(resumed).write_text("".join(first_ten), encoding="utf-8")
    run = predict_to_file(ray_engine(str(tiny_model), workers=2), inputs, resumed, resume=True)
    assert run.resumed == 10 and run.documents == 48
    assert records(resumed) == records(local)


def test_a_record_without_an_id_is_one_clear_error_on_ray(local_ray, tmp_path, tiny_model):
    path = tmp_path / "noid.jsonl"
    path.write_text(json.dumps({"text": TEXTS[0]}) + "\n", encoding="utf-8")
    with pytest.raises(VndiploError, match="no `id`"):
        predict_to_file(ray_engine(str(tiny_model), workers=2), [path], tmp_path / "out.jsonl")
