"""The label contract, loaded from `configs/labels.json`.

Nothing else in vndiplo writes a label name: the eight labels of the spec,
their colours, Doccano shortcut keys and coarse mapping all come from here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import VndiploError
from .paths import LABELS, shipped_file

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Label:
    name: str
    description: str
    color: str
    shortcut: str
    coarse: str | None


@dataclass(frozen=True)
class LabelSet:
    labels: tuple[Label, ...]

    @property
    def names(self) -> list[str]:
        return [label.name for label in self.labels]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Label:
        for label in self.labels:
            if label.name == name:
                return label
        raise KeyError(name)

    @property
    def colors(self) -> dict[str, str]:
        return {label.name: label.color for label in self.labels}

    @property
    def coarse(self) -> dict[str, str]:
        """Fine label → coarse label; labels without a coarse counterpart are absent."""
        return {label.name: label.coarse for label in self.labels if label.coarse}

    @property
    def iob_tags(self) -> list[str]:
        """`O`, then `B-X`, `I-X` for each label in config order: a fixed ClassLabel order."""
        tags = ["O"]
        for name in self.names:
            tags += [f"B-{name}", f"I-{name}"]
        return tags


def parse_label_config(data: dict, origin: str) -> LabelSet:
    """Check the config's invariants: unique names, shortcuts and colours that Doccano accepts."""
    def bad(detail: str) -> VndiploError:
        return VndiploError(f"Invalid label config {origin}", detail, "Fix configs/labels.json against the label spec.")

    entries = data.get("labels") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise bad("it needs a non-empty list `labels`")
    labels = []
    for entry in entries:
        try:
            label = Label(
                name=entry["name"],
                description=entry["description"],
                color=entry["color"],
                shortcut=entry["shortcut"],
                coarse=entry.get("coarse"),
            )
        except (KeyError, TypeError) as exc:
            raise bad(f"label entry {entry!r} misses {exc}") from None
        if not _COLOUR.fullmatch(label.color):
            raise bad(f"{label.name}: colour {label.color!r} is not #rrggbb")
        if len(label.shortcut) != 1 or not label.shortcut.isalnum():
            raise bad(f"{label.name}: shortcut {label.shortcut!r} must be one letter or digit")
        labels.append(label)
    for attribute in ("name", "shortcut"):
        values = [getattr(label, attribute) for label in labels]
        if len(set(values)) != len(values):
            raise bad(f"label {attribute}s must be unique: {values}")
    return LabelSet(tuple(labels))


@cache
def load_labels(path: Path | None = None) -> LabelSet:
    """The project's label set (`configs/labels.json`, or the copy shipped in the package)."""
    if path is None:
        path = shipped_file(LABELS)
    if not path.exists():
        raise VndiploError(f"Label config not found: {path}", "", "Run vndiplo from the project folder.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VndiploError(f"Label config {path} is not valid JSON", str(exc), "Fix the file.") from None
    return parse_label_config(data, str(path))
