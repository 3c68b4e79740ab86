"""Gold spans → a Hugging Face DatasetDict, spaCy DocBin files and CoNLL.

Tokenisation is decided here, once: the pipeline's tokenizer is spaCy's
rule-based tokenizer with Vietnamese syllables as tokens (whitespace and
punctuation split, as in `spacy.Tokenizer.v1`), not pyvi word segmentation,
because pyvi joins syllables across gold span boundaries (measured in
:func:`alignment_report`). Training configs name the same tokenizer, so
`nlp(text)` at prediction time sees what training saw.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import errors
from .annotations import AnnotatedDoc, Span, context_of, corpus_mismatch, read_annotation_paths, require_valid
from .corpus import atomic_write_text, exclusive_lock, read_corpora
from .labels import LabelSet, load_labels
from .splits import SPLITS, check_fractions, fold_documents, split_documents
from .tokenizer_callbacks import use_syllable_rules

SYLLABLE_TOKENIZER = {"@tokenizers": "spacy.Tokenizer.v1"}
PYVI_TOKENIZER = {"@tokenizers": "spacy.vi.VietnameseTokenizer", "use_pyvi": True}


def blank_nlp(tokenizer: dict | None = None):
    """A blank Vietnamese pipeline with the project's tokenizer (syllables by default)."""
    import spacy

    nlp = spacy.blank("vi", config={"nlp": {"tokenizer": tokenizer or SYLLABLE_TOKENIZER}})
    return use_syllable_rules(nlp) if tokenizer is None else nlp


@dataclass
class Misaligned:
    doc_id: str
    span: Span
    context: str


@dataclass
class AlignmentReport:
    spans: int
    syllable_misaligned: list[Misaligned]
    pyvi_misaligned: list[Misaligned]


def misaligned_spans(nlp, docs: Iterable[AnnotatedDoc]) -> list[Misaligned]:
    """Gold spans that do not start and end on a token boundary of `nlp`'s tokenizer."""
    found = []
    for annotated in docs:
        doc = nlp.make_doc(annotated.text)
        for span in annotated.spans:
            if doc.char_span(span.start, span.end, alignment_mode="strict") is None:
                found.append(Misaligned(annotated.id, span, context_of(annotated.text, span.start, span.end)))
    return found


def alignment_report(docs: list[AnnotatedDoc]) -> AlignmentReport:
    return AlignmentReport(
        spans=sum(len(d.spans) for d in docs),
        syllable_misaligned=misaligned_spans(blank_nlp(), docs),
        pyvi_misaligned=misaligned_spans(blank_nlp(PYVI_TOKENIZER), docs),
    )


def to_spacy_doc(nlp, annotated: AnnotatedDoc):
    """A spaCy Doc with the gold entities; raises if a span cannot be aligned."""
    doc = nlp.make_doc(annotated.text)
    entities = []
    for span in annotated.spans:
        entity = doc.char_span(span.start, span.end, label=span.label, alignment_mode="strict")
        if entity is None:
            raise errors.VndiploError(
                f"Span {span.start}-{span.end} {span.label} of {annotated.id!r} does not fall on token boundaries",
                context_of(annotated.text, span.start, span.end),
                "Fix the span edges (vndiplo validate) or report the tokenizer case.",
            )
        entities.append(entity)
    doc.ents = entities
    doc.user_data["id"] = annotated.id
    return doc


def from_spacy_doc(doc) -> AnnotatedDoc:
    return AnnotatedDoc(doc.user_data.get("id", ""), doc.text, [Span(e.start_char, e.end_char, e.label_) for e in doc.ents])


def iob_tags(doc) -> list[str]:
    return [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in doc]


# --- building --------------------------------------------------------------------------


@dataclass
class BuiltDataset:
    splits: dict[str, list[AnnotatedDoc]]
    alignment: AlignmentReport
    sources: dict[str, str]  # document id → source
    folds: list[list[str]] = field(default_factory=list)


def load_gold(paths: list[Path], corpus_paths: list[Path] | None = None, labels: LabelSet | None = None):
    """Gold documents checked against the spec and, when given, against the corpus texts."""
    docs = read_annotation_paths(paths)
    if not docs:
        raise errors.VndiploError("No gold documents found", ", ".join(map(str, paths)), "Point the command at annotations/gold/.")
    require_valid(docs, "gold", labels)
    sources = {doc.id: str(doc.meta.get("source", "")) for doc in docs}
    corpus = read_corpora(corpus_paths or [])
    if corpus:
        for doc in docs:
            mismatch = corpus_mismatch(doc, corpus)
            if mismatch:
                raise errors.VndiploError(
                    f"Gold document {doc.id!r}: {mismatch}", ", ".join(map(str, corpus_paths or [])), "Ingest its article first, re-pull the annotations for the current corpus, or remove the record."
                )
            sources[doc.id] = corpus[doc.id].source
    return docs, sources


def build(
    paths: list[Path], *, corpus_paths: list[Path] | None = None, dev: float = 0.1, test: float = 0.2, folds: int = 0, seed: int = 0
) -> BuiltDataset:
    check_fractions(dev, test)
    docs, sources = load_gold(paths, corpus_paths)
    alignment = alignment_report(docs)
    if alignment.syllable_misaligned:
        listing = "\n".join(f"{m.doc_id} {m.span.label} {m.context}" for m in alignment.syllable_misaligned)
        raise errors.VndiploError("Gold spans do not fall on token boundaries", listing, "Fix the span edges; no span is dropped silently.")
    by_id = {doc.id: doc for doc in docs}
    split_ids = split_documents(docs, dev=dev, test=test, seed=seed)
    fold_ids = fold_documents(docs, folds=folds, seed=seed) if folds else []
    return BuiltDataset({name: [by_id[i] for i in ids] for name, ids in split_ids.items()}, alignment, sources, fold_ids)


def features(labels: LabelSet | None = None):
    from datasets import ClassLabel, Features, Sequence, Value

    labels = labels or load_labels()
    return Features(
        {
            "id": Value("string"),
            "source": Value("string"),
            "text": Value("string"),
            "tokens": Sequence(Value("string")),
            "ner_tags": Sequence(ClassLabel(names=labels.iob_tags)),
            "spans": Sequence({"start": Value("int32"), "end": Value("int32"), "label": Value("string")}),
        }
    )


def to_records(docs: list[AnnotatedDoc], sources: dict[str, str], nlp) -> list[dict]:
    records = []
    for annotated in docs:
        doc = to_spacy_doc(nlp, annotated)
        records.append(
            {
                "id": annotated.id,
                "source": sources.get(annotated.id, ""),
                "text": annotated.text,
                "tokens": [t.text for t in doc],
                "ner_tags": iob_tags(doc),
                "spans": {
                    "start": [s.start for s in annotated.spans],
                    "end": [s.end for s in annotated.spans],
                    "label": [s.label for s in annotated.spans],
                },
            }
        )
    return records


def to_dataset_dict(built: BuiltDataset):
    from datasets import Dataset, DatasetDict
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # the CLI prints its own summary; a bar per tiny split is noise

    nlp = blank_nlp()
    schema = features()
    columns = {name: {key: [record[key] for record in to_records(docs, built.sources, nlp)] for key in schema} for name, docs in built.splits.items()}
    return DatasetDict({name: Dataset.from_dict(data, features=schema) for name, data in columns.items()})


def docs_from_dataset_split(split) -> list[AnnotatedDoc]:
    """Gold documents again from a saved split: the inverse of :func:`to_records`."""
    return [
        AnnotatedDoc(row["id"], row["text"], [Span(start, end, label) for start, end, label in zip(row["spans"]["start"], row["spans"]["end"], row["spans"]["label"])])
        for row in split
    ]


def write_docbin(docs: list[AnnotatedDoc], path: Path) -> None:
    from spacy.tokens import DocBin

    nlp = blank_nlp()
    docbin = DocBin(store_user_data=True)
    for annotated in docs:
        docbin.add(to_spacy_doc(nlp, annotated))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    docbin.to_disk(tmp)
    tmp.replace(path)


def read_docbin(path: Path, nlp=None) -> list[AnnotatedDoc]:
    from spacy.tokens import DocBin

    if not path.exists():
        raise errors.missing_file(str(path), "spaCy corpus", "Run `vndiplo dataset annotations/gold/ --out corpus/` first.")
    nlp = nlp or blank_nlp()
    try:
        docbin = DocBin().from_disk(path)
    except ValueError:  # spaCy's E1014: not DocBin data
        raise errors.VndiploError(f"{path} is not a spaCy DocBin (.spacy) file", "", "Build it with `vndiplo dataset annotations/gold/ --out corpus/`.") from None
    return [from_spacy_doc(doc) for doc in docbin.get_docs(nlp.vocab)]


def conll_text(docs: list[AnnotatedDoc]) -> str:
    """Token TAB IOB2 tag, a blank line between sentences-as-lines, `-DOCSTART-` per document."""
    nlp = blank_nlp()
    lines = []
    for annotated in docs:
        doc = to_spacy_doc(nlp, annotated)
        lines.append(f"-DOCSTART- {annotated.id}")
        lines.append("")
        for token, tag in zip(doc, iob_tags(doc)):
            if token.is_space:
                continue
            lines.append(f"{token.text}\t{tag}")
            if "\n" in token.whitespace_ or (token.i + 1 < len(doc) and "\n" in doc[token.i + 1].text):
                lines.append("")
        lines.append("")
    return "\n".join(lines) + "\n"


def label_counts(docs: list[AnnotatedDoc]) -> Counter:
    return Counter(span.label for doc in docs for span in doc.spans)


# --- writing: one run's outputs swapped in together -----------------------------------------
# The outputs share the folder with the corpus files, so they cannot be one directory renamed
# over another. A run writes them all into STAGING, marks it COMPLETE, then renames each into
# place. An interrupted run is settled by the next one (and refused by `train`): a staging
# folder without the mark is thrown away (the previous outputs were never touched), one with
# the mark is moved in (the run had finished; only the renames were cut short).

OUTPUT_NAMES = ("dataset", *(f"{name}.{ext}" for name in SPLITS for ext in ("spacy", "conll")), "splits.json", "README.md")
STAGING = ".dataset.staging"
COMPLETE = "COMPLETE"
_LOCK = ".dataset.lock"
_REPLACED = ".dataset.replaced"  # the previous dataset/ folder for the moment of the swap
_LEFTOVERS = (".dataset.tmp",)  # the temporary folder of vndiplo before the staging folder


def _swap_in(staging: Path, out: Path) -> None:
    """Rename every staged output into `out` (each rename atomic), then drop the staging folder."""
    for name in OUTPUT_NAMES:
        staged, target = staging / name, out / name
        if not staged.exists():
            continue  # moved in before an interruption
        if staged.is_dir():
            if target.exists():
                shutil.rmtree(out / _REPLACED, ignore_errors=True)
                target.rename(out / _REPLACED)
            staged.rename(target)
        else:
            staged.replace(target)
    shutil.rmtree(out / _REPLACED, ignore_errors=True)
    shutil.rmtree(staging)


def settle_interrupted_run(out: Path) -> str | None:
    """Finish or undo a `dataset` run that was killed, and remove its temporary files; say which."""
    staging = out / STAGING
    settled = None
    if (staging / COMPLETE).exists():
        _swap_in(staging, out)
        settled = "finished swapping in the outputs of an interrupted run"
    elif staging.exists():
        shutil.rmtree(staging, ignore_errors=True)
        settled = "removed the half-built outputs of an interrupted run"
    if (out / _REPLACED).exists() and (out / "dataset").exists():
        shutil.rmtree(out / _REPLACED)
    for name in _LEFTOVERS:
        if (out / name).exists():
            shutil.rmtree(out / name)
            settled = settled or "removed temporary files of an interrupted run"
    for leftover in [p for name in OUTPUT_NAMES for p in out.glob(f".{name}.*tmp") if p.is_file()]:
        leftover.unlink()
        settled = settled or "removed temporary files of an interrupted run"
    return settled


def require_settled(out: Path) -> None:
    """Refuse to read outputs whose swap an interrupted `dataset` run left half done."""
    if (out / STAGING / COMPLETE).exists():
        raise errors.dataset_half_swapped(str(out))


@contextlib.contextmanager
def _writing(out: Path):
    """One `dataset` run at a time writes into `out` (on this machine); a second one is refused."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(out / _LOCK, wait=False))
        except BlockingIOError:
            raise errors.dataset_busy(str(out)) from None
        yield


def write_outputs(built: BuiltDataset, out: Path) -> tuple[dict[str, Path], str | None]:
    """DatasetDict (save_to_disk), DocBin and CoNLL per split, folds and the dataset card, swapped in together.

    Returns the paths written and what was done about an interrupted earlier run (or None).
    """
    with _writing(out):
        settled = settle_interrupted_run(out)
        staging = out / STAGING
        staging.mkdir()
        try:
            to_dataset_dict(built).save_to_disk(str(staging / "dataset"))
            for name, docs in built.splits.items():
                write_docbin(docs, staging / f"{name}.spacy")
                atomic_write_text(staging / f"{name}.conll", conll_text(docs))
            split_record: dict[str, object] = {name: [d.id for d in docs] for name, docs in built.splits.items()}
            if built.folds:
                split_record["folds"] = built.folds
            atomic_write_text(staging / "splits.json", json.dumps(split_record, ensure_ascii=False, indent=2) + "\n")
            atomic_write_text(staging / "README.md", dataset_card(built))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        atomic_write_text(staging / COMPLETE, "")
        _swap_in(staging, out)
    written = {"dataset": out / "dataset", **{name: out / f"{name}.spacy" for name in built.splits}, "card": out / "README.md"}
    return written, settled


def dataset_card(built: BuiltDataset) -> str:
    labels = load_labels()
    all_docs = [d for docs in built.splits.values() for d in docs]
    counts = {name: label_counts(docs) for name, docs in built.splits.items()}
    words = {name: sum(len(d.text.split()) for d in docs) for name, docs in built.splits.items()}
    sources = Counter(built.sources.get(d.id, "") or "unknown" for d in all_docs)
    a = built.alignment
    rows = "\n".join(
        f"| {label} | " + " | ".join(str(counts[name][label]) for name in SPLITS) + f" | {sum(counts[n][label] for n in SPLITS)} |"
        for label in labels.names
    )
    pyvi_examples = "\n".join(f"  - `{m.doc_id}` {m.span.label}: {m.context}" for m in a.pyvi_misaligned[:8])
    share = lambda n: f"{n / a.spans:.1%}" if a.spans else "n/a"  # noqa: E731
    has_extra = any(s in ("wiki", "vtb") for s in sources)
    licence = "cc-by-sa-4.0" if has_extra else "mit"
    folds = f"\nCross-validation folds (document-grouped): {len(built.folds)}.\n" if built.folds else ""
    return f"""---
language:
- vi
license: {licence}
task_categories:
- token-classification
task_ids:
- named-entity-recognition
pretty_name: vndiplo Vietnamese diplomatic NER
---

# vndiplo: Vietnamese diplomatic NER data set

Generated by `vndiplo dataset`; do not edit by hand.

## Sizes

| split | documents | words |
|---|---|---|
""" + "\n".join(f"| {name} | {len(built.splits[name])} | {words[name]} |" for name in SPLITS) + f"""

Sources: {", ".join(f"{s}: {n} documents" for s, n in sorted(sources.items()))}.
Splits are by document, seeded and deterministic; near-duplicate documents share a split.
No document id occurs in two splits (`splits.json` lists them).
{folds}
## Labels per split

| label | train | dev | test | total |
|---|---|---|---|---|
{rows}

## Features

`id`, `source`, `text`, `tokens` (syllable tokens), `ner_tags` (`Sequence(ClassLabel)` in IOB2:
{", ".join(labels.iob_tags)}), `spans` (character `start`, `end`, `label` into `text`, end exclusive).
Files: `dataset/` (`datasets.load_from_disk`), `train|dev|test.spacy` (spaCy DocBin),
`train|dev|test.conll` (token, tab, IOB2 tag) for reading.

## Tokenisation and alignment

Gold spans: {a.spans}.
- Syllable tokenisation (spaCy rule-based tokenizer, whitespace and punctuation split, the one
  in the trained pipeline): {len(a.syllable_misaligned)} spans off token boundaries ({share(len(a.syllable_misaligned))}).
- pyvi word segmentation (spaCy `vi` default): {len(a.pyvi_misaligned)} spans off token boundaries ({share(len(a.pyvi_misaligned))}), e.g.
{pyvi_examples or "  - none"}

So the pipeline uses syllable tokens: zero spans are lost or shifted.

## How it was made

Articles were ingested with `vndiplo ingest` (NFC, whitespace normalised, page boilerplate removed),
annotated in two independent passes against the label spec (`annotations/GUIDELINES.md`),
adjudicated (`annotations/ADJUDICATION.md`) and validated with `vndiplo validate`.
No model output entered the gold unreviewed.

## Licence and provenance

Seed articles: Vietnamese news reports, kept for research on the project's NER task.
Extra corpus (`wiki`, `vtb` sources): excerpts of Vietnamese Wikipedia and sentences of
UD_Vietnamese-VTB, CC BY-SA 4.0; annotations on them are adaptations shared under CC BY-SA 4.0
with the attribution in `corpus/extra-corpus/SOURCES.md` (section 3) and `LICENSE.md`.
The whole treebank (`vtb` source, `corpus/vtb/`): UD_Vietnamese-VTB, CC BY-SA 4.0, attribution in
`corpus/vtb/README.md`. Wikipedia excerpts (`viwiki` source, `corpus/viwiki/`): CC BY-SA 3.0 text,
attribution in `corpus/viwiki/SOURCES.md`; adaptations may be shared under CC BY-SA 4.0 (3.0 §4(b)).
The held-out news test set (`corpus/news-test/`) is not part of this dataset.

## Personal and sensitive information

The texts name public figures (heads of state, ministers, spokespeople) in their public roles,
as reported in the news and encyclopedia text. The VTB sentences also name private people
as printed in mid-2000s newspapers (crime and human-interest stories, often by first name or
initials). No other personal data is collected.
"""
