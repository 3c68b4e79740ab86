"""The `vndiplo` command line: a thin typer layer over the library.

Each command parses its options, calls the library and prints what it returns
with wasabi. The commands are listed here in the order the data flows.
"""

from __future__ import annotations

import typer

from . import data, entities, model
from .doccano import doccano_app

app = typer.Typer(
    name="vndiplo",
    help="Vietnamese diplomatic NER: corpus, Doccano annotation, dataset, training and evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Vietnamese diplomatic NER: corpus, Doccano annotation, dataset, training and evaluation."""


app.command("ingest")(data.ingest_cli)
app.add_typer(doccano_app, name="doccano")
app.command("validate")(data.validate_cli)
app.command("import-markup")(data.import_markup_cli)
app.command("agree")(data.agree_cli)
app.command("adjudicate")(data.adjudicate_cli)
app.command("dataset")(data.dataset_cli)
app.command("vectors")(data.vectors_cli)
app.command("train")(model.train_cli)
app.command("evaluate")(model.evaluate_cli)
app.command("crossval")(model.crossval_cli)
app.command("loop-study")(model.loop_study_cli)
app.command("predict")(model.predict_cli)
app.command("visualize")(model.visualize_cli)
app.command("entities")(entities.entities_cli)
app.command("kb-sample")(entities.kb_sample_cli)
app.command("kb-score")(entities.kb_score_cli)
app.command("package")(model.package_cli)
app.command("benchmark")(model.benchmark_cli)


def main() -> None:
    app()
