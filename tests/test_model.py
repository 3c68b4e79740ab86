import json
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vndiplo import load
from vndiplo.annotations import read_annotations
from vndiplo.cli import app
from vndiplo.corpus import read_corpus
from vndiplo.dataset import blank_nlp
from vndiplo.errors import VndiploError
from vndiplo.labels import load_labels
from vndiplo.model import visualize
from vndiplo.stream import TextDoc

from conftest import SENTENCES, flat

runner = CliRunner()


def test_load_without_a_model_says_how_to_train(tmp_path):
    with pytest.raises(VndiploError) as excinfo:
        load(tmp_path / "nothing")
    assert "make all" in excinfo.value.next_step


def test_load_returns_a_pipeline_whose_ents_carry_spec_labels(tiny_model):
    nlp = load(tiny_model)
    doc = nlp(SENTENCES[0][0])
    assert doc.ents, "the pipeline found no entity in a sentence it was trained on"
    assert {ent.label_ for ent in doc.ents} <= set(load_labels().names)


def test_predict_writes_doccano_jsonl_that_validates(tmp_path, tiny_model):
    corpus = tmp_path / "docs.jsonl"
    runner.invoke(app, ["ingest", str(Path(__file__).resolve().parents[1] / "seeds"), "--out", str(corpus)])
    out = tmp_path / "pred.jsonl"
    result = runner.invoke(app, ["predict", str(corpus), str(out), "--model", str(tiny_model)])
    assert result.exit_code == 0, result.output
    docs = read_annotations(out)
    assert len(docs) == 5
    record = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert set(record) >= {"id", "text", "label"}
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_visualize_draws_each_entity_in_its_label_colour(tmp_path):
    nlp = blank_nlp()
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "GPE", "pattern": "Nga"}, {"label": "PER", "pattern": "Sergei Lavrov"}])
    out = tmp_path / "ents.html"
    visualize(nlp, [TextDoc("d1", "Ngoại trưởng Nga Sergei Lavrov.")], out)
    page = out.read_text(encoding="utf-8")
    colours = load_labels().colors
    for label, surface in (("GPE", "Nga"), ("PER", "Sergei Lavrov")):
        mark = re.search(rf'<mark[^>]*background: ([^;"]+)[^>]*>\s*{surface}\s*<span[^>]*>{label}</span>', page)
        assert mark is not None, f"{surface} is not drawn as {label}"
        assert mark.group(1).lower() == colours[label].lower()


def test_the_visualize_command_writes_a_page_of_the_documents(tmp_path, tiny_model):
    corpus = tmp_path / "docs.jsonl"
    runner.invoke(app, ["ingest", str(Path(__file__).resolve().parents[1] / "seeds"), "--out", str(corpus)])
    out = tmp_path / "ents.html"
    result = runner.invoke(app, ["visualize", str(corpus), "--output", str(out), "--model", str(tiny_model)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert all(f">{doc_id}<" in page for doc_id in read_corpus(corpus))


@pytest.mark.slow
def test_packaged_wheel_installs_in_a_fresh_virtualenv_and_loads(tmp_path, tiny_model):
    from vndiplo.model import package

    wheel = package(tiny_model, tmp_path / "dist")
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    # spaCy comes from the project's environment (no network needed); vndiplo itself does not:
    # a view of that site-packages without vndiplo's files, its entry points included.
    project_site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    view = tmp_path / "site-view"
    view.mkdir()
    for entry in project_site.iterdir():
        if "vndiplo" not in entry.name:
            (view / entry.name).symlink_to(entry)
    Path(site, "project_site.pth").write_text(f"{view}\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    script = (
        "import importlib.util, spacy\n"
        "assert importlib.util.find_spec('vndiplo') is None or importlib.util.find_spec('vndiplo.model') is None, 'vndiplo leaked in'\n"
        "nlp = spacy.load('vi_vndiplo_ner')\n"
        "doc = nlp('Ngoại trưởng Nga Sergei Lavrov ở Đông Nam Á.')\n"
        "print([t.text for t in doc][-2:])\n"
        "print(nlp.get_pipe('entity_ids').kb.lookup('Hợp chúng quốc Hoa Kỳ', 'GPE'))\n"
    )
    result = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "['Á', '.']" in flat(result.stdout)
    assert "Q30" in result.stdout  # the knowledge base ships inside the wheel


def test_load_can_leave_a_component_out_and_names_an_unknown_one(tiny_model):
    from vndiplo.errors import VndiploError
    from vndiplo.model import load

    assert "date_rules" not in load(tiny_model, disable=("date_rules",)).pipe_names
    assert [(e.text, e.label_) for e in load(tiny_model)("ngày 21/1/2022").ents] == [("ngày 21/1/2022", "DATE")]
    with pytest.raises(VndiploError, match="no component parser"):
        load(tiny_model, disable=("parser",))
