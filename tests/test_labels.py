import json
import re
from pathlib import Path

import pytest

from vndiplo.errors import VndiploError
from vndiplo.labels import load_labels, parse_label_config

SPEC = Path(__file__).resolve().parents[2] / "shared" / "label-spec.md"
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "labels.json"


def test_config_has_the_eight_labels_of_the_spec_in_order():
    assert load_labels().names == ["PER", "TITLE", "ORG", "GPE", "LOC", "EVENT", "AGREEMENT", "DATE"]


@pytest.mark.skipif(not SPEC.exists(), reason="label spec lives in ../shared beside the clone")
def test_config_labels_match_the_spec_table():
    spec_labels = re.findall(r"^\| ([A-Z]+) \|", SPEC.read_text(encoding="utf-8"), flags=re.M)
    assert load_labels().names == spec_labels


def test_every_label_has_a_description_colour_and_unique_shortcut():
    labels = load_labels()
    assert all(label.description and label.color.startswith("#") for label in labels.labels)
    assert len({label.shortcut for label in labels.labels}) == 8


def test_coarse_mapping_follows_the_spec():
    assert load_labels().coarse == {
        "PER": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "EVENT": "MISC", "AGREEMENT": "MISC",
    }


def test_iob_tags_have_a_fixed_order():
    tags = load_labels().iob_tags
    assert tags[:3] == ["O", "B-PER", "I-PER"] and len(tags) == 17


def base_config():
    return json.loads(CONFIG.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["labels"][1].update(shortcut="p"), "unique"),
        (lambda c: c["labels"][0].update(color="red"), "colour"),
        (lambda c: c["labels"][0].update(shortcut="ctrl"), "shortcut"),
        (lambda c: c["labels"][0].pop("description"), "misses"),
        (lambda c: c.update(labels=[]), "non-empty"),
    ],
)
def test_broken_configs_are_refused(change, message):
    config = base_config()
    change(config)
    with pytest.raises(VndiploError, match=message):
        parse_label_config(config, "test")
