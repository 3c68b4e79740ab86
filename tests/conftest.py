"""Shared fixtures: a handful of annotated Vietnamese sentences, tiny models, and one real Doccano server."""

import json
import os
import warnings
from pathlib import Path

import pytest

from vndiplo.annotations import AnnotatedDoc, Span, write_annotations

# The admin password of every Doccano server the tests start.
ADMIN_PASSWORD = "Admin-pass-for-tests-1"

SENTENCES = [
    ("Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov gặp Antony Blinken tại Geneva (Thụy Sĩ).",
     [("Ngày 21/1", "DATE"), ("Ngoại trưởng", "TITLE"), ("Nga", "GPE"), ("Sergei Lavrov", "PER"), ("Antony Blinken", "PER"), ("Geneva", "GPE"), ("Thụy Sĩ", "GPE")]),
    ("Tổ chức Hiệp ước Bắc Đại Tây Dương (NATO) và Hội đồng NATO-Nga.\nẢnh: AFP/TTXVN",
     [("Tổ chức Hiệp ước Bắc Đại Tây Dương", "ORG"), ("NATO", "ORG"), ("Hội đồng NATO-Nga", "ORG"), ("AFP", "ORG"), ("TTXVN", "ORG")]),
    ("Nga thôn tính bán đảo Crimea, theo Thỏa thuận Minsk tháng 1-2022.",
     [("Nga", "GPE"), ("Crimea", "LOC"), ("Thỏa thuận Minsk", "AGREEMENT"), ("tháng 1-2022", "DATE")]),
    ("Chiến tranh Lạnh đã kết thúc; Tổng thống Joe Biden nói tại Washington.",
     [("Chiến tranh Lạnh", "EVENT"), ("Tổng thống", "TITLE"), ("Joe Biden", "PER"), ("Washington", "GPE")]),
    ("Bộ Ngoại giao Nga tuyên bố năm 2002 ở châu Âu 😀 và Moskva.",
     [("Bộ Ngoại giao Nga", "ORG"), ("năm 2002", "DATE"), ("châu Âu", "LOC"), ("Moskva", "GPE")]),
]


def annotated(index: int) -> AnnotatedDoc:
    text, entities = SENTENCES[index]
    spans, cursor = [], 0
    for surface, label in entities:
        start = text.index(surface, cursor)
        spans.append(Span(start, start + len(surface), label))
        cursor = start + len(surface)
    return AnnotatedDoc(f"doc{index}", text, spans)



@pytest.fixture
def tiny_gold() -> list[AnnotatedDoc]:
    return [annotated(i) for i in range(len(SENTENCES))]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A pipeline trained for a few steps on the fixture sentences: fast, not good."""
    from pathlib import Path

    from vndiplo.train import train_model

    docs = [annotated(i) for i in range(len(SENTENCES))]
    output = tmp_path_factory.mktemp("training")
    config = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"
    train_model(docs, docs, output, config=config, overrides={"training.max_steps": 40, "training.eval_frequency": 20}, quiet=True)
    return output / "model-last"


@pytest.fixture(scope="session")
def tiny_committee(tiny_model, tmp_path_factory):
    """tiny_model and a second, different one (another seed, fewer steps): a committee that can disagree."""
    from pathlib import Path

    from vndiplo.train import train_model

    docs = [annotated(i) for i in range(len(SENTENCES))]
    output = tmp_path_factory.mktemp("member")
    config = Path(__file__).resolve().parents[1] / "configs" / "ner.cfg"
    train_model(docs, docs, output, config=config, overrides={"training.max_steps": 15, "system.seed": 7}, quiet=True)
    return [tiny_model, output / "model-last"]


def loud(config, message: str) -> None:
    """A banner in the terminal and a warning in the summary: a skipped integration test must not go unseen."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    banner = "!" * 100
    if reporter is not None:
        reporter.write_line(f"\n{banner}\n{message}\n{banner}", red=True, bold=True)
    warnings.warn(message, stacklevel=2)


@pytest.fixture(scope="session")
def doccano_server(request, tmp_path_factory):
    """A running Doccano 1.8.4 with a fresh database on a free loopback port; yields the admin's credentials.

    The virtualenv is cached in .doccano/venv (installed on first use, a few
    minutes). If Doccano cannot be installed or started, every test using it
    fails with the reason; VNDIPLO_SKIP_DOCCANO=1 skips them knowingly, loudly.
    """
    from vndiplo.doccano.client import Credentials
    from vndiplo.doccano.install import ensure_installed
    from vndiplo.doccano.local import free_port
    from vndiplo.doccano.server import serve
    from vndiplo.errors import VndiploError

    if os.environ.get("VNDIPLO_SKIP_DOCCANO") == "1":
        message = "VNDIPLO_SKIP_DOCCANO=1: the Doccano integration tests are SKIPPED; the Doccano round trip is NOT tested."
        loud(request.config, message)
        pytest.skip(message)
    try:
        ensure_installed()
    except VndiploError as error:
        pytest.fail(f"Doccano could not be installed, so the integration tests cannot run:\n{error.message}\n"
                    "(set VNDIPLO_SKIP_DOCCANO=1 to skip them knowingly)", pytrace=False)
    data_dir = tmp_path_factory.mktemp("doccano-data")
    try:
        server = serve(username="admin", password=ADMIN_PASSWORD, port=free_port(), workers=2, data_dir=data_dir)
    except VndiploError as error:
        pytest.fail(f"Doccano did not start:\n{error.message}", pytrace=False)
    yield Credentials(server.url, "admin", "Admin-pass-for-tests-1")
    server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test item (`item.rep_call`), so a fixture can tell whether its test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# One meeting sentence with its gold spans, shared by the annotation and adjudication tests.
MEETING = "Ngoại trưởng Nga Sergei Lavrov gặp Antony Blinken tại Geneva (Thụy Sĩ)."
#          0           12 13 17            30 31 35          49 50 54    61 62    69
MEETING_GOLD = [
    Span(0, 12, "TITLE"), Span(13, 16, "GPE"), Span(17, 30, "PER"), Span(35, 49, "PER"), Span(54, 60, "GPE"), Span(62, 69, "GPE"),
]


def meeting(spans, doc_id="d1", text=MEETING) -> AnnotatedDoc:
    """The meeting sentence (or another text) with the given spans."""
    return AnnotatedDoc(doc_id, text, list(spans))


def write_jsonl(path: Path, docs) -> Path:
    write_annotations(docs, path)
    return path


def write_records(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def flat(output: str) -> str:
    """Command output with every run of whitespace as one space: wasabi wraps messages at 80 columns."""
    return " ".join(output.split())


@pytest.fixture(scope="session")
def new_cluster_dir(request):
    """Makes folders for private PostgreSQL clusters under a folder of the system's temp folder opened to other users
    (PostgreSQL's own user must reach them when the tests run as root; pytest's temporary folders, and a checkout
    under a private folder, are closed to it); every cluster is stopped and deleted after.

    PostgreSQL's binaries missing: the tests that need them are skipped, loudly (`make postgres` installs them).
    """
    import shutil
    import tempfile
    import uuid

    from vndiplo.doccano.postgres import postgres_bin_dir, remove_cluster

    if postgres_bin_dir() is None:
        message = ("PostgreSQL's initdb/pg_ctl/pg_dump are missing: the PostgreSQL tests of Doccano are SKIPPED "
                   "(`make postgres` as root, or `sudo apt-get install postgresql`)")
        loud(request.config, message)
        pytest.skip(message)
    parent = Path(tempfile.mkdtemp(prefix="vndiplo-test-postgres-"))
    parent.chmod(0o755)
    made = []

    def make():
        folder = parent / uuid.uuid4().hex[:12]
        made.append(folder)
        return folder

    yield make
    for folder in made:
        remove_cluster(folder)
    shutil.rmtree(parent, ignore_errors=True)
