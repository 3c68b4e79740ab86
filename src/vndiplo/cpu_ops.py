"""The pipeline's matrix products on numpy's OpenBLAS, in a module that needs spaCy and thinc only.

thinc's CPU backend multiplies with blis by default. On this project's CPU numpy's OpenBLAS does
the same products about 2.8 times faster on one thread, and the tok2vec's products are three
quarters of the pipeline's time: the whole pipeline runs 1.7 times faster with the same entities
(README, "Speed"). The training config names `vndiplo.openblas_ops.v1` in
`[nlp.after_pipeline_creation]`, so training, `spacy.load` and the packaged wheel (which carries
this file through `spacy package --code`) all multiply the same way.
"""

from spacy.util import registry
from thinc.api import NumpyOps


def use_openblas(nlp):
    """Every CPU model of the pipeline multiplies through numpy (OpenBLAS) instead of blis.

    Only models on thinc's plain CPU backend change: a pipeline put on a GPU keeps its ops.
    """
    openblas = NumpyOps(use_blis=False)
    models = [component.model for _, component in nlp.pipeline if hasattr(getattr(component, "model", None), "walk")]
    for node in (node for model in models for node in model.walk()):
        if type(node.ops) is NumpyOps:
            node.ops = openblas
    return nlp


def one_blas_thread():
    """While in force, this process multiplies on one BLAS thread: one process keeps one core busy.

    OpenBLAS would spin a thread per core, and trainings side by side, or the workers of
    `--n-process`, would fight over the cores. (threadpoolctl comes with vndiplo; the wheel never calls this.)
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


@registry.callbacks("vndiplo.openblas_ops.v1")
def openblas_ops_callback():
    """`[nlp.after_pipeline_creation]` hook of the training config."""
    return use_openblas
