"""One id for every spelling: a knowledge base of entities and the pipeline component that links mentions to it.

Mentions are not entities: `Mỹ`, `Hoa Kỳ` and `Hợp chúng quốc Hoa Kỳ` are one state, `Sergei Lavrov`,
`Lavrov` and `Xéc-gây La-vrốp` one person, `Tổ chức Hiệp ước Bắc Đại Tây Dương` and `NATO` one alliance.
The knowledge base (`configs/kb/entities.jsonl`, one entity a line: `id`, `name`, `type`, `aliases`,
optional `ambiguous`) lists the spellings of each entity; `entity_ids`, the last component of the
pipeline, sets `ent.kb_id_` to the id of every entity it can resolve, in three ways:

1. an alias of the entity's label after Vietnamese normalisation (`normalise_alias`: case, old and new
   tone-mark placement `hoà`/`hòa`, hyphens of transliterations `Xéc-gây`/`Xéc gây`);
2. else a short form of a name resolved earlier in the same document: a person's last syllables
   (`Lavrov` after `Sergei Lavrov`, `Trọng` after `Nguyễn Phú Trọng`), an organ's leading words where
   the rest names a state or a body (`Quốc hội` after `Quốc hội Việt Nam`), an ambiguous alias of an
   entity the document has named in full; a short form two resolved names share stays empty;
3. a full name and its abbreviation in brackets (`Tổ chức X (ABC)`): when one side resolves, the other
   gets its id, and keeps it for the rest of the document.

What it cannot resolve stays empty: it never guesses. An alias marked `ambiguous` (`Quốc hội`,
`Chính phủ`, `Hà Nam`) resolves only through the document (rule 2 or 3). The knowledge base is read
from its file when the pipeline is initialised and saved with the model (`to_disk`, like spaCy's
`entity_ruler` does with its patterns), so a trained model and its wheel carry it. Like `date_rules`,
this module needs spaCy only. It has no `from __future__ import annotations`: `spacy package --code`
imports it without registering it in `sys.modules`, where dataclasses look string annotations up.
"""

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example

KB_FILE = "entities.jsonl"
TYPES = ("PER", "ORG", "GPE", "LOC", "EVENT", "AGREEMENT")
# Tone marks (NFD combining characters); the other marks (breve, circumflex, horn) belong to the vowel.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_]+")
_EDGE_PUNCTUATION = "\"'“”‘’«»()[]{}.,;:!?"
# The Icelandic eth looks like Đ and turns up in Vietnamese text typed on some keyboards.
_LOOKALIKES = str.maketrans({"Ð": "đ", "ð": "đ", "Đ": "đ"})
_HONORIFICS = ("ông ", "bà ", "ngài ")


class KnowledgeBaseError(ValueError):
    """A knowledge-base file that cannot be used: the message names the file, the line and the fix."""


def normalise_alias(surface: str) -> str:
    """The lookup key of a spelling: lower case, tone marks at the end of their syllable, hyphens as spaces.

    Old and new tone-mark placement (`hoà`/`hòa`, `thuỷ`/`thủy`, `Uỷ`/`Ủy`) give one key, and so do
    `Xéc-gây` and `Xéc gây`. Vowel marks (ă, â, ơ, ư) and đ stay: they make other words.
    """
    text = unicodedata.normalize("NFD", surface.strip(_EDGE_PUNCTUATION + " ").lower().translate(_LOOKALIKES))
    syllables = []
    for syllable in _SEPARATORS.split(text):
        if not syllable:
            continue
        tones = "".join(char for char in syllable if char in _TONE_MARKS)
        syllables.append("".join(char for char in syllable if char not in _TONE_MARKS) + tones)
    return unicodedata.normalize("NFC", " ".join(syllables))


@dataclass(frozen=True)
class Entity:
    id: str
    name: str
    type: str
    aliases: tuple[str, ...]
    ambiguous: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type, "aliases": list(self.aliases)}
        if self.ambiguous:
            record["ambiguous"] = list(self.ambiguous)
        return record


def parse_entity(record: object, where: str) -> Entity:
    """One knowledge-base record, checked: an id, a name, a type of the spec, string aliases."""
    if not isinstance(record, dict):
        raise KnowledgeBaseError(f"{where}: not a JSON object. Write one entity a line: {{\"id\", \"name\", \"type\", \"aliases\"}}.")
    missing = [key for key in ("id", "name", "type", "aliases") if key not in record]
    if missing:
        raise KnowledgeBaseError(f"{where}: the entity lacks {', '.join(missing)}. Every entity needs id, name, type and aliases.")
    if record["type"] not in TYPES:
        raise KnowledgeBaseError(f"{where}: type {record['type']!r} is not one of {', '.join(TYPES)}. Use a label of the spec.")
    for key in ("aliases", "ambiguous"):
        values = record.get(key, [])
        if not isinstance(values, list) or not all(isinstance(value, str) and value.strip() for value in values):
            raise KnowledgeBaseError(f"{where}: `{key}` must be a list of non-empty strings.")
    if not isinstance(record["id"], str) or not record["id"] or not isinstance(record["name"], str):
        raise KnowledgeBaseError(f"{where}: `id` and `name` must be non-empty strings.")
    return Entity(record["id"], record["name"], record["type"], tuple(record["aliases"]), tuple(record.get("ambiguous", [])))


@dataclass
class KnowledgeBase:
    """Entities and the index from (normalised alias, type) to the ids that answer to it."""

    entities: dict[str, Entity] = field(default_factory=dict)
    _ids_of: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    _ambiguous: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def from_entities(cls, entities: Iterable[Entity]) -> "KnowledgeBase":
        kb = cls()
        for entity in entities:
            if entity.id in kb.entities:
                raise KnowledgeBaseError(f"The id {entity.id} is in the knowledge base twice. Merge the two entries.")
            kb.entities[entity.id] = entity
            for alias in entity.aliases:
                kb._ids_of[(normalise_alias(alias), entity.type)].add(entity.id)
            for alias in entity.ambiguous:
                kb._ambiguous.add((normalise_alias(alias), entity.type))
        return kb

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, object]]) -> "KnowledgeBase":
        """From (where, record) pairs, `where` naming the file and line for error messages."""
        return cls.from_entities(parse_entity(record, where) for where, record in records)

    @classmethod
    def from_file(cls, path: Path) -> "KnowledgeBase":
        if not path.exists():
            raise KnowledgeBaseError(f"No knowledge base at {path}. Point [initialize.components.entity_ids] kb_path at configs/kb/entities.jsonl.")
        return cls.from_records(_jsonl_records(path.read_text(encoding="utf-8"), str(path)))

    def to_jsonl(self) -> str:
        return "".join(json.dumps(entity.to_record(), ensure_ascii=False) + "\n" for entity in self.entities.values())

    def conflicts(self) -> list[tuple[str, str, list[str]]]:
        """(alias, type, ids) of every alias that two ids of one type answer to without being marked ambiguous."""
        return sorted(
            (alias, type_, sorted(ids))
            for (alias, type_), ids in self._ids_of.items()
            if len(ids) > 1 and (alias, type_) not in self._ambiguous
        )

    def lookup(self, surface: str, label: str) -> str:
        """The one id an unambiguous alias of this label names, else ''."""
        key = (_lookup_key(surface, label), label)
        ids = self._ids_of.get(key, set())
        return next(iter(ids)) if len(ids) == 1 and key not in self._ambiguous else ""

    def ambiguous_forms(self, entity_id: str) -> list[str]:
        """The normalised ambiguous aliases of an entity: they name it in a document that has named it in full."""
        return [normalise_alias(alias) for alias in self.entities[entity_id].ambiguous]

    def names_a_state_or_body(self, key: str) -> bool:
        """Whether a normalised form is an alias of a GPE or an ORG (the tail of `Quốc hội Việt Nam`)."""
        return bool(self._ids_of.get((key, "GPE")) or self._ids_of.get((key, "ORG")))

    def __len__(self) -> int:
        return len(self.entities)


def _jsonl_records(text: str, origin: str) -> Iterator[tuple[str, object]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{origin}:{number}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise KnowledgeBaseError(f"{origin}:{number}: not valid JSON ({exc.msg}). Fix the line.") from None


def _lookup_key(surface: str, label: str) -> str:
    key = normalise_alias(surface)
    if label == "PER":
        for honorific in _HONORIFICS:
            if key.startswith(honorific):
                return key[len(honorific) :]
    return key


# --- resolution within a document ---------------------------------------------------------------


def _short_forms(key: str, label: str, kb: KnowledgeBase) -> list[str]:
    """The forms a later mention may take of a resolved name.

    A person's last words (`lavrov` of `sergei lavrov`, `trọng` of `nguyễn phú trọng`); an organ's
    leading words where the rest names a state or an organisation (`quốc hội` of `quốc hội việt nam`,
    `hội đồng bảo an` of `hội đồng bảo an liên hợp quốc`), never the head of a longer name of its own
    (`asean` of `asean regional forum`).
    """
    words = key.split()
    if label == "PER":
        return [" ".join(words[start:]) for start in range(1, len(words))]
    if label == "ORG":
        return [" ".join(words[:end]) for end in range(1, len(words)) if kb.names_a_state_or_body(" ".join(words[end:]))]
    return []


def _is_abbreviation(surface: str) -> bool:
    """`NATO`, `EVFTA`, `HĐBA`: one word with at least two capitals."""
    return not any(char.isspace() for char in surface) and sum(char.isupper() for char in surface) >= 2


def _abbreviated(text: str, first: tuple[int, int], second: tuple[int, int]) -> bool:
    """`Full Name (ABBR)` or `ABBR (Full Name)`: one mention is the whole content of a bracket right after
    the other, and one of the two is an abbreviation. A place with its province in brackets
    (`An Lão (Hải Phòng)`, `Brest (Belarus)`) is two places, not one."""
    between, after = text[first[1] : second[0]], text[second[1] : second[1] + 1]
    if between.strip() != "(" or after != ")":
        return False
    return _is_abbreviation(text[first[0] : first[1]]) or _is_abbreviation(text[second[0] : second[1]])


def resolve_ids(text: str, mentions: list[tuple[int, int, str]], kb: KnowledgeBase) -> list[str]:
    """The id of each (start, end, label) mention of `text`, in order ('' where it cannot be resolved)."""
    ids = [""] * len(mentions)
    learned: dict[tuple[str, str], set[str]] = defaultdict(set)  # forms this document has tied to ids

    def learn(form: str, label: str, entity_id: str) -> None:
        learned[(form, label)].add(entity_id)

    for index, (start, end, label) in enumerate(mentions):
        key = _lookup_key(text[start:end], label)
        ids[index] = kb.lookup(text[start:end], label)
        learned_ids = learned.get((key, label), set())
        if not ids[index] and len(learned_ids) == 1:
            ids[index] = next(iter(learned_ids))
        if index and mentions[index - 1][2] == label and _abbreviated(text, mentions[index - 1][:2], (start, end)):
            previous = index - 1
            if ids[index] and not ids[previous]:
                ids[previous] = ids[index]
                learn(_lookup_key(text[mentions[previous][0] : mentions[previous][1]], label), label, ids[index])
            elif ids[previous] and not ids[index]:
                ids[index] = ids[previous]
                learn(key, label, ids[index])
        if ids[index]:
            for form in _short_forms(key, label, kb) + kb.ambiguous_forms(ids[index]):
                learn(form, label, ids[index])
    return ids


# --- the pipeline component ----------------------------------------------------------------------


class EntityIdLinker:
    """Sets `ent.kb_id_` from the knowledge base it holds; filled at initialize, saved with the model."""

    def __init__(self, nlp: Language, name: str = "entity_ids") -> None:
        self.name = name
        self.kb = KnowledgeBase()

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        ids = resolve_ids(doc.text, [(ent.start_char, ent.end_char, ent.label_) for ent in ents], self.kb)
        doc.ents = [Span(doc, ent.start, ent.end, label=ent.label, kb_id=entity_id) for ent, entity_id in zip(ents, ids)]
        return doc

    def initialize(self, get_examples: Callable[[], Iterable[Example]] | None = None, *, nlp: Language | None = None, kb_path: str | None = None) -> None:
        """Read the knowledge base from `kb_path` ([initialize.components.entity_ids] in the config)."""
        if kb_path is None:
            raise KnowledgeBaseError("entity_ids needs a knowledge base. Set [initialize.components.entity_ids] kb_path = \"configs/kb/entities.jsonl\".")
        self.kb = KnowledgeBase.from_file(Path(kb_path))

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.msgpack_dumps({"kb": self.kb.to_jsonl()})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> "EntityIdLinker":
        self.kb = KnowledgeBase.from_records(_jsonl_records(srsly.msgpack_loads(data)["kb"], self.name))
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / KB_FILE).write_text(self.kb.to_jsonl(), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "EntityIdLinker":
        self.kb = KnowledgeBase.from_file(Path(path) / KB_FILE)
        return self


@Language.factory("vndiplo_entity_ids")
def make_entity_ids(nlp: Language, name: str) -> "EntityIdLinker":
    """Registered under `spacy_factories` in vndiplo's entry points, so `spacy.load` finds it."""
    return EntityIdLinker(nlp, name)
