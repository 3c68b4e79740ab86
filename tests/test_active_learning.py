import shutil

import pytest

from vndiplo.active_learning import (
    committee_disagreement,
    committee_paths,
    ordering_study,
    preannotation_yield,
    random_order,
    rank_by,
    uncertainty_order,
)
from vndiplo.annotations import AnnotatedDoc, Span
from vndiplo.errors import VndiploError
from vndiplo.model import load, predict
from vndiplo.scoring import gold_count, predicted_count

TEXT = "Nga và Mỹ"


def doc(doc_id: str, *spans: tuple[int, int, str]) -> AnnotatedDoc:
    return AnnotatedDoc(doc_id, TEXT, [Span(*s) for s in spans])


def test_committee_disagreement_ranks_disputed_documents_first():
    calm = [doc("calm", (0, 3, "GPE")) for _ in range(3)]
    disputed = [doc("disputed", (0, 3, "GPE")), doc("disputed", (0, 3, "ORG")), doc("disputed", (7, 9, "GPE"))]
    result = committee_disagreement([[c, d] for c, d in zip(calm, disputed)])
    assert result["calm"] == 0.0 and result["disputed"] == 1.0
    assert rank_by(result, [calm[0], disputed[0]]) == ["disputed", "calm"]


def test_ties_keep_corpus_order():
    docs = [doc("b"), doc("a"), doc("c")]
    assert rank_by({"a": 0.5, "b": 0.5, "c": 0.9}, docs) == ["c", "b", "a"]


def test_committee_of_one_is_refused():
    with pytest.raises(VndiploError, match="at least two"):
        committee_disagreement([[]])


def test_random_order_is_a_seeded_permutation():
    ids = [f"d{i}" for i in range(20)]
    first = random_order(ids, seed=3)
    assert sorted(first) == sorted(ids) and first == random_order(ids, seed=3) and first != random_order(ids, seed=4)


def test_preannotation_yield_counts_spans_kept_unchanged_per_label():
    gold = [doc("d", (0, 3, "GPE"), (7, 9, "GPE"))]
    suggestions = [doc("d", (0, 3, "GPE"), (7, 9, "ORG"), (4, 6, "PER"))]
    result = preannotation_yield(gold, suggestions)
    assert (predicted_count(result["GPE"]), result["GPE"].tp, gold_count(result["GPE"])) == (1, 1, 2)
    assert result["ORG"].precision == 0.0 and predicted_count(result["PER"]) == 1
    assert (predicted_count(result["micro"]), result["micro"].tp) == (3, 1)
    assert result["micro"].precision == pytest.approx(1 / 3) and result["micro"].recall == pytest.approx(1 / 2)


def test_ordering_study_puts_the_disputed_documents_first_and_measures_their_error():
    gold = [doc(f"d{i}", (0, 3, "GPE")) for i in range(4)]
    # Members agree on d0–d2 (and are right); on d3 they disagree and are wrong.
    members = [[doc(f"d{i}", (0, 3, "GPE")) for i in range(3)] + [doc("d3", (7, 9, label))] for label in ("GPE", "ORG")]
    study = ordering_study(gold, members, batch=1, seed=0)
    assert study.uncertain[0] == "d3"
    assert study.error["d3"] == 1.0 and study.error["d0"] == 0.0
    assert study.mean_error(study.first(study.uncertain)) == 1.0
    assert study.expected_random_overlap == pytest.approx(0.25)


def test_committee_paths_need_fold_models(tmp_path):
    with pytest.raises(VndiploError, match="vndiplo crossval"):
        committee_paths(tmp_path)


def test_committee_paths_skip_learning_curve_models(tmp_path, tiny_model):
    for name in ("fold-0", "fold-1", "fold-0-n5"):
        shutil.copytree(tiny_model, tmp_path / name / "model-last")
    assert [p.parent.name for p in committee_paths(tmp_path)] == ["fold-0", "fold-1"]


def test_uncertainty_order_ranks_documents_by_how_much_two_real_models_disagree(tiny_committee, tiny_gold):
    docs = [AnnotatedDoc(d.id, d.text, []) for d in tiny_gold]
    order, disagreement = uncertainty_order(docs, tiny_committee)
    first, second = ({doc.id: set(doc.spans) for doc in predict(load(path), docs)} for path in tiny_committee)
    assert sorted(order) == sorted(d.id for d in docs)
    for doc_id, value in disagreement.items():
        assert (value > 0) == (first[doc_id] != second[doc_id]), doc_id  # disputed exactly where the members differ
    assert [disagreement[doc_id] for doc_id in order] == sorted(disagreement.values(), reverse=True)


def test_loop_study_command_writes_yield_and_order_reports(tmp_path, tiny_gold):
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from vndiplo.annotations import write_annotations
    from vndiplo.cli import app

    write_annotations(tiny_gold[:3], tmp_path / "known.jsonl")
    write_annotations(tiny_gold[3:], tmp_path / "pool.jsonl")
    config = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"
    result = CliRunner().invoke(app, [
        "loop-study", str(tmp_path / "known.jsonl"), str(tmp_path / "pool.jsonl"),
        "--output", str(tmp_path / "loop"), "--config", str(config), "--set", "training.max_steps=10", "--batch", "1",
    ])
    assert result.exit_code == 0, result.output
    study = json.loads((tmp_path / "loop" / "loop.json").read_text(encoding="utf-8"))
    assert study["committee_size"] == 3 and study["pool_documents"] == 2
    assert sorted(study["ordering"]["uncertain_order"]) == ["doc3", "doc4"]
    gold_spans = sum(len(doc.spans) for doc in tiny_gold[3:])
    assert study["preannotation_yield"]["micro"]["gold"] == gold_spans
    assert "Pre-annotation yield" in (tmp_path / "loop" / "report.md").read_text(encoding="utf-8")


def test_loop_study_refuses_gold_that_breaks_the_spec_before_training(tmp_path):
    from vndiplo.active_learning import loop_study

    broken = [doc("a", (0, 99, "GPE")), doc("b", (0, 3, "XYZ"))]
    with pytest.raises(VndiploError, match="break the label spec"):
        loop_study(broken, [doc("c")], config=tmp_path / "unused.cfg", work_dir=tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_upload_order_keeps_the_corpus_order_shuffles_with_the_seed_and_refuses_an_unknown_order():
    from vndiplo.active_learning import upload_order
    from vndiplo.corpus import make_document

    documents = {doc.id: doc for doc in (make_document(f"d{i}", "Nga và Mỹ.", source="t", path="x")[0] for i in range(6))}
    assert upload_order(documents, "corpus") == ([f"d{i}" for i in range(6)], {}, 0)
    shuffled = upload_order(documents, "random", seed=3).ids
    assert shuffled == upload_order(documents, "random", seed=3).ids and sorted(shuffled) == sorted(documents)
    with pytest.raises(VndiploError, match="Unknown --order"):
        upload_order(documents, "alphabetical")
