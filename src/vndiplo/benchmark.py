"""Speed and memory of `vndiplo predict` at archive scale, against underthesea's NER.

Each configuration runs the real command in a fresh process on the project's
texts repeated to a target size (a million words by default), so that start-up
is small against the steady state and memory shows whether it grows with the
input. News text (the seeds, the treebank, the news test set) and encyclopedia
text (the Wikipedia excerpts) are measured apart: their sentences differ in
length and density of names, and so does the speed of every system.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import errors
from .corpus import read_corpus
from .text import count_words

# Which corpus sources are news and which encyclopedia text.
KINDS = {"news": ("seeds", "vtb", "news-test"), "encyclopedia": ("wiki", "viwiki")}
# The systems measured, as the report names them (the last three are followed by their size).
ONE_PROCESS, N_PROCESS, RAY, UNDERTHESEA = "vndiplo, 1 process", "vndiplo, --n-process", "vndiplo, Ray", "underthesea NER"


@dataclass
class Measurement:
    kind: str  # news or encyclopedia
    system: str  # e.g. "vndiplo, 1 process"
    words: int
    seconds: float  # the whole command, start-up included
    words_per_second: float
    peak_rss_mib: float  # the largest single process
    peak_total_rss_mib: float  # all processes of the run together (workers, Ray included)


@dataclass
class SpeedRatios:
    """The figures the targets are about, for one kind of text."""

    kind: str
    steady_words_per_second: float  # one process with its start-up taken out: the big run minus the small one
    over_underthesea: float  # that speed / underthesea's (measured after loading and a warm-up)
    n_process_over_one: float  # --n-process N / one process, both whole commands on the big input
    ray_over_one: float  # Ray with N workers / one process, likewise


def speed_ratios(measurements: list[Measurement]) -> list[SpeedRatios]:
    """Per kind of text, from the measurements of :func:`benchmark` (kinds lacking a run are left out).

    Our runs time the whole command, loading the model included, while underthesea is
    timed after loading: one process's steady speed, (big − small words) / (big − small
    seconds), is what compares with it.
    """
    ratios = []
    for kind in KINDS:
        runs = [m for m in measurements if m.kind == kind]
        one = sorted((m for m in runs if m.system == ONE_PROCESS), key=lambda m: m.words)
        several = next((m for m in runs if m.system.startswith(N_PROCESS)), None)
        ray = next((m for m in runs if m.system.startswith(RAY)), None)
        underthesea = next((m for m in runs if m.system.startswith(UNDERTHESEA)), None)
        if len(one) < 2 or several is None or ray is None or underthesea is None:
            continue
        small, big = one[0], one[-1]
        steady = (big.words - small.words) / (big.seconds - small.seconds)
        ratios.append(
            SpeedRatios(kind, steady, steady / underthesea.words_per_second, several.words_per_second / big.words_per_second, ray.words_per_second / big.words_per_second)
        )
    return ratios


def texts_by_kind(paths: Iterable[Path]) -> dict[str, list[tuple[str, str]]]:
    """(id, text) of every document of the corpus files, grouped into KINDS by source."""
    grouped: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
    for path in paths:
        for doc in read_corpus(path).values():
            for kind, sources in KINDS.items():
                if doc.source in sources:
                    grouped[kind].append((doc.id, doc.text))
    return grouped


def repeated(docs: list[tuple[str, str]], words: int) -> Iterator[tuple[str, str]]:
    """The documents over and over (ids made unique) until they hold at least `words` words."""
    held, round_ = 0, 0
    while held < words:
        round_ += 1
        for doc_id, text in docs:
            yield f"{doc_id}~{round_}", text
            held += count_words(text)
            if held >= words:
                return


def write_repeated(docs: list[tuple[str, str]], words: int, path: Path) -> int:
    """A JSONL of the documents repeated until it holds at least `words` words; returns the words written."""
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        for doc_id, text in repeated(docs, words):
            handle.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
            written += count_words(text)
    return written


def run_measured(command: list[str]) -> tuple[float, float, float]:
    """(seconds, peak RSS of the largest process, peak RSS of all together) of a command and its children.

    Memory is sampled every 50 ms over the whole process tree (spaCy's workers, a
    local Ray instance's raylet and actors).
    """
    import psutil

    # stderr goes to a file, not a pipe: a pipe nobody reads while the run goes on (Ray logs a lot)
    # would fill up and stop the command.
    errors_file = tempfile.TemporaryFile()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors_file)
    root = psutil.Process(process.pid)
    peak_one = peak_all = 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            sizes = []
            for member in tree:
                try:
                    sizes.append(member.memory_info().rss)
                except psutil.Error:
                    pass
            peak_one, peak_all = max(peak_one, max(sizes, default=0)), max(peak_all, sum(sizes))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    with errors_file:
        errors_file.seek(0)
        stderr = errors_file.read().decode(errors="replace")
    if process.returncode != 0:
        raise errors.VndiploError("A benchmark run failed", " ".join(command) + "\n" + stderr[-2000:], "Run that command by hand to see why.")
    return seconds, peak_one / 2**20, peak_all / 2**20


def _underthesea_worker(texts: list[str], queue) -> None:
    """Runs in a fresh process: underthesea's NER on `texts` after a warm-up on the first few."""
    import resource

    from .baselines import underthesea_spans

    for text in texts[:3]:
        underthesea_spans(text)
    start = time.perf_counter()
    for text in texts:
        underthesea_spans(text)
    queue.put((time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def underthesea_speed(texts: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of underthesea's NER on `texts`, loaded and warmed up first (start-up not timed)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_underthesea_worker, args=(texts, queue))
    process.start()
    seconds, peak = queue.get()
    process.join()
    return seconds, peak


def benchmark(
    model: Path,
    corpora: Iterable[Path],
    *,
    words: int = 1_000_000,
    small_words: int = 30_000,
    underthesea_words: int = 50_000,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
) -> list[Measurement]:
    """Every configuration on news and on encyclopedia text; see the module docstring."""
    vndiplo = str(Path(sys.executable).with_name("vndiplo"))
    measurements = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, docs in texts_by_kind(corpora).items():
            if not docs:
                continue
            inputs = {size: Path(tmp) / f"{kind}-{size}.jsonl" for size in (small_words, words)}
            held_words = {size: write_repeated(docs, size, path) for size, path in inputs.items()}
            runs = [
                (ONE_PROCESS, small_words, []),
                (ONE_PROCESS, words, []),
                (f"{N_PROCESS} {workers}", words, ["--n-process", str(workers)]),
                (f"{RAY}, {workers} workers", words, ["--engine", "ray", "--workers", str(workers)]),
            ]
            for system, size, options in runs:
                if progress is not None:
                    progress(f"{kind}: {system}, {size:,} words")
                source, held = inputs[size], held_words[size]
                out = Path(tmp) / "out.jsonl"
                seconds, peak_one, peak_all = run_measured([vndiplo, "predict", str(source), str(out), "--model", str(model), *options])
                measurements.append(Measurement(kind, system, held, seconds, held / seconds, peak_one, peak_all))
            if progress is not None:
                progress(f"{kind}: underthesea")
            texts = [text for _, text in repeated(docs, underthesea_words)]
            held = sum(count_words(text) for text in texts)
            seconds, peak = underthesea_speed(texts)
            measurements.append(Measurement(kind, f"{UNDERTHESEA} ({held:,} words)", held, seconds, held / seconds, peak, peak))
    return measurements
