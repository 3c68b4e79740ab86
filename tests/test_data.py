"""Checks on the committed data: what a wrong merge or a careless copy would break."""

from pathlib import Path

from vndiplo.annotations import read_annotation_paths

ROOT = Path(__file__).resolve().parents[1]


def test_the_news_test_set_is_never_in_the_training_gold():
    training = {doc.id for doc in read_annotation_paths([ROOT / "annotations" / "gold"])}
    held_out = {doc.id for doc in read_annotation_paths([ROOT / "annotations" / "news-test" / "gold.jsonl"])}
    assert held_out and not training & held_out
    training_texts = {doc.text for doc in read_annotation_paths([ROOT / "annotations" / "gold"])}
    assert not any(doc.text in training_texts for doc in read_annotation_paths([ROOT / "annotations" / "news-test" / "gold.jsonl"]))
