"""Doccano on PostgreSQL, for real: a private cluster (Debian's initdb/pg_ctl) and Doccano on loopback.

Five annotators label one project at once through the API (over a thousand
span writes) and `pull` gives each one's spans back exactly; an SQLite data
folder moves to PostgreSQL with `vndiplo doccano migrate-db` and pulls the same.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from typer.testing import CliRunner

from annotators import (
    ANNOTATOR_PASSWORD,
    add_annotators,
    label_as,
    labelled,
    sentence_corpus,
)
from vndiplo.cli import app
from vndiplo.doccano.client import Credentials, Doccano, read_export
from vndiplo.doccano.install import ensure_installed
from vndiplo.doccano.local import free_port
from vndiplo.doccano.postgres import DatabaseChoice, cluster_running, recorded_database
from vndiplo.doccano.pull import pull
from vndiplo.doccano.push import push
from vndiplo.doccano.server import initialise, serve

from conftest import ADMIN_PASSWORD, flat

pytestmark = pytest.mark.doccano

ANNOTATORS = ["huong", "khoa", "linh", "minh", "tuan"]  # sorted
DOCUMENTS = 56  # 56 documents x 5 annotators, about 18 spans each: just over 1,000 span writes
runner = CliRunner()


@pytest.fixture(scope="module")
def postgres_server(new_cluster_dir, tmp_path_factory):
    """Doccano 1.8.4 on a private PostgreSQL cluster, both on loopback; yields the admin's credentials and the data folder."""
    data_dir = tmp_path_factory.mktemp("doccano-postgres")
    server = serve(username="admin", password=ADMIN_PASSWORD, port=free_port(), workers=3, data_dir=data_dir, database=DatabaseChoice(cluster=new_cluster_dir()))
    yield Credentials(server.url, "admin", ADMIN_PASSWORD), data_dir
    server.stop()


def test_the_server_runs_on_the_private_postgresql_cluster(postgres_server):
    _, data_dir = postgres_server
    choice = recorded_database(data_dir)
    assert choice.cluster is not None and (choice.cluster / "pgdata" / "PG_VERSION").exists()
    assert not (data_dir / "db.sqlite3").exists()  # nothing went to SQLite
    assert oct((data_dir / "database.json").stat().st_mode & 0o777) == "0o600"


def test_five_annotators_labelling_at_once_lose_and_duplicate_no_span(postgres_server):
    admin, _ = postgres_server
    corpus = sentence_corpus(DOCUMENTS)
    push(admin, corpus, "team-concurrency")
    project = Doccano(admin).project("team-concurrency")
    annotators = add_annotators(admin, project, ANNOTATORS)
    work = {}
    for k, creds in enumerate(annotators):
        docs = [labelled(doc, k) for doc in corpus.values()]
        random.Random(k).shuffle(docs)  # each annotator in another order: writes to one document interleave
        work[creds.username] = docs
    with ThreadPoolExecutor(len(annotators)) as pool:
        written = list(pool.map(lambda creds: label_as(creds, project, work[creds.username]), annotators))
    assert sum(written) >= 1000

    result = pull(admin, "team-concurrency", corpus)
    assert sorted(result.annotators) == ANNOTATORS
    for username, docs in work.items():
        expected = {doc.id: sorted(doc.spans) for doc in docs}
        got = {doc.id: sorted(doc.spans) for doc in result.annotators[username].docs}
        assert got == expected, username
        assert result.annotators[username].done == DOCUMENTS
    exported = read_export(Doccano(admin).export(project))  # the raw rows too: no second copy of any span
    for k, username in enumerate(ANNOTATORS):
        assert sum(len(r["label"]) for r in exported[username]) == written[k]


def _annotate_small_project(admin: Credentials, project_name: str, corpus: dict) -> list[Credentials]:
    push(admin, corpus, project_name)
    project = Doccano(admin).project(project_name)
    annotators = add_annotators(admin, project, ["mai", "lan"])
    docs = list(corpus.values())
    label_as(annotators[0], project, [labelled(doc, 0) for doc in docs])
    label_as(annotators[1], project, [labelled(doc, 1) for doc in docs[:4]])  # four done,
    label_as(annotators[1], project, [labelled(doc, 1) for doc in docs[4:]], done=False)  # the rest not checked
    return annotators


def _pulled(admin: Credentials, project: str, corpus: dict, **options) -> dict[str, dict[str, list]]:
    result = pull(admin, project, corpus, **options)
    return {user: {doc.id: sorted(doc.spans) for doc in work.docs} for user, work in result.annotators.items()}


def test_migrate_db_moves_an_sqlite_server_to_postgresql_without_losing_work(new_cluster_dir, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("doccano-sqlite")
    corpus = sentence_corpus(8)
    server = serve(username="admin", password=ADMIN_PASSWORD, port=free_port(), workers=2, data_dir=data_dir)
    admin = Credentials(server.url, "admin", ADMIN_PASSWORD)
    try:
        _annotate_small_project(admin, "to-move", corpus)
        before = _pulled(admin, "to-move", corpus)
        before_all = _pulled(admin, "to-move", corpus, include_unchecked=True)
    finally:
        server.stop()
    assert (data_dir / "db.sqlite3").exists() and recorded_database(data_dir).cluster is None

    cluster = new_cluster_dir()
    result = runner.invoke(app, ["doccano", "migrate-db", "--postgres", "--postgres-dir", str(cluster), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "Moved" in flat(result.output) and "3 users" in flat(result.output)
    assert recorded_database(data_dir).cluster == cluster.resolve()

    server = serve(username="admin", password=ADMIN_PASSWORD, port=free_port(), workers=2, data_dir=data_dir)
    admin = Credentials(server.url, "admin", ADMIN_PASSWORD)
    try:
        assert _pulled(admin, "to-move", corpus) == before
        assert _pulled(admin, "to-move", corpus, include_unchecked=True) == before_all
        assert Doccano(Credentials(server.url, "mai", ANNOTATOR_PASSWORD)).me["username"] == "mai"  # passwords moved too
        # new rows get new ids after the loaded ones (loaddata moved PostgreSQL's sequences)
        project = Doccano(admin).project("to-move")
        assert label_as(admin, project, [labelled(corpus["s0005"], 2)]) > 0
    finally:
        server.stop()


def test_migrate_db_refuses_a_database_that_is_not_empty(postgres_server, tmp_path_factory):
    """The target holds the concurrency test's server: nothing may be loaded over it, and the folder stays on SQLite."""
    _, pg_data_dir = postgres_server
    data_dir = tmp_path_factory.mktemp("doccano-sqlite-2")
    initialise(ensure_installed(), data_dir, username="admin", password=ADMIN_PASSWORD)  # an SQLite Doccano, never started
    cluster = recorded_database(pg_data_dir).cluster
    result = runner.invoke(app, ["doccano", "migrate-db", "--postgres-dir", str(cluster), "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "The target database is not empty" in flat(result.output)
    assert recorded_database(data_dir).cluster is None
    assert cluster_running(cluster)  # the cluster it found running is left running


def test_a_postgresql_server_given_by_its_address_serves_doccano_and_is_left_running(new_cluster_dir, tmp_path_factory):
    """`serve --database postgresql://…`: a server vndiplo did not start (here a cluster started apart, on loopback)."""
    from vndiplo.doccano.postgres import start_cluster, stop_cluster

    cluster = new_cluster_dir()
    url = start_cluster(cluster)
    data_dir = tmp_path_factory.mktemp("doccano-given-postgres")
    try:
        server = serve(username="admin", password=ADMIN_PASSWORD, port=free_port(), workers=2, data_dir=data_dir, database=DatabaseChoice(url=url))
        try:
            api = Doccano(Credentials(server.url, "admin", ADMIN_PASSWORD))
            project = api.create_project("given-postgres", guideline="G.", description="D.")
            assert [p["name"] for p in api.projects()] == ["given-postgres"] and project["id"]
            assert recorded_database(data_dir).url == url and recorded_database(data_dir).cluster is None
            assert not (data_dir / "db.sqlite3").exists()
        finally:
            server.stop()
        assert cluster_running(cluster)  # the database server is not vndiplo's to stop
    finally:
        stop_cluster(cluster)
