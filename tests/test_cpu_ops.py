"""The pipeline multiplies on OpenBLAS: set at every load through the config, with blis's results;
predict keeps freed memory for the next batch."""

import subprocess
import sys
import textwrap

import numpy
import pytest
import spacy
from thinc.api import NumpyOps, Ops

from vndiplo.cpu_ops import use_openblas

TEXT = "Bộ trưởng Ngoại giao Phạm Bình Minh đã hội đàm với Ngoại trưởng Hoa Kỳ John Kerry tại Hà Nội ngày 12/5/2015."


def model_nodes(nlp):
    return [node for _, component in nlp.pipeline if hasattr(component, "model") for node in component.model.walk()]


def test_a_loaded_model_multiplies_without_blis(tiny_model):
    assert {(type(node.ops), node.ops.use_blis) for node in model_nodes(spacy.load(tiny_model))} == {(NumpyOps, False)}


def test_the_vectors_and_entities_are_those_of_blis(tiny_model):
    openblas, blis = spacy.load(tiny_model), spacy.load(tiny_model)
    for node in model_nodes(blis):
        node.ops = NumpyOps(use_blis=True)
    with_openblas, with_blis = openblas(TEXT), blis(TEXT)
    assert numpy.allclose(with_openblas.tensor, with_blis.tensor, atol=1e-4)
    assert [(ent.text, ent.label_) for ent in with_openblas.ents] == [(ent.text, ent.label_) for ent in with_blis.ents]


def test_ops_other_than_the_plain_cpu_backend_are_kept():
    nlp = spacy.blank("vi")
    tok2vec = nlp.add_pipe("tok2vec")
    other = Ops()
    for node in tok2vec.model.walk():
        node.ops = other
    use_openblas(nlp)
    assert {id(node.ops) for node in tok2vec.model.walk()} == {id(other)}


# Allocates and frees 64 MiB in 1 MiB blocks, as a batch of arrays does, and prints the page
# faults of five more rounds: memory handed back to the OS must be faulted in again.
HEAP_ROUNDS = textwrap.dedent(
    """
    import resource, sys
    from vndiplo.cpu_ops import steady_heap
    if sys.argv[1] == "steady":
        steady_heap()
    def round_of_blocks():
        blocks = [bytearray(2**20) for _ in range(64)]
        del blocks
    round_of_blocks()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        round_of_blocks()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def page_faults(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", HEAP_ROUNDS, mode], capture_output=True, text=True, check=True).stdout)


@pytest.mark.skipif(sys.platform != "linux", reason="steady_heap tunes glibc only")
def test_a_steady_heap_keeps_freed_memory_for_the_next_batch():
    pages_per_round = 64 * 2**20 // 4096
    assert page_faults("default") > pages_per_round  # glibc gave the memory back and took it again
    assert page_faults("steady") < pages_per_round // 10
