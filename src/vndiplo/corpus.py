"""Corpus ingest: article files in, one normalised JSONL corpus out.

Each document gets the id it keeps for life (the file stem, or the record's
`id`), a content hash, its source, title and word count. Ingest is the only
stage that changes text; everything downstream indexes the text it stores.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

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


def make_document(
    doc_id: str, raw: str, *, source: str, path: str, meta: dict | None = None, title: str | None = None
) -> tuple[Document, list[str]]:
    treebank = source in TREEBANK_SOURCES
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


def iter_jsonl(path: Path):
    """(line number, object) for each non-blank line; bad UTF-8 or JSON names the place."""
    for number, line in enumerate(decode_utf8(path.read_bytes(), str(path)).splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise errors.bad_jsonl(str(path), number, exc.msg) from None


def read_jsonl(path: Path, source: str | None = None) -> list[tuple[Document, list[str]]]:
    results = []
    for number, record in iter_jsonl(path):
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise errors.bad_jsonl(str(path), number, "a record needs a string field `text`")
        doc_id = str(record.get("id", f"{path.stem}-{number:04d}"))
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


READERS = {".txt": read_txt, ".jsonl": read_jsonl}


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


def ingest(sources: Iterable[Path], *, source: str | None = None) -> IngestReport:
    """Read, normalise and de-duplicate documents; raise before anything is written."""
    by_id: dict[str, Document] = {}
    by_hash: dict[str, str] = {}
    removed_lines: list[tuple[str, str]] = []
    exact_duplicates: list[tuple[str, str]] = []
    for path in find_input_files(list(sources)):
        for document, removed in READERS[path.suffix](path, source):
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


def atomic_write_text(path: Path, content: str) -> None:
    """Write through a temporary file in the same folder, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the mode `open()` would
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_corpus(documents: list[Document], path: Path) -> None:
    atomic_write_text(path, "".join(doc.to_json() + "\n" for doc in documents))


def read_corpus(path: Path) -> dict[str, Document]:
    """Documents of a corpus file written by :func:`write_corpus`, by id."""
    if not path.exists():
        raise errors.missing_file(str(path), "Corpus file", "Run `vndiplo ingest seeds/ --out corpus/docs.jsonl` first.")
    documents = {}
    for number, record in iter_jsonl(path):
        try:
            documents[record["id"]] = Document(**record)
        except (TypeError, KeyError) as exc:
            raise errors.bad_jsonl(str(path), number, f"not a corpus record: {exc}") from None
    return documents
