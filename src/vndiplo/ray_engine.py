"""The same prediction on Ray: a local instance, or a cluster of several machines.

Ray Data reads the inputs (`read_json` for .jsonl and .jsonl.gz, `read_binary_files`
for folders of .txt), and `map_batches` hands batches of documents to a pool of
actors, each of which loads the pipeline once and predicts through
:func:`stream.spacy_predictor`, so its spans are those of a single-process run.
The driver receives the results in input order and writes them like the local engine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from . import errors
from .annotations import AnnotatedDoc, Span
from .stream import BATCH_WORDS, TextDoc, document_stem, input_kind, spacy_predictor

# Documents that Ray Data hands to an actor at once; the actor batches them by words.
RAY_BATCH_DOCUMENTS = 64


def _require_ray():
    try:
        import ray
    except ImportError:
        raise errors.VndiploError(
            "Ray is not installed", "--engine ray needs the optional extra vndiplo[ray]", 'Install it: pip install "vndiplo[ray]"'
        ) from None
    return ray


def load_pipeline(model: str):
    """A model folder (vndiplo's load) or the name of an installed model package (`vi_vndiplo_ner`)."""
    import spacy

    from .model import load

    return load(model) if Path(model).exists() else spacy.load(model)


class PipelineActor:
    """One Ray actor: loads the pipeline once, then predicts batch after batch."""

    def __init__(self, model: str, batch_words: int) -> None:
        self.predict = spacy_predictor(load_pipeline(model), batch_words=batch_words)

    def __call__(self, batch: dict) -> dict:
        if any(doc_id is None for doc_id in batch["id"]):
            raise errors.VndiploError(
                "A record has no `id`", "the Ray engine needs an id in every record (vndiplo ingest writes them)", "Ingest the input first, or use --engine local."
            )
        docs = [TextDoc(str(doc_id), str(text)) for doc_id, text in zip(batch["id"], batch["text"])]
        predicted = list(self.predict(docs))
        return {
            "id": [doc.id for doc in predicted],
            "text": [doc.text for doc in predicted],
            "label": [json.dumps([[span.start, span.end, span.label, span.kb_id] for span in doc.spans]) for doc in predicted],
        }


def _txt_record(row: dict) -> dict:
    from .text import decode_utf8

    return {"id": document_stem(Path(row["path"])), "text": decode_utf8(row["bytes"], row["path"])}


def _dataset(ray, inputs: list[Path]):
    """One Ray dataset of (id, text) over every input, in input order.

    Reading takes no CPU of its own (num_cpus=0): the actors hold one CPU each, and
    with as many actors as CPUs a reading task that asked for one would never start.
    """
    import pyarrow as pa
    from pyarrow import json as pa_json

    only_id_and_text = pa_json.ParseOptions(
        explicit_schema=pa.schema([("id", pa.string()), ("text", pa.string())]), unexpected_field_behavior="ignore"
    )
    parts = []
    for path in inputs:
        if input_kind(path) == "txt-folder":
            files = ray.data.read_binary_files(str(path.resolve()), include_paths=True, file_extensions=["txt"], num_cpus=0)
            parts.append(files.map(_txt_record, num_cpus=0))
        else:
            parts.append(ray.data.read_json(str(path.resolve()), parse_options=only_id_and_text, num_cpus=0))
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def ray_engine(model: str, *, address: str | None = None, workers: int = 2, batch_words: int = BATCH_WORDS):
    """An engine for :func:`stream.predict_to_file` that runs on Ray."""
    return lambda inputs, done: ray_predict(model, inputs, set(done), address=address, workers=workers, batch_words=batch_words)


def ray_predict(
    model: str, inputs: list[Path], done: set[str], *, address: str | None = None, workers: int = 2, batch_words: int = BATCH_WORDS
) -> Iterator[AnnotatedDoc]:
    """Predicted documents of `inputs` (those whose id is not in `done`), in input order.

    Without `address`, a local Ray instance with `workers` CPUs is started (loopback
    only, no dashboard) and stopped at the end; with one, the job runs on that cluster
    and `workers` actors are asked of it. A Ray instance already running in this
    process (`ray.init` by the caller) is used as it is.
    """
    ray = _require_ray()
    started = not ray.is_initialized()
    if started:
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # the library stays silent
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        dataset = _dataset(ray, inputs)
        if done:
            dataset = dataset.filter(lambda row: row["id"] not in done, num_cpus=0)
        predicted = dataset.map_batches(
            PipelineActor,
            fn_constructor_kwargs={"model": model, "batch_words": batch_words},
            batch_size=RAY_BATCH_DOCUMENTS,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
            batch_format="numpy",
        )
        for row in predicted.iter_rows():
            spans = [Span(start, end, label, kb_id) for start, end, label, kb_id in json.loads(row["label"])]
            yield AnnotatedDoc(row["id"], row["text"], spans)
    except ray.exceptions.RayError as exc:
        cause = next((error for error in _causes(exc) if isinstance(error, errors.VndiploError)), None)
        if cause is not None:
            raise cause from None
        raise errors.VndiploError("The Ray job failed", str(exc)[-3000:], "Check that every worker has vndiplo and the model (README, Ray).") from None
    finally:
        if started:
            ray.shutdown()


def _causes(error: BaseException | None) -> Iterator[BaseException]:
    while error is not None:
        yield error
        error = getattr(error, "cause", None) or error.__cause__
