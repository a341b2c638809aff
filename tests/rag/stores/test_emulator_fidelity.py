"""The emulated OpenSearch (emulated_opensearch.py) against the real one: the same requests to both,
in order, and replies of the same status, the same keys and the same values where the emulation
is exact (error types, results, counts, aggregation buckets). Scores are not compared: the
emulator's BM25 is a term count."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from rag.records import SearchFilters
from rag.stores.opensearch import (
    bulk_actions,
    documents_body,
    evidence_bodies,
    index_body,
    keyword_query,
    knn_query,
    pipeline_body,
    prune_query,
    search_body,
)
from tests.rag.stores.contract import chunk
from tests.rag.stores.emulated_opensearch import Emulated
from tests.rag.stores.fake_opensearch import FakeOpenSearch

pytestmark = pytest.mark.integration

# Values the emulation must give exactly; any other value is compared by its kind only.
EXACT = {"type", "result", "status", "errors", "acknowledged", "count", "deleted", "total", "key", "doc_count", "value"}
# The real hit count of a BM25 query matches the emulator's; "value" inside "total" too.
CHUNKS = [chunk("A/b.pdf", f"Dock door {i} shall be 3.0 m wide", page=i, index=i) for i in (1, 2, 3)]
CHUNKS += [chunk("n.md", "Handover notes", page=None)]
VECTORS = np.eye(4, dtype=np.float32)


def shape(value, key: str = ""):
    """``value`` with every leaf replaced by its kind, except under EXACT keys; a list by its
    length and its first item (replies list alike things)."""
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [len(value), shape(value[0], key)] if value else []
    if key in EXACT:
        return value
    if value is None:
        return None
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def steps(index: str):
    """``(name, call)`` pairs, run in order against each cluster; ``call(client, state)``."""

    def bulk(client, state):
        lines = []
        for action in bulk_actions(index, CHUNKS, VECTORS):
            lines += [{"index": {"_index": index, "_id": action["_id"]}}, action["_source"]]
        return client.bulk(body=lines)

    pit_sort = [{"source": "asc"}, {"id": {"order": "asc", "missing": "_first"}}]

    def pit_search(after):
        def call(client, state):
            body = {"size": 1, "query": {"match_all": {}}, "sort": pit_sort, "_source": False}
            body["pit"] = {"id": state["pit"], "keep_alive": "1m"}
            if after:
                body["search_after"] = after
            return client.search(body=body)

        return call

    def create_pit(client, state):
        reply = client.create_pit(index=index, keep_alive="1m")
        state["pit"] = reply["pit_id"]
        return reply

    ids = [c.id for c in CHUNKS]
    return [
        ("mapping of a missing index", lambda c, s: c.indices.get_mapping(index=index)),
        ("count of a missing index", lambda c, s: c.count(index=index)),
        ("search of a missing index", lambda c, s: c.search(index=index, body={"size": 1})),
        ("msearch of a missing index", lambda c, s: c.msearch(body=[{"index": index}, {"size": 1}])),
        ("refresh of a missing index", lambda c, s: c.indices.refresh(index=index)),
        ("delete_by_query of a missing index", lambda c, s: c.delete_by_query(index=index, body=prune_query("x", []))),
        ("create", lambda c, s: c.indices.create(index=index, body=index_body(4, embedding_model="m"))),
        ("create again", lambda c, s: c.indices.create(index=index, body=index_body(4))),
        ("mapping", lambda c, s: c.indices.get_mapping(index=index)),
        ("record the model", lambda c, s: c.indices.put_mapping(index=index, body={"_meta": {"dimension": 4}})),
        ("bulk", bulk),
        ("count before refresh", lambda c, s: c.count(index=index)),
        ("refresh", lambda c, s: c.indices.refresh(index=index)),
        ("bulk again: updated", bulk),
        ("refresh again", lambda c, s: c.indices.refresh(index=index)),
        ("count", lambda c, s: c.count(index=index)),
        ("documents", lambda c, s: c.search(index=index, body=documents_body())),
        ("documents after the last", lambda c, s: c.search(index=index, body=documents_body({"source": "n.md"}))),
        ("keyword", lambda c, s: c.search(index=index, body=search_body(keyword_query("dock door"), 2))),
        ("k-NN", lambda c, s: c.search(index=index, body=search_body(knn_query([1, 0, 0, 0], 2), 2))),
        (
            "filtered k-NN",
            lambda c, s: c.search(
                index=index, body=search_body(knn_query([1, 0, 0, 0], 5, SearchFilters(folder="A")), 5)
            ),
        ),
        (
            "evidence",
            lambda c, s: c.msearch(
                body=[line for b in evidence_bodies("dock", [1, 0, 0, 0], ids[:2]) for line in ({"index": index}, b)]
            ),
        ),
        (
            "a vector of the wrong length",
            lambda c, s: c.bulk(body=[{"index": {"_index": index, "_id": "x"}}, {"source": "x", "vector": [1.0, 2.0]}]),
        ),
        (
            "prune",
            lambda c, s: c.delete_by_query(index=index, body=prune_query("A/b.pdf", ids[:1]), conflicts="proceed"),
        ),
        ("refresh after pruning", lambda c, s: c.indices.refresh(index=index)),
        ("count after pruning", lambda c, s: c.count(index=index)),
        ("point in time", create_pit),
        ("point-in-time page", pit_search(None)),
        ("point-in-time next page", pit_search(["A/b.pdf", ids[0]])),
        ("close the point in time", lambda c, s: c.delete_pit(body={"pit_id": [s["pit"]]})),
        (
            "bulk delete",
            lambda c, s: c.bulk(
                body=[{"delete": {"_index": index, "_id": ids[0]}}, {"delete": {"_index": index, "_id": "x"}}]
            ),
        ),
        ("search pipeline", lambda c, s: c.search_pipeline.put(id=f"{index}-p", body=pipeline_body(0.4))),
        ("delete", lambda c, s: c.indices.delete(index=index)),
        ("delete again", lambda c, s: c.indices.delete(index=index)),
    ]


def run(client, index: str) -> list[tuple[str, int, object]]:
    from opensearchpy.exceptions import TransportError

    state: dict = {}
    replies = []
    for name, call in steps(index):
        try:
            status, reply = 200, call(client, state)
        except TransportError as e:
            status, reply = e.status_code, e.info
        replies.append((name, status, shape(reply)))
    return replies


@pytest.fixture
def emulated():
    fake = FakeOpenSearch()
    fake.thread.start()
    Emulated(fake, "managed")
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_the_emulator_answers_as_the_real_engine_does(opensearch, emulated):
    from opensearchpy import OpenSearch

    index = f"ragbot-fidelity-{uuid.uuid4().hex[:12]}"
    real = OpenSearch([opensearch.url], http_auth=opensearch.auth, verify_certs=opensearch.verify_certs)
    try:
        expected = run(real, index)
        real.transport.perform_request("DELETE", f"/_search/pipeline/{index}-p")
    finally:
        real.indices.delete(index=index, ignore_unavailable=True)
        real.close()
    fake = OpenSearch([emulated.url])
    got = run(fake, index)
    fake.close()
    for (name, status, reply), (_, fake_status, fake_reply) in zip(expected, got, strict=True):
        assert (name, fake_status, fake_reply) == (name, status, reply)


def test_info_and_plugins_have_the_real_shapes(opensearch, emulated):
    from opensearchpy import OpenSearch

    real = OpenSearch([opensearch.url], http_auth=opensearch.auth, verify_certs=opensearch.verify_certs)
    fake = OpenSearch([emulated.url])
    assert shape(fake.info()) | {"name": "str"} == shape(real.info()) | {"name": "str"}
    knn = [p for p in real.cat.plugins(format="json") if p["component"] == "opensearch-knn"]
    fake_knn = [p for p in fake.cat.plugins(format="json") if p["component"] == "opensearch-knn"]
    assert shape(fake_knn) == shape(knn)
    assert fake_knn[0]["version"].count(".") == knn[0]["version"].count(".") == 3  # 2.19.1.0
    real.close()
    fake.close()
