
import pytest

from vndiplo.evaluate import model_predictor
from vndiplo.scoring import score

from conftest import flat


def test_our_strict_scores_equal_spacy_scorer(tiny_model, tiny_gold):
    import spacy
    from spacy.training import Example

    from vndiplo.dataset import to_spacy_doc

    nlp = spacy.load(tiny_model)
    ours = score(tiny_gold, model_predictor(nlp)(tiny_gold))
    examples = [Example(nlp(doc.text), to_spacy_doc(nlp, doc)) for doc in tiny_gold]
    theirs = nlp.evaluate(examples)
    assert ours.micro.fscore == pytest.approx(theirs["ents_f"])


def test_evaluating_on_an_empty_docbin_is_refused_not_a_table_of_zeros(tmp_path):
    from spacy.tokens import DocBin
    from typer.testing import CliRunner

    from vndiplo.cli import app

    empty = tmp_path / "test.spacy"
    DocBin().to_disk(empty)
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "model"), str(empty), "--output", str(tmp_path / "evaluation")])
    assert result.exit_code == 1 and f"{empty} holds no documents" in flat(result.output)
    assert not (tmp_path / "evaluation").exists()
