"""Prediction at archive scale: documents read lazily, cut into pieces, batched by words.

Memory stays flat whatever the input: documents are read one at a time
(`.jsonl`, `.jsonl.gz`, folders of `.txt`), a document longer than a piece is
cut at paragraph (then sentence) boundaries and its spans merged back at their
offsets in the whole text, and the pipeline sees a few thousand words at a
time. Results go to a part file as they are done, so a killed run can resume,
and the part file becomes the output only when every document is in it.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import errors
from .annotations import AnnotatedDoc, Span, spec_spans
from .corpus import text_record
from .text import count_words, decode_utf8

# A piece is at most this many characters (about 2,000 Vietnamese syllables): far below
# spaCy's max_length, and small enough that one batch of pieces holds little memory.
PIECE_CHARS = 10_000
# Words handed to the pipeline at once in one process (measured: small batches are faster
# and leaner than spaCy's default of 256 documents). On OpenBLAS 3,000 and 4,000 words ran up
# to 10% faster but held 338 and 355 MiB at peak on encyclopedia text, past the 350 MB the
# project promises; 2,000 holds about 300 MiB (README, "Speed and memory").
BATCH_WORDS = 2_000

# Batches waiting for or in each worker of --n-process, so that a worker has the next batch when it
# is done; memory stays flat (2, 4 and 8 ran alike on a million words).
IN_FLIGHT_PER_WORKER = 2

_PARAGRAPH_END = re.compile(r"\n+")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")
_WHITESPACE = re.compile(r"\s+")

Progress = Callable[[int, int], None]  # (documents done, words done)


class HasText(Protocol):
    """What the pipeline reads: anything with an `id` and a `text` (a corpus record, an annotated document)."""

    @property
    def id(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class TextDoc:
    id: str
    text: str


# --- reading ------------------------------------------------------------------------------


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            yield from enumerate(handle, start=1)
    except (gzip.BadGzipFile, EOFError) as exc:
        raise errors.VndiploError(f"{path} is not a readable gzip file", str(exc), "Give a .jsonl.gz written by gzip, or the plain .jsonl.") from None


def read_jsonl_docs(path: Path) -> Iterator[TextDoc]:
    """Documents of a JSONL (or gzipped JSONL) file, one line at a time, never the whole file.

    A record needs a string `text`; its `id` is kept, or made from the file name and
    the record's place (`news-0007` for the seventh record of news.jsonl).
    """
    ordinal = 0
    for number, raw in _jsonl_lines(path):
        if not raw.strip():
            continue
        record = text_record(decode_utf8(raw, f"{path}:{number}"), path, number)  # a UTF-8 BOM on the first line is dropped there
        ordinal += 1
        yield TextDoc(str(record.get("id", f"{document_stem(path)}-{ordinal:04d}")), record["text"])


def document_stem(path: Path) -> str:
    """The file name without .jsonl / .jsonl.gz / .txt: the prefix of made-up document ids."""
    name = path.name
    for suffix in (".jsonl.gz", ".jsonl", ".txt"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def read_txt_folder(folder: Path) -> Iterator[TextDoc]:
    """Each .txt file of a folder (sorted by name) is one document named after the file."""
    for path in sorted(folder.glob("*.txt")):
        yield TextDoc(path.stem, decode_utf8(path.read_bytes(), str(path)))


def input_kind(path: Path) -> str:
    """`jsonl` or `txt-folder`; anything else is refused with the formats that are read."""
    if path.is_dir():
        if not any(path.glob("*.txt")):
            raise errors.no_input_files([str(path)])
        return "txt-folder"
    if not path.exists():
        raise errors.missing_file(str(path), "Input", "Give a corpus JSONL (`vndiplo ingest`), a .jsonl.gz or a folder of .txt files.")
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return "jsonl"
    raise errors.VndiploError(
        f"{path} is not an input predict reads",
        "predict reads .jsonl and .jsonl.gz files (one JSON record with a `text` a line) and folders of .txt files",
        "Ingest other files first: vndiplo ingest FILES --out docs.jsonl",
    )


def read_docs(inputs: Iterable[Path]) -> Iterator[TextDoc]:
    """Every document of every input, in order, read lazily."""
    for path in inputs:
        yield from (read_txt_folder(path) if input_kind(path) == "txt-folder" else read_jsonl_docs(path))


def count_docs(inputs: Iterable[Path]) -> int:
    """How many documents the inputs hold, counted without parsing them (for the time left)."""
    total = 0
    for path in inputs:
        if input_kind(path) == "txt-folder":
            total += sum(1 for _ in path.glob("*.txt"))
        else:
            total += sum(1 for _, raw in _jsonl_lines(path) if raw.strip())
    return total


# --- pieces and batches ---------------------------------------------------------------------


def _last_cut(pattern: re.Pattern, window: str) -> int:
    """Where the last match of `pattern` in `window` ends (0 if none): a place to cut after."""
    ends = [match.end() for match in pattern.finditer(window)]
    return ends[-1] if ends else 0


def piece_bounds(text: str, max_chars: int = PIECE_CHARS) -> list[tuple[int, int]]:
    """(start, end) of consecutive pieces that cover `text` exactly, each at most `max_chars` long.

    A cut goes after the last paragraph break that fits, else after the last sentence
    end, else at the last whitespace, and only as a last resort inside a word.
    """
    bounds, start = [], 0
    while len(text) - start > max_chars:
        window = text[start : start + max_chars]
        cut = _last_cut(_PARAGRAPH_END, window) or _last_cut(_SENTENCE_END, window) or _last_cut(_WHITESPACE, window) or max_chars
        bounds.append((start, start + cut))
        start += cut
    bounds.append((start, len(text)))
    return bounds


@dataclass(frozen=True)
class _Piece:
    doc: HasText
    start: int
    text: str
    last: bool


def _pieces(docs: Iterable[HasText], max_chars: int) -> Iterator[_Piece]:
    for doc in docs:
        bounds = piece_bounds(doc.text, max_chars)
        for index, (start, end) in enumerate(bounds):
            yield _Piece(doc, start, doc.text[start:end], index == len(bounds) - 1)


def word_batches(pieces: Iterable[_Piece], batch_words: int) -> Iterator[list[_Piece]]:
    """Consecutive pieces grouped until a group holds at least `batch_words` words."""
    batch, held = [], 0
    for piece in pieces:
        batch.append(piece)
        held += count_words(piece.text)
        if held >= batch_words:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


PieceEnts = list[tuple[int, int, str, str]]  # (start_char, end_char, label, kb_id) of each entity of a piece


def _piece_ents(nlp, texts: list[str]) -> list[PieceEnts]:
    """The entities the pipeline finds in each text of one batch, as plain tuples."""
    return [[(ent.start_char, ent.end_char, ent.label_, ent.kb_id_) for ent in doc.ents] for doc in nlp.pipe(texts, batch_size=len(texts))]


# A worker process of `--n-process`: the pipeline it was started with, and its one-BLAS-thread limit.
_worker: dict = {}


def _start_worker(nlp) -> None:
    from .cpu_ops import one_blas_thread

    _worker["nlp"], _worker["blas_limit"] = nlp, one_blas_thread()


def _worker_piece_ents(texts: list[str]) -> list[PieceEnts]:
    return _piece_ents(_worker["nlp"], texts)


def _parsed_batches(nlp, batches: Iterator[list[_Piece]], n_process: int) -> Iterator[tuple[list[_Piece], list[PieceEnts]]]:
    """Each batch of pieces with the entities of each piece, in input order.

    One process parses here. Several: a pool of `n_process` worker processes, each with
    the pipeline (inherited when the pool forks: loaded once), parses whole batches and
    sends back only the entities as tuples. spaCy's own multiprocessing sends every Doc
    back whole, and unpacking them kept this process so busy that two processes gave
    1.4-1.6x one (README, "Speed and memory"); here it only reads and writes. At most
    `IN_FLIGHT_PER_WORKER` batches per worker are in flight, so memory stays flat.

    Every process multiplies on one BLAS thread (`cpu_ops.one_blas_thread`), so that
    `n_process` is what uses more cores, and keeps its freed memory for the next batch
    (`cpu_ops.steady_heap`).
    """
    from .cpu_ops import one_blas_thread, steady_heap

    steady_heap()
    if n_process == 1:
        with one_blas_thread():
            for batch in batches:
                yield batch, _piece_ents(nlp, [piece.text for piece in batch])
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    try:
        with ProcessPoolExecutor(n_process, mp_context=context, initializer=_start_worker, initargs=(nlp,)) as pool:
            in_flight: deque = deque()
            for batch in batches:
                in_flight.append((batch, pool.submit(_worker_piece_ents, [piece.text for piece in batch])))
                if len(in_flight) > IN_FLIGHT_PER_WORKER * n_process:
                    oldest, entities = in_flight.popleft()
                    yield oldest, entities.result()
            while in_flight:
                oldest, entities = in_flight.popleft()
                yield oldest, entities.result()
    except BrokenProcessPool:
        raise errors.VndiploError(
            "A worker process of --n-process stopped",
            "it was killed, or ran out of memory; the documents before its batch are written",
            "Run the same command again with --resume to continue.",
        ) from None


def pipe_spans(
    nlp, docs: Iterable[HasText], *, batch_words: int = BATCH_WORDS, n_process: int = 1, max_chars: int = PIECE_CHARS
) -> Iterator[AnnotatedDoc]:
    """Predicted spans of each document, in input order, at their offsets in the whole text.

    The one place where text meets the pipeline, for predict, visualize and evaluate:
    any document (anything with an `id` and a `text`), however long, is parsed piece
    by piece. Spans are the pipeline's own, untrimmed, so that evaluation scores them.
    """
    max_chars = min(max_chars, nlp.max_length - 1)
    spans: list[Span] = []
    for batch, batch_ents in _parsed_batches(nlp, word_batches(_pieces(docs, max_chars), batch_words), n_process):
        for piece, ents in zip(batch, batch_ents):
            spans.extend(Span(piece.start + start, piece.start + end, label, kb_id) for start, end, label, kb_id in ents)
            if piece.last:
                yield AnnotatedDoc(piece.doc.id, piece.doc.text, spans)
                spans = []


# --- writing, resuming ---------------------------------------------------------------------


def part_path(output: Path) -> Path:
    """The file results go to until the run ends: OUT.part beside OUT."""
    return output.with_name(output.name + ".part")


def refuse_output_among_inputs(output: Path, inputs: Iterable[Path]) -> None:
    """Writing OUT over one of the inputs would destroy the documents still to be read."""
    target = output.resolve()
    for path in inputs:
        source = path.resolve()
        if target == source or (source.is_dir() and source in target.parents and target.suffix == ".txt"):
            raise errors.VndiploError(
                f"The output {output} is the input {path}",
                "the input is read while the output is written; writing over it would lose documents",
                "Give another output path, e.g. predictions.jsonl.",
            )


def _done_records(part: Path) -> list[tuple[str, int]]:
    """(id, span count) of the complete records of a part file; a last line cut off by a kill is dropped."""
    if not part.exists():
        return []
    data = part.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with open(part, "r+b") as handle:
            handle.truncate(len(complete))
    records = (json.loads(line) for line in complete.decode("utf-8").splitlines())
    return [(record["id"], len(record["label"])) for record in records]


@dataclass
class PredictionRun:
    documents: int
    spans: int
    resumed: int  # documents found done in the part file and not predicted again


Predictor = Callable[[Iterable], Iterator[AnnotatedDoc]]
# An engine predicts the documents of some inputs, leaving out those already done (by id).
Engine = Callable[[list[Path], list[str]], Iterator[AnnotatedDoc]]


def spacy_predictor(nlp, *, batch_words: int = BATCH_WORDS, n_process: int = 1) -> Predictor:
    """Documents in, predicted documents out (spans as the spec allows them), in this machine's processes."""
    return lambda docs: (spec_spans(doc) for doc in pipe_spans(nlp, docs, batch_words=batch_words, n_process=n_process))


def local_engine(nlp, *, batch_words: int = BATCH_WORDS, n_process: int = 1) -> Engine:
    """The inputs read lazily here and predicted by `nlp` in `n_process` processes.

    The documents done must be the first ones of the inputs (a part file written by
    this engine); they are read again, checked and skipped, not predicted.
    """

    def engine(inputs: list[Path], done: list[str]) -> Iterator[AnnotatedDoc]:
        docs = read_docs(inputs)
        for position, expected in enumerate(done):
            doc = next(docs, None)
            if doc is None or doc.id != expected:
                raise errors.VndiploError(
                    "The part file does not continue these inputs",
                    f"its record {position + 1} is {expected!r}, the input's is {doc.id if doc else 'missing'!r}",
                    "Run without --resume to start over.",
                )
        return spacy_predictor(nlp, batch_words=batch_words, n_process=n_process)(docs)

    return engine


def predict_to_file(engine: Engine, inputs: list[Path], output: Path, *, resume: bool = False, progress: Progress | None = None) -> PredictionRun:
    """Predict every document of `inputs` into `output` (Doccano JSONL), streaming.

    Each document is appended to OUT.part as soon as it is done; OUT.part becomes OUT
    only at the end. With `resume`, the documents already in OUT.part are kept and not
    predicted again; without it, a part file left over is started anew.
    """
    refuse_output_among_inputs(output, inputs)
    for path in inputs:
        input_kind(path)
    part = part_path(output)
    done = _done_records(part) if resume else []
    written, spans, words = 0, sum(count for _, count in done), 0
    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(part, "a" if resume else "w", encoding="utf-8", newline="\n") as handle:
            for predicted in engine(inputs, [doc_id for doc_id, _ in done]):
                handle.write(json.dumps(predicted.to_record(), ensure_ascii=False) + "\n")
                handle.flush()
                written += 1
                spans += len(predicted.spans)
                words += count_words(predicted.text)
                if progress is not None:
                    progress(len(done) + written, words)
            os.fsync(handle.fileno())
    except BaseException:
        if not done and not written:  # nothing to resume from: leave no empty part file behind
            part.unlink(missing_ok=True)
        raise
    os.replace(part, output)
    return PredictionRun(documents=len(done) + written, spans=spans, resumed=len(done))
