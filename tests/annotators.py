"""Helpers of the team-server tests: a corpus of the fixture sentences, annotator accounts, and their labelling."""

from __future__ import annotations

from vndiplo.annotations import AnnotatedDoc
from vndiplo.corpus import Document, make_document
from vndiplo.doccano.client import Credentials, Doccano
from vndiplo.doccano.offsets import spans_to_doccano

from conftest import SENTENCES, annotated

ANNOTATOR_PASSWORD = "Annotator-pass-2"


def sentence_corpus(n: int) -> dict[str, Document]:
    """`n` documents cycling through the fixture sentences, each made unique by a closing line."""
    docs = [make_document(f"s{i:04d}", f"{SENTENCES[i % len(SENTENCES)][0]}\nBản tin số {i}.", source="test", path=f"s{i}")[0] for i in range(n)]
    assert all(doc.text.startswith(SENTENCES[i % len(SENTENCES)][0]) for i, doc in enumerate(docs))  # the gold offsets hold
    return {doc.id: doc for doc in docs}


def labelled(doc: Document, annotator: int) -> AnnotatedDoc:
    """What annotator number `annotator` labels in `doc`: the gold spans of its sentence, minus a different quarter for each annotator."""
    gold = annotated(int(doc.id[1:]) % len(SENTENCES))
    spans = [span for j, span in enumerate(gold.spans) if (j + int(doc.id[1:]) + annotator) % 4 != 0]
    return AnnotatedDoc(doc.id, doc.text, spans)


def add_annotators(admin: Credentials, project: dict, names: list[str]) -> list[Credentials]:
    """New accounts, each an Annotator member of the project; their credentials."""
    api = Doccano(admin)
    for name in names:
        api.create_user(name, ANNOTATOR_PASSWORD)
        api.add_member(project["id"], name)
    return [Credentials(admin.url, name, ANNOTATOR_PASSWORD) for name in names]


def label_as(creds: Credentials, project: dict, docs: list[AnnotatedDoc], *, done: bool = True) -> int:
    """Write each document's spans as this user (one request per span), marking it done; the number of spans written."""
    api = Doccano(creds)
    label_ids = {t["text"]: t["id"] for t in api.span_types(project["id"])}
    examples = {ex["meta"]["doc_id"]: ex["id"] for ex in api.examples(project["id"])}
    written = 0
    for doc in docs:
        for span in spans_to_doccano(doc.text, doc.spans):
            api.create_span(project["id"], examples[doc.id], label_ids[span.label], span.start, span.end)
            written += 1
        if done:
            api.confirm(project["id"], examples[doc.id])
    return written
