"""The trained pipeline in use: load, predict, visualise, package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import errors
from .annotations import AnnotatedDoc
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


def visualize(nlp, docs, path: Path) -> None:
    """displaCy entity HTML, one section per document, in the label colours of the config.

    Spans come from :func:`stream.pipe_spans` (so a document of any length renders) and
    are drawn from displaCy's manual format; an entity's id and canonical name show on hover.
    """
    from spacy import displacy

    from .entity_report import ENT_TEMPLATE, displacy_ent, entity_names
    from .stream import pipe_spans

    labels = load_labels()
    names = entity_names(nlp)
    sections = [
        {"text": doc.text, "title": doc.id, "ents": [displacy_ent(s, names) for s in doc.spans]}
        for doc in pipe_spans(nlp, docs)
    ]
    options = {"ents": labels.names, "colors": labels.colors, "template": ENT_TEMPLATE}
    html = displacy.render(sections, style="ent", page=True, manual=True, options=options)
    atomic_write_text(path, html)


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
    code = ",".join(str(Path(__file__).with_name(module)) for module in ("tokenizer_callbacks.py", "entity_boundaries.py", "date_rules.py", "entity_ids.py"))
    command = [
        sys.executable, "-m", "spacy", "package", str(model), str(output),
        "--name", name, "--version", version, "--build", "wheel", "--force", "--code", code,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(output.glob(f"*{name}-{version}/dist/*.whl"))
    if result.returncode != 0 or not wheels:
        raise errors.VndiploError("spaCy's packager wrote no wheel", (result.stdout + result.stderr)[-3000:], "Check the model folder and the message above (the `build` package must be installed).")
    return wheels[-1]
