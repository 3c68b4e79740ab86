"""Word vectors: floret vectors trained on plain Vietnamese text, saved for spaCy.

The annotated gold is small; word vectors bring what the model cannot learn from
it: that `Kowalski` and `Tanaka` are names like `Lavrov`, that `Bộ Chính trị` is
an organ. floret (fastText with Bloom-hashed subwords) keeps a fixed-size table
of subword buckets, so the vectors stay small enough for the repository and
every unseen word still gets a vector from its character n-grams.

The text is cut by the pipeline's own syllable tokenizer, so the tokens the
vectors know are the tokens the model sees. Case is kept: capitals are the
strongest cue for names, and spaCy looks vectors up by the token's text.
"""

from __future__ import annotations

import gzip
import json
import lzma
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from . import errors
from .corpus import atomic_write_text, text_record
from .text import decode_utf8

_OPENERS: dict[str, Callable[..., IO[str]]] = {".xz": lzma.open, ".gz": gzip.open}


@dataclass(frozen=True)
class FloretSettings:
    """floret's training settings; the defaults are those of the shipped vectors."""

    model: str = "cbow"
    dim: int = 100
    bucket: int = 50_000
    minn: int = 3
    maxn: int = 5
    hash_count: int = 2
    epoch: int = 5
    min_count: int = 5
    threads: int = 2


def _open_text(path: Path):
    opener = _OPENERS.get(path.suffix)
    return opener(path, "rt", encoding="utf-8") if opener else path.open(encoding="utf-8")


def read_plain_texts(path: Path) -> Iterator[str]:
    """Texts of a file: each `text` of a JSON Lines file (optionally .gz/.xz), or a plain text file's lines."""
    if not path.is_file():
        raise errors.missing_file(str(path), "Text file", "Give plain-text or JSONL files with a `text` field.")
    is_jsonl = ".jsonl" in path.suffixes
    if not is_jsonl and path.suffix not in _OPENERS:
        yield from decode_utf8(path.read_bytes(), str(path)).splitlines()
        return
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if not is_jsonl:
                    yield line
                    continue
                yield text_record(line, path, number)["text"]
    except (UnicodeDecodeError, lzma.LZMAError, gzip.BadGzipFile, EOFError) as exc:
        raise errors.VndiploError(f"{path} cannot be read as compressed UTF-8 text", str(exc), "Check the file; re-download or re-compress it.") from None


def tokenised_lines(texts: Iterable[str], tokenizer) -> Iterator[str]:
    """One line of space-separated syllable tokens per input line, empty lines dropped."""
    for text in texts:
        for line in text.splitlines():
            tokens = [token.text for token in tokenizer(line) if not token.is_space]
            if tokens:
                yield " ".join(tokens)


def train_floret(
    paths: list[Path],
    out: Path,
    settings: FloretSettings = FloretSettings(),
    *,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Train floret vectors on the texts of `paths` and write a spaCy vectors folder to `out`.

    The folder is a blank `vi` pipeline holding only the vectors, what spaCy's
    `[initialize] vectors` setting loads. It is built beside `out` and moved
    into place whole, so a killed run leaves the previous vectors as they were.
    Returns the facts written to `out/vectors.json`.
    """
    import floret
    from spacy.training.initialize import convert_vectors

    from .dataset import blank_nlp

    tokenizer = blank_nlp().tokenizer  # it keeps every string it cuts: not the pipeline that is saved
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work:
        corpus_file = Path(work) / "tokens.txt"
        lines = tokens = 0
        with corpus_file.open("w", encoding="utf-8") as handle:
            for path in paths:
                for line in tokenised_lines(read_plain_texts(path), tokenizer):
                    handle.write(line + "\n")
                    lines += 1
                    tokens += line.count(" ") + 1
                    if progress is not None and lines % 1000 == 0:
                        progress(tokens)
        if not tokens:
            raise errors.VndiploError("No text to train vectors on", ", ".join(map(str, paths)), "Give files that hold Vietnamese text.")
        model = floret.train_unsupervised(
            str(corpus_file),
            model=settings.model,
            mode="floret",
            dim=settings.dim,
            bucket=settings.bucket,
            minn=settings.minn,
            maxn=settings.maxn,
            hashCount=settings.hash_count,
            epoch=settings.epoch,
            minCount=settings.min_count,
            thread=settings.threads,
            verbose=0,
        )
        floret_file = Path(work) / "vectors.floret"
        model.save_floret_vectors(str(floret_file))
        staged = Path(work) / "vectors"
        # A fresh pipeline, so that the folder holds the hashed rows and not the 380,000 strings of the
        # training text: floret needs no word list, and a model loaded them into memory (65 MiB).
        nlp = blank_nlp()
        convert_vectors(nlp, floret_file, truncate=0, prune=-1, mode="floret")
        nlp.to_disk(staged)
        facts = {
            "settings": asdict(settings),
            "training_tokens": tokens,
            "training_lines": lines,
            "vocabulary": len(model.words),
            "sources": [str(path) for path in paths],
        }
        atomic_write_text(staged / "vectors.json", json.dumps(facts, ensure_ascii=False, indent=2) + "\n")
        previous = Path(work) / "previous"
        if out.exists():
            out.rename(previous)
        staged.rename(out)
        shutil.rmtree(previous, ignore_errors=True)
    return facts
