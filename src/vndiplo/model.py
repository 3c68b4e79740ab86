"""The trained pipeline in use: load, predict, visualise, package."""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import errors
from .annotations import AnnotatedDoc, Span
from .corpus import atomic_write_text
from .labels import load_labels
from .paths import MODEL

DEFAULT_MODEL = MODEL
PACKAGE_NAME = "vndiplo_ner"


def load(path: str | Path | None = None, disable: tuple[str, ...] = ()):
    """The trained spaCy pipeline (default `training/model-best`), `doc.ents` carry the labels.

    `disable` names components to leave out, e.g. `("date_rules",)` to see what the rules add.
    """
    import spacy

    model = Path(path) if path is not None else DEFAULT_MODEL
    if not (model / "config.cfg").exists():
        raise errors.VndiploError(
            f"No trained model at {model}",
            "",
            "Train one with `make all` (or `vndiplo train corpus/ --output training/`), or pass the path of a model.",
        )
    unknown = [name for name in disable if name not in spacy.util.load_config(model / "config.cfg")["nlp"]["pipeline"]]
    if unknown:
        raise errors.VndiploError(f"The pipeline at {model} has no component {', '.join(unknown)}", "", "Name components of its config's [nlp] pipeline.")
    from .entity_ids import KnowledgeBaseError

    try:
        return spacy.load(model, disable=list(disable))
    except KnowledgeBaseError as error:
        raise errors.bad_knowledge_base(str(error)) from None


def predict(nlp, docs: list[AnnotatedDoc]) -> list[AnnotatedDoc]:
    """Predicted spans as the spec allows them (`annotations.spec_spans`)."""
    from .stream import spacy_predictor

    return list(spacy_predictor(nlp)(docs))


# displaCy's entity template with the id and canonical name in the mark's tooltip (`title`), and the id
# after the label, linked to Wikidata for a QID.
ENT_TEMPLATE = """
<mark class="entity" title="{title}" style="background: {bg}; padding: 0.45em 0.6em; margin: 0 0.25em; line-height: 1; border-radius: 0.35em;">
    {text}
    <span style="font-size: 0.8em; font-weight: bold; line-height: 1; border-radius: 0.35em; vertical-align: middle; margin-left: 0.5rem">{label}{kb_link}</span>
</mark>
"""


def entity_names(nlp: Any) -> dict[str, str]:
    """Canonical name of every id in the pipeline's knowledge base (empty without `entity_ids`)."""
    if "entity_ids" not in nlp.pipe_names:
        return {}
    return {entity_id: entity.name for entity_id, entity in nlp.get_pipe("entity_ids").kb.entities.items()}


def displacy_ent(span: Span, names: dict[str, str]) -> dict[str, Any]:
    """A span in displaCy's manual format for ENT_TEMPLATE: the id and its name show on hover."""
    ent: dict[str, Any] = {"start": span.start, "end": span.end, "label": span.label, "params": {"title": ""}}
    if span.kb_id:
        ent["kb_id"] = span.kb_id
        ent["kb_url"] = f"https://www.wikidata.org/wiki/{span.kb_id}" if span.kb_id.startswith("Q") else "#"
        ent["params"] = {"title": html.escape(f"{span.kb_id} · {names.get(span.kb_id, '')}", quote=True)}
    return ent


def visualize(nlp, docs, path: Path) -> None:
    """displaCy entity HTML, one section per document, in the label colours of the config.

    Spans come from :func:`stream.pipe_spans` (so a document of any length renders) and
    are drawn from displaCy's manual format; an entity's id and canonical name show on hover.
    """
    from spacy import displacy

    from .stream import pipe_spans

    labels = load_labels()
    names = entity_names(nlp)
    sections = [
        {"text": doc.text, "title": doc.id, "ents": [displacy_ent(s, names) for s in doc.spans]}
        for doc in pipe_spans(nlp, docs)
    ]
    options = {"ents": labels.names, "colors": labels.colors, "template": ENT_TEMPLATE}
    page = displacy.render(sections, style="ent", page=True, manual=True, options=options)
    atomic_write_text(path, page)


def package(model: Path, output: Path, *, name: str = PACKAGE_NAME, version: str = "0.1.0") -> Path:
    """An installable wheel of the pipeline, built by spaCy's packager (`spacy package`); returns the wheel path.

    The packager runs in a child process: it imports the `--code` files to register their components,
    which in this process (where vndiplo registered them already) spaCy refuses as a second factory
    of the same name; the child also keeps its output off the terminal.

    The tokenizer rules, the entity-boundary rules, the date rules and the entity-id linker ship as code in
    the wheel; the vectors and the knowledge base are part of the pipeline, so the wheel needs spaCy only:
    `spacy.load("vi_vndiplo_ner")` works without vndiplo installed.
    """
    if not (model / "config.cfg").exists():
        raise errors.missing_file(str(model), "Model", "Train first: vndiplo train corpus/ --output training/")
    output.mkdir(parents=True, exist_ok=True)
    code = ",".join(str(Path(__file__).with_name(module)) for module in ("tokenizer_callbacks.py", "cpu_ops.py", "entity_boundaries.py", "date_rules.py", "entity_ids.py"))
    command = [
        sys.executable, "-m", "spacy", "package", str(model), str(output),
        "--name", name, "--version", version, "--build", "wheel", "--force", "--code", code,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(output.glob(f"*{name}-{version}/dist/*.whl"))
    if result.returncode != 0 or not wheels:
        raise errors.VndiploError("spaCy's packager wrote no wheel", (result.stdout + result.stderr)[-3000:], "Check the model folder and the message above (the `build` package must be installed).")
    return wheels[-1]
