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
   gets its id, and keeps it for the rest of the document;
4. else a bare organ name of Vietnam's (`Chính phủ`, `Quốc hội`, `Bộ Ngoại giao`: the `home` spellings of
   an entity) in a document that names Vietnam or one of its organs in full, names no other holder of that
   spelling (`Quốc hội Hungary`, or an unknown `Bộ Ngoại giao Đức`), and does not tie this mention to
   another state (`Chính phủ nước này`, `Nhà nước và nhân dân Trung Quốc`, `hai Quốc hội`).

Event names are compared with their ordinals written one way (`lần thứ 36`, `thứ 36`, `36` and `XXXVI`
are one key: `_ordinal_key`), so `Hội nghị Cấp cao ASEAN 36` is `Hội nghị Cấp cao ASEAN lần thứ 36`.

What it cannot resolve stays empty: it never guesses. An alias marked `ambiguous` (`Quốc hội`,
`Chính phủ`, `Hà Nam`) resolves only through the document (rules 2 to 4). The knowledge base is read
from its file when the pipeline is initialised and saved with the model (`to_disk`, like spaCy's
`entity_ruler` does with its patterns), so a trained model and its wheel carry it. Like `date_rules`,
this module needs spaCy only. It has no `from __future__ import annotations`: `spacy package --code`
imports it without registering it in `sys.modules`, where dataclasses look string annotations up.
"""

import json
import re
import unicodedata
from collections import Counter, defaultdict
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
# The state whose organs a bare organ name means by default (rule 4): the corpus is Vietnamese news.
HOME_STATE = "Q881"
# Words right after a bare organ name that tie it to a state other than the home one (`Chính phủ nước này`).
_OTHER_STATE_AFTER = re.compile(r"^\s*(nước này|nước bạn|nước đó|của nước|của họ|hai nước|các nước|hai bên)", re.IGNORECASE)
# Words right before one that make it two organs (`giữa hai Bộ Ngoại giao`, `các Quốc hội`).
_SEVERAL_BEFORE = re.compile(r"(hai|các|những|mỗi)\s*$", re.IGNORECASE)
# How near (characters) a following state must be to be read as the owner (`Nhà nước và nhân dân Trung Quốc`).
_OWNER_WINDOW = 25
_ORDINAL_WORDS = {"nhất": "1", "nhứt": "1", "hai": "2", "ba": "3", "tư": "4", "năm": "5", "sáu": "6", "bảy": "7", "tám": "8", "chín": "9", "mười": "10"}
_ROMAN = re.compile(r"^(?=[mdclxvi]+$)m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_ROMAN_VALUES = {"m": 1000, "d": 500, "c": 100, "l": 50, "x": 10, "v": 5, "i": 1}


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
    # Ambiguous spellings that name this entity by default (rule 4): Vietnam's organs' bare names.
    home: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type, "aliases": list(self.aliases)}
        if self.ambiguous:
            record["ambiguous"] = list(self.ambiguous)
        if self.home:
            record["home"] = list(self.home)
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
    for key in ("aliases", "ambiguous", "home"):
        values = record.get(key, [])
        if not isinstance(values, list) or not all(isinstance(value, str) and value.strip() for value in values):
            raise KnowledgeBaseError(f"{where}: `{key}` must be a list of non-empty strings.")
    if not isinstance(record["id"], str) or not record["id"] or not isinstance(record["name"], str):
        raise KnowledgeBaseError(f"{where}: `id` and `name` must be non-empty strings.")
    home = tuple(record.get("home", []))
    if not set(home) <= set(record.get("ambiguous", [])):
        raise KnowledgeBaseError(f"{where}: every `home` spelling must also be in `ambiguous` (it names other entities too).")
    return Entity(record["id"], record["name"], record["type"], tuple(record["aliases"]), tuple(record.get("ambiguous", [])), home)


@dataclass
class KnowledgeBase:
    """Entities and the index from (normalised alias, type) to the ids that answer to it."""

    entities: dict[str, Entity] = field(default_factory=dict)
    _ids_of: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    _ambiguous: set[tuple[str, str]] = field(default_factory=set)
    _home_of: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def from_entities(cls, entities: Iterable[Entity]) -> "KnowledgeBase":
        kb = cls()
        for entity in entities:
            if entity.id in kb.entities:
                raise KnowledgeBaseError(f"The id {entity.id} is in the knowledge base twice. Merge the two entries.")
            kb.entities[entity.id] = entity
            for alias in entity.aliases:
                kb._ids_of[(_lookup_key(alias, entity.type), entity.type)].add(entity.id)
            for alias in entity.ambiguous:
                kb._ambiguous.add((_lookup_key(alias, entity.type), entity.type))
            for alias in entity.home:
                kb._home_of[(_lookup_key(alias, entity.type), entity.type)].add(entity.id)
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
        """(alias, type, ids) of every alias that two ids of one type answer to without being marked ambiguous,
        and of every `home` spelling two entities of one type claim (rule 4 would have to guess)."""
        return sorted(
            [(alias, type_, sorted(ids)) for (alias, type_), ids in self._ids_of.items() if len(ids) > 1 and (alias, type_) not in self._ambiguous]
            + [(alias, type_, sorted(ids)) for (alias, type_), ids in self._home_of.items() if len(ids) > 1]
        )

    def lookup(self, surface: str, label: str) -> str:
        """The one id an unambiguous alias of this label names, else ''."""
        key = (_lookup_key(surface, label), label)
        ids = self._ids_of.get(key, set())
        return next(iter(ids)) if len(ids) == 1 and key not in self._ambiguous else ""

    def ambiguous_forms(self, entity_id: str) -> list[str]:
        """The normalised ambiguous aliases of an entity: they name it in a document that has named it in full."""
        entity = self.entities[entity_id]
        return [_lookup_key(alias, entity.type) for alias in entity.ambiguous]

    def home_entity(self, key: str, label: str) -> str:
        """The entity a bare `home` spelling names by default (rule 4), else ''."""
        ids = self._home_of.get((key, label), set())
        return next(iter(ids)) if len(ids) == 1 else ""

    def is_home(self, entity_id: str) -> bool:
        """Whether an id is the home state or one of its organs (what anchors rule 4 in a document)."""
        return entity_id == HOME_STATE or bool(entity_id in self.entities and self.entities[entity_id].home)

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
    if label == "EVENT":
        return _ordinal_key(key)
    return key


def _roman_value(word: str) -> int:
    values = [_ROMAN_VALUES[char] for char in word]
    return sum(-value if later > value else value for value, later in zip(values, values[1:] + [0]))


_LAN, _THU = normalise_alias("lần"), normalise_alias("thứ")
_NORMALISED_ORDINAL_WORDS = {normalise_alias(word): value for word, value in _ORDINAL_WORDS.items()}
# Words after which a last Roman numeral is an ordinal (`Đại hội XIII`, `... XIII khóa`, `... năm`, `... Đảng`).
_AFTER_ROMAN = ("", normalise_alias("khóa"), normalise_alias("năm"), normalise_alias("đảng"))


def _ordinal_key(key: str) -> str:
    """An event's ordinal written one way: `lần thứ xxxvi`, `thứ 36`, `lần 36` and `36` all become `36`.

    A Roman numeral counts after `thứ`/`lần`, as the last word or before `khóa`, `năm`, `Đảng` (`Đại hội
    XIII`, `Đại hội XIII Đảng ...`), where no Vietnamese syllable looks like one; a number word only after
    `thứ` (`lần thứ hai`).
    """
    words = key.split()
    out: list[str] = []
    for index, word in enumerate(words):
        before = words[index - 1] if index else ""
        after = words[index + 1] if index + 1 < len(words) else ""
        if (word == _LAN and (after == _THU or _is_number(after))) or (word == _THU and (_is_number(after) or after in _NORMALISED_ORDINAL_WORDS)):
            continue
        if before == _THU and word in _NORMALISED_ORDINAL_WORDS:
            out.append(_NORMALISED_ORDINAL_WORDS[word])
        elif word.isdigit():
            out.append(str(int(word)))
        elif index and _ROMAN.match(word) and (before in (_THU, _LAN) or after in _AFTER_ROMAN):
            out.append(str(_roman_value(word)))
        else:
            out.append(word)
    return " ".join(out)


def _is_number(word: str) -> bool:
    return word.isdigit() or bool(_ROMAN.match(word))


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

    keys = [_lookup_key(text[start:end], label) for start, end, label in mentions]
    for index, (start, end, label) in enumerate(mentions):
        key = keys[index]
        ids[index] = kb.lookup(text[start:end], label)
        learned_ids = learned.get((key, label), set())
        if not ids[index] and len(learned_ids) == 1:
            ids[index] = next(iter(learned_ids))
        if index and mentions[index - 1][2] == label and _abbreviated(text, mentions[index - 1][:2], (start, end)):
            previous = index - 1
            if ids[index] and not ids[previous]:
                ids[previous] = ids[index]
                learn(keys[previous], label, ids[index])
            elif ids[previous] and not ids[index]:
                ids[index] = ids[previous]
                learn(key, label, ids[index])
        if ids[index]:
            for form in _short_forms(key, label, kb) + _ambiguous_forms_named(key, label, ids[index], kb):
                learn(form, label, ids[index])
    _resolve_home_forms(text, mentions, keys, ids, learned, kb)
    return ids


def _ambiguous_forms_named(key: str, label: str, entity_id: str, kb: KnowledgeBase) -> list[str]:
    """The ambiguous forms a resolved mention ties to its entity for the rest of the document.

    An organisation's only where the mention begins with them (`Quốc hội` after `Quốc hội Hungary`, not
    after `Hạ viện Pháp`: a text that names the French lower house so may still say `Quốc hội` for Vietnam's).
    """
    forms = kb.ambiguous_forms(entity_id)
    return forms if label != "ORG" else [form for form in forms if key == form or key.startswith(form + " ")]


def _resolve_home_forms(
    text: str, mentions: list[tuple[int, int, str]], keys: list[str], ids: list[str], learned: dict[tuple[str, str], set[str]], kb: KnowledgeBase
) -> None:
    """Rule 4, on the whole document: the bare organ names of the home state (`Chính phủ`, `Quốc hội`).

    A bare name tied by its own words to several organs (`hai Bộ Ngoại giao`) or to another state
    (`Chính phủ nước này`, `Bộ Ngoại giao hai nước`) gets no id, even one the document taught; one the home
    state follows at once (`Chính phủ và nhân dân Việt Nam`) is the home state's. Otherwise it is the home
    state's only in a document about the home state (`_about_home_state`) that has named no other holder
    of this spelling (`Quốc hội Hungary`, or a `Bộ Ngoại giao Đức` the knowledge base does not know).
    """
    anchored = _about_home_state(mentions, ids, kb)
    for index, (start, end, label) in enumerate(mentions):
        home_id = kb.home_entity(keys[index], label)
        if not home_id:
            continue
        if _SEVERAL_BEFORE.search(text[max(0, start - 6) : start]) or _OTHER_STATE_AFTER.match(text[end : end + 20]):
            ids[index] = ""
            continue
        owner = _owner_after(text, mentions, ids, index)
        if owner == HOME_STATE:
            ids[index] = home_id
            continue
        if ids[index] or owner is not None or not anchored or learned.get((keys[index], label), set()) - {home_id}:
            continue
        longer = [other for other, (key, (_, _, other_label)) in enumerate(zip(keys, mentions)) if other_label == label and key.startswith(keys[index] + " ")]
        if any(ids[other] != home_id for other in longer):
            continue  # `Quốc hội Hungary`, or a `Bộ Ngoại giao Đức` the knowledge base does not know
        ids[index] = home_id


def _about_home_state(mentions: list[tuple[int, int, str]], ids: list[str], kb: KnowledgeBase) -> bool:
    """Whether the home state and its organs are named at least once and at least as often as any other
    state (a biography of Hu Jintao names China far more than Vietnam: its `Quân ủy Trung ương` is China's)."""
    home = sum(kb.is_home(entity_id) for entity_id in ids)
    others = Counter(entity_id for entity_id, (_, _, label) in zip(ids, mentions) if label == "GPE" and entity_id and entity_id != HOME_STATE)
    return home > 0 and home >= max(others.values(), default=0)


def _owner_after(text: str, mentions: list[tuple[int, int, str]], ids: list[str], index: int) -> str | None:
    """The id ('' if unknown) of a state named right after a mention, on its line (`Nhà nước và nhân dân
    Trung Quốc`, `Bộ Ngoại giao (BNG) Việt Nam`); None if no state follows that closely."""
    end = mentions[index][1]
    following = next((other for other in range(index + 1, len(mentions)) if mentions[other][2] == "GPE"), None)
    if following is None or mentions[following][0] - end > _OWNER_WINDOW or "\n" in text[end : mentions[following][0]]:
        return None
    return ids[following]


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
