"""Corpus ingest: article files in, one normalised JSONL corpus out.

Each document gets the id it keeps for life (the file stem, or the record's
`id`), a content hash, its source, title and word count. Ingest is the only
stage that changes text; everything downstream indexes the text it stores.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from . import errors
from .text import count_words, decode_utf8, detokenise_treebank, split_lines

# Whole lines that news sites insert around an article and that are not part
# of it. Photo captions ("Ảnh: AFP/TTXVN") are article text and are kept.
BOILERPLATE_LINES = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"video đang hot",
        r"(tin|bài viết) liên quan:?",
        r"xem thêm:?.*",
        r"đọc thêm:?.*",
        r"quảng cáo",
        r"advertisement",
        r"chia sẻ( bài viết)?:?",
        r"bình luận( \(\d+\))?:?",
        r"theo dõi .* trên google news",
    )
]

NEAR_DUPLICATE_THRESHOLD = 0.8
_SHINGLE_SIZE = 5
TREEBANK_SOURCES = {"vtb"}
# A treebank file becomes documents of this many consecutive sentences: about
# 500 words, the length of a short news article and of one annotation sitting.
TREEBANK_SENTENCES_PER_DOC = 25


@dataclass
class Document:
    id: str
    text: str
    title: str
    source: str
    path: str
    hash: str
    words: int
    meta: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


@dataclass
class IngestReport:
    documents: list[Document]
    removed_lines: list[tuple[str, str]]  # (document id, line)
    exact_duplicates: list[tuple[str, str]]  # (dropped id, kept id)
    near_duplicates: list[tuple[str, str, float]]  # (id, id, similarity)

    @property
    def words(self) -> int:
        return sum(doc.words for doc in self.documents)


def is_boilerplate(line: str) -> bool:
    return any(pattern.fullmatch(line) for pattern in BOILERPLATE_LINES)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_text(raw: str, *, treebank: bool = False) -> tuple[str, list[str]]:
    """Normalised article text and the boilerplate lines removed from it."""
    lines = split_lines(raw)
    if treebank:
        lines = [detokenise_treebank(line) for line in lines]
    kept = [line for line in lines if not is_boilerplate(line)]
    removed = [line for line in lines if is_boilerplate(line)]
    return "\n".join(kept), removed


_ID_CHARACTER = re.compile(r"[\w.\-]")
MAX_ID_LENGTH = 200


def check_document_id(doc_id: object, where: str) -> str:
    """The id, if it can name a document everywhere: a file name, a Doccano metadata value, a split entry.

    An empty id cannot be pulled back from Doccano, `../x` walks out of a
    folder when an id becomes a file name, and a number is not the string
    every later stage compares it with.
    """
    if not isinstance(doc_id, str):
        raise errors.bad_document_id(where, doc_id, f"it is of type {type(doc_id).__name__}, not a string")
    if not doc_id:
        raise errors.bad_document_id(where, doc_id, "it is empty")
    if len(doc_id) > MAX_ID_LENGTH:
        raise errors.bad_document_id(where, doc_id, f"it is {len(doc_id)} characters long")
    unsafe = sorted({char for char in doc_id if not _ID_CHARACTER.fullmatch(char)})
    if unsafe:
        raise errors.bad_document_id(where, doc_id, "it holds " + ", ".join(repr(c) for c in unsafe))
    if not doc_id[0].isalnum():
        raise errors.bad_document_id(where, doc_id, f"it starts with {doc_id[0]!r}")
    return doc_id


def make_document(
    doc_id: str, raw: str, *, source: str, path: str, meta: dict | None = None, title: str | None = None, treebank: bool | None = None
) -> tuple[Document, list[str]]:
    """A normalised document; treebank-tokenised text (by default: from a treebank source) is restored first."""
    check_document_id(doc_id, path)
    treebank = source in TREEBANK_SOURCES if treebank is None else treebank
    text, removed = clean_text(raw, treebank=treebank)
    if not text:
        raise errors.empty_document(path, doc_id)
    meta = dict(meta or {})
    if treebank:
        meta["restored_from_treebank_tokens"] = True
    document = Document(
        id=doc_id,
        text=text,
        title=title if title is not None else text.split("\n", 1)[0],
        source=source,
        path=path,
        hash=content_hash(text),
        words=count_words(text),
        meta=meta,
    )
    return document, removed


def _source_name(path: Path, source: str | None) -> str:
    return source or path.parent.name or "corpus"


def read_txt(path: Path, source: str | None = None) -> list[tuple[Document, list[str]]]:
    raw = decode_utf8(path.read_bytes(), str(path))
    return [make_document(path.stem, raw, source=_source_name(path, source), path=str(path))]


def json_line(line: str, path: Path, number: int) -> object:
    """One JSONL line parsed; bad JSON names the file and line."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise errors.bad_jsonl(str(path), number, exc.msg) from None


def iter_jsonl(path: Path):
    """(line number, object) for each non-blank line; bad UTF-8 or JSON names the place."""
    for number, line in enumerate(decode_utf8(path.read_bytes(), str(path)).splitlines(), start=1):
        if line.strip():
            yield number, json_line(line, path, number)


def require_text(record: object, path: Path, number: int) -> dict:
    """The record, if it holds a document: a JSON object with a string `text`."""
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise errors.bad_jsonl(str(path), number, "a record needs a string field `text`")
    return record


def text_record(line: str, path: Path, number: int) -> dict:
    """One JSONL line that holds a document (for readers that stream their lines)."""
    return require_text(json_line(line, path, number), path, number)


def read_jsonl(path: Path, source: str | None = None) -> list[tuple[Document, list[str]]]:
    results = []
    for number, raw in iter_jsonl(path):
        record = require_text(raw, path, number)
        doc_id = check_document_id(record.get("id", f"{path.stem}-{number:04d}"), f"{path}:{number}")
        meta = {k: v for k, v in record.items() if k not in {"id", "text", "title", "source"}}
        results.append(
            make_document(
                doc_id,
                record["text"],
                source=str(record.get("source") or _source_name(path, source)),
                path=f"{path}:{number}",
                meta=meta,
                title=record.get("title"),
            )
        )
    return results


def conllu_sentences(path: Path) -> list[tuple[str, str]]:
    """(sent_id, raw text) of each sentence of a CoNLL-U file, from its `# sent_id` and `# text` lines."""
    sentences: list[tuple[str, str]] = []
    sent_id = None
    for number, line in enumerate(decode_utf8(path.read_bytes(), str(path)).splitlines(), start=1):
        if line.startswith("# sent_id"):
            sent_id = line.split("=", 1)[1].strip()
        elif line.startswith("# text"):
            if sent_id is None:
                raise errors.bad_conllu(str(path), number, "a `# text` line without a `# sent_id` line before it")
            sentences.append((sent_id, line.split("=", 1)[1].strip()))
            sent_id = None
    return sentences


def read_id_list(path: Path) -> frozenset[str]:
    """Ids one a line; blank lines and `#` comments ignored."""
    if not path.is_file():
        raise errors.missing_file(str(path), "Id list", "Give a text file with one sentence id a line.")
    lines = decode_utf8(path.read_bytes(), str(path)).splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def read_conllu(path: Path, source: str | None = None, skip: frozenset[str] = frozenset()) -> list[tuple[Document, list[str]]]:
    """Documents of consecutive treebank sentences, one sentence a line, in file order.

    Sentences listed in `skip` (already in another corpus) are left out, so that
    no sentence is annotated twice or lands on both sides of a split.
    """
    kept = [(sent_id, text) for sent_id, text in conllu_sentences(path) if sent_id not in skip]
    if not kept:
        raise errors.bad_conllu(str(path), 0, "no sentence with a `# text` line (or all of them skipped)")
    name = _source_name(path, source)
    part = path.stem.rsplit("-", 1)[-1]  # vi_vtb-ud-train -> train
    documents = []
    for index in range(0, len(kept), TREEBANK_SENTENCES_PER_DOC):
        chunk = kept[index : index + TREEBANK_SENTENCES_PER_DOC]
        doc_id = f"{name}-{part}-{index // TREEBANK_SENTENCES_PER_DOC + 1:03d}"
        documents.append(
            make_document(
                doc_id,
                "\n".join(text for _, text in chunk),
                source=name,
                path=f"{path}:{chunk[0][0]}..{chunk[-1][0]}",
                meta={"sent_ids": [sent_id for sent_id, _ in chunk]},
                treebank=True,
            )
        )
    return documents


READERS = {".txt": read_txt, ".jsonl": read_jsonl, ".conllu": read_conllu}


def find_input_files(sources: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            files.extend(sorted(p for p in src.iterdir() if p.suffix in READERS and p.is_file()))
        elif src.is_file():
            files.append(src)
        else:
            raise errors.missing_file(str(src), "Input", "Check the path and run the command again.")
    if not files:
        raise errors.no_input_files([str(s) for s in sources])
    return files


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = text.lower().split()
    if len(words) < _SHINGLE_SIZE:
        return {tuple(words)}
    return {tuple(words[i : i + _SHINGLE_SIZE]) for i in range(len(words) - _SHINGLE_SIZE + 1)}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def find_near_duplicates(documents: list[Document], threshold: float = NEAR_DUPLICATE_THRESHOLD):
    """Pairs of documents whose word 5-gram shingles overlap (Jaccard) at least `threshold`."""
    shingles = [_shingles(doc.text) for doc in documents]
    pairs = []
    for i in range(len(documents)):
        for j in range(i + 1, len(documents)):
            score = _jaccard(shingles[i], shingles[j])
            if score >= threshold:
                pairs.append((documents[i].id, documents[j].id, round(score, 3)))
    return pairs


def ingest(sources: Iterable[Path], *, source: str | None = None, skip_sentences: frozenset[str] = frozenset()) -> IngestReport:
    """Read, normalise and de-duplicate documents; raise before anything is written."""
    by_id: dict[str, Document] = {}
    by_hash: dict[str, str] = {}
    removed_lines: list[tuple[str, str]] = []
    exact_duplicates: list[tuple[str, str]] = []
    readers: dict[str, Callable[..., Iterable[tuple[Document, list[str]]]]] = {**READERS, ".conllu": partial(read_conllu, skip=skip_sentences)}
    for path in find_input_files(list(sources)):
        for document, removed in readers[path.suffix](path, source):
            if document.id in by_id:
                raise errors.duplicate_id(document.id, by_id[document.id].path, document.path)
            if document.hash in by_hash:
                exact_duplicates.append((document.id, by_hash[document.hash]))
                continue
            by_id[document.id] = document
            by_hash[document.hash] = document.id
            removed_lines.extend((document.id, line) for line in removed)
    documents = sorted(by_id.values(), key=lambda d: d.id)
    return IngestReport(documents, removed_lines, exact_duplicates, find_near_duplicates(documents))


def atomic_write_bytes(path: Path, content: bytes) -> None:
    """Write through a temporary file in the same folder, then rename over: the file is whole or as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the mode `open()` would
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, content: str) -> None:
    """UTF-8 text with `\\n` line ends, written atomically (:func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, content.encode("utf-8"))


@contextlib.contextmanager
def exclusive_lock(path: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the block: commands on this computer take turns.

    The file is opened read-only, so a lock file another user created (in the shared temp folder) still
    locks. With `wait=False` a held lock raises BlockingIOError at once instead of waiting.
    """
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(descriptor)


def write_corpus(documents: list[Document], path: Path) -> None:
    atomic_write_text(path, "".join(doc.to_json() + "\n" for doc in documents))


def read_corpus(path: Path) -> dict[str, Document]:
    """Documents of a corpus file written by :func:`write_corpus`, by id."""
    if not path.exists():
        raise errors.missing_file(str(path), "Corpus file", "Run `vndiplo ingest seeds/ --out corpus/docs.jsonl` first.")
    documents = {}
    for number, record in iter_jsonl(path):
        try:
            document = Document(**record)
        except TypeError as exc:
            raise errors.bad_jsonl(str(path), number, f"not a corpus record: {exc}") from None
        documents[check_document_id(document.id, f"{path}:{number}")] = document
    return documents


def read_corpora(paths: Iterable[Path]) -> dict[str, Document]:
    """The documents of several corpus files, by id."""
    documents: dict[str, Document] = {}
    for path in paths:
        documents.update(read_corpus(path))
    return documents
