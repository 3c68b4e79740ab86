"""The pipeline's matrix products on numpy's OpenBLAS, in a module that needs spaCy and thinc only.

thinc's CPU backend multiplies with blis by default. On this project's CPU numpy's OpenBLAS does
the same products about 2.8 times faster on one thread, and the tok2vec's products are three
quarters of the pipeline's time: the whole pipeline runs 1.7 times faster with the same entities
(README, "Speed"). The training config names `vndiplo.openblas_ops.v1` in
`[nlp.after_pipeline_creation]`, so training, `spacy.load` and the packaged wheel (which carries
this file through `spacy package --code`) all multiply the same way.
"""

import ctypes
import sys

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


# glibc's mallopt parameters (malloc.h) and the values predict runs with.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_FREE_HEAP_BYTES, _HEAP_ALLOCATION_LIMIT_BYTES = 128 * 2**20, 32 * 2**20


def steady_heap() -> None:
    """This process keeps the memory one batch freed for the next, instead of returning it to the OS.

    glibc hands the top of the heap back to the kernel whenever enough of it is free, which
    happens after every batch, and the next batch faults it in again page by page: measured, a
    tenth of predict's time went to the kernel, and a harmless change in which object is freed
    last turned that on or off. Fixed thresholds (arrays up to 32 MiB come from the heap, up to
    128 MiB of free heap is kept) end it, and the peak stays where it was: only memory already
    used is kept. Worker processes forked after the call inherit it. Only glibc is tuned.
    """
    if sys.platform != "linux":
        return
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _HEAP_ALLOCATION_LIMIT_BYTES)
        mallopt(_M_TRIM_THRESHOLD, _KEEP_FREE_HEAP_BYTES)


@registry.callbacks("vndiplo.openblas_ops.v1")
def openblas_ops_callback():
    """`[nlp.after_pipeline_creation]` hook of the training config."""
    return use_openblas
