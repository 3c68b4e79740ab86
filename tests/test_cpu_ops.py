"""The pipeline multiplies on OpenBLAS: set at every load through the config, with blis's results."""

import numpy
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
