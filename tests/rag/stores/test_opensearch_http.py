"""The OpenSearch store driven through the real opensearch-py request path against a small HTTP
server on 127.0.0.1 that records requests and answers in OpenSearch's response shapes
(tests/rag/stores/fake_opensearch.py). Serverless and SigV4: test_opensearch_serverless.py."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from bench.servers import free_port
from rag.errors import EmbeddingModelMismatch, StoreError
from rag.records import SearchFilters
from rag.stores.opensearch import (
    OpenSearchVectorStore,
    evidence_bodies,
    hybrid_query,
    index_body,
    keyword_query,
    knn_query,
    pipeline_body,
    prune_query,
)
from tests.rag.stores.contract import chunk
from tests.rag.stores.fake_opensearch import (
    DELETED,
    FORBIDDEN,
    INDEX,
    MISSING,
    SHARDS,
    FakeOpenSearch,
    bulk_item_error,
    bulk_ok,
    composite_page,
    hit,
    hits_response,
    info,
    mapping,
    msearch_response,
    plugins,
)


@pytest.fixture
def fake():
    server = FakeOpenSearch()
    server.thread.start()
    server.on("GET", "/", info())
    server.on("GET", "/_cat/plugins", plugins("opensearch-knn"))
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def store(fake):
    # auto: most tests here follow what the store detects of the cluster.
    s = OpenSearchVectorStore(fake.url, INDEX, initial_backoff=0.01, timeout=5, hybrid="auto")
    yield s
    s.close()


C1 = chunk("Design/Criteria/lighting.pdf", "Exterior lighting on the yard shall give 20 lux.", page=3)
C2 = chunk("Design/Criteria/lighting.pdf", "Emergency lighting shall operate for three hours.", page=4, index=1)
C3 = chunk("notes.md", "Handover notes.", page=None)


def test_first_write_creates_the_index_and_bulk_indexes(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", MISSING, status=404)
    fake.on("PUT", f"/{INDEX}", {"acknowledged": True, "shards_acknowledged": True, "index": INDEX})
    fake.on("POST", "/_bulk", bulk_ok)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    vectors = np.array([[0.5, 0.25, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]], dtype=np.float32)

    assert store.write_document(C1.source, [C1, C2], vectors) == 2

    assert fake.calls() == [
        ("GET", f"/{INDEX}/_mapping"),
        ("PUT", f"/{INDEX}"),
        ("POST", "/_bulk"),
        ("POST", f"/{INDEX}/_delete_by_query"),
    ]
    assert fake.requests[1].json() == index_body(4, engine="lucene")
    lines = fake.requests[2].ndjson()
    assert lines[0] == {"index": {"_index": INDEX, "_id": C1.id}}
    assert lines[1] == C1.model_dump() | {"vector": [0.5, 0.25, 0.0, 1.0]}
    assert lines[2] == {"index": {"_index": INDEX, "_id": C2.id}} and len(lines) == 4
    assert fake.requests[2].headers["content-encoding"] == "gzip"  # the server got it compressed
    prune = fake.requests[3]
    assert prune.json() == prune_query(C1.source, [C1.id, C2.id]) and prune.query["conflicts"] == ["proceed"]


def test_rewriting_an_unrefreshed_document_refreshes_first(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    fake.on("POST", "/_bulk", bulk_ok)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    fake.on("POST", f"/{INDEX}/_refresh", {"_shards": {"total": 2, "successful": 1, "failed": 0}})
    vectors = np.ones((1, 2), dtype=np.float32)
    store.write_document("notes.md", [C3], vectors)
    store.write_document("other.md", [chunk("other.md", "x", page=None)], vectors)
    assert not fake.find("POST", f"/{INDEX}/_refresh")
    store.write_document("notes.md", [C3], vectors)
    assert fake.calls()[-3:] == [
        ("POST", f"/{INDEX}/_refresh"),
        ("POST", "/_bulk"),
        ("POST", f"/{INDEX}/_delete_by_query"),
    ]


def test_vectors_of_another_size_are_refused_before_writing(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 384}))
    with pytest.raises(StoreError, match="384-dimensional"):
        store.write_document("a.pdf", [C1], np.ones((1, 8), dtype=np.float32))
    assert not fake.find("POST", "/_bulk")


def test_bulk_retries_documents_rejected_with_429(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    rejected = bulk_item_error(429, "es_rejected_execution_exception", "rejected execution of coordinating operation")
    answers = [rejected, bulk_ok]
    fake.on("POST", "/_bulk", lambda request: answers.pop(0)(request))
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)

    assert store.write_document(C1.source, [C1, C2], np.ones((2, 2), dtype=np.float32)) == 2

    bulks = fake.find("POST", "/_bulk")
    assert len(bulks) == 2 and bulks[0].body == bulks[1].body


def test_a_failed_bulk_takes_the_document_out_and_says_why(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    fake.on(
        "POST",
        "/_bulk",
        bulk_item_error(400, "mapper_parsing_exception", "failed to parse field [vector] of type [knn_vector]"),
    )
    fake.on("POST", f"/{INDEX}/_refresh", {"_shards": {"total": 2, "successful": 1, "failed": 0}})
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)

    with pytest.raises(StoreError, match=r"could not index 2 of 2 chunks .*HTTP 400.*mapper_parsing_exception"):
        store.write_document(C1.source, [C1, C2], np.ones((2, 2), dtype=np.float32))

    (cleanup,) = fake.find("POST", f"/{INDEX}/_delete_by_query")
    assert cleanup.json() == prune_query(C1.source, [])


def test_documents_pages_through_the_composite_aggregation(fake, store):
    fake.sequence(
        "POST",
        f"/{INDEX}/_search",
        (200, composite_page([("a.pdf", 3, "h1", 2), ("b.pdf", 1, "h9", 1)], "b.pdf")),
        (200, composite_page([("notes.md", 1, "h2", 0)], "notes.md")),
        (200, composite_page([], None)),
    )
    docs = store.documents()
    assert sorted(docs) == ["a.pdf", "b.pdf", "notes.md"]
    assert docs["a.pdf"].chunks == 3 and docs["a.pdf"].pages == 2 and docs["a.pdf"].doc_hash == "h1"
    bodies = [r.json() for r in fake.find("POST", f"/{INDEX}/_search")]
    assert [b["aggs"]["docs"]["composite"].get("after") for b in bodies] == [
        None,
        {"source": "b.pdf"},
        {"source": "notes.md"},
    ]


def test_a_missing_index_reads_as_an_empty_store(fake, store):
    for method, path in [
        ("GET", f"/{INDEX}/_count"),
        ("POST", f"/{INDEX}/_count"),
        ("POST", f"/{INDEX}/_search"),
        ("GET", f"/{INDEX}/_mapping"),
        ("POST", f"/{INDEX}/_refresh"),
    ]:
        fake.on(method, path, MISSING, status=404)
    fake.on("HEAD", f"/{INDEX}", None, status=404)
    assert store.count() == 0
    assert store.documents() == {}
    assert store.search("lighting", None, mode="keyword") == []
    assert store.search("lighting", np.ones(4), mode="vector") == []
    assert store.embedding_model() is None
    assert store.delete_documents(["a.pdf"]) == 0
    store.refresh()


def test_count(fake, store):
    fake.on("GET", f"/{INDEX}/_count", {"count": 27, "_shards": SHARDS})
    fake.on("POST", f"/{INDEX}/_count", {"count": 27, "_shards": SHARDS})
    assert store.count() == 27


def test_delete_documents_counts_only_indexed_ones(fake, store):
    fake.on("HEAD", f"/{INDEX}", None)
    present = hits_response() | {
        "aggregations": {
            "present": {
                "doc_count_error_upper_bound": 0,
                "sum_other_doc_count": 0,
                "buckets": [{"key": "notes.md", "doc_count": 1}],
            }
        }
    }
    fake.on("POST", f"/{INDEX}/_search", present)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    assert store.delete_documents(["notes.md", "never-indexed.pdf"]) == 1
    lookup = fake.find("POST", f"/{INDEX}/_search")[0].json()
    assert lookup["query"] == {"terms": {"source": ["notes.md", "never-indexed.pdf"]}}
    (delete,) = fake.find("POST", f"/{INDEX}/_delete_by_query")
    assert delete.json() == {"query": {"terms": {"source": ["notes.md"]}}}


def test_embedding_model_binding(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "all-MiniLM-L6-v2", "dimension": 384}))
    store.check_embedding_model("all-MiniLM-L6-v2", 384)
    with pytest.raises(
        EmbeddingModelMismatch,
        match=r"built with embedding model 'all-MiniLM-L6-v2' \(384 dimensions\) but the configured model is 'another-model'.*RAGBOT_EMBEDDING_MODEL=all-MiniLM-L6-v2",
    ):
        store.check_embedding_model("another-model", 384)
    with pytest.raises(EmbeddingModelMismatch):
        store.check_embedding_model("all-MiniLM-L6-v2", 768)


def test_check_embedding_model_creates_the_index_with_the_model(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", MISSING, status=404)
    fake.on("PUT", f"/{INDEX}", {"acknowledged": True, "shards_acknowledged": True, "index": INDEX})
    store.check_embedding_model("all-MiniLM-L6-v2", 384)
    assert fake.find("PUT", f"/{INDEX}")[0].json()["mappings"]["_meta"]["embedding_model"] == "all-MiniLM-L6-v2"


def test_check_embedding_model_records_a_model_on_an_unbound_index(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"dimension": 384}))
    fake.on("PUT", f"/{INDEX}/_mapping", {"acknowledged": True})
    store.check_embedding_model("all-MiniLM-L6-v2", 384)
    assert fake.find("PUT", f"/{INDEX}/_mapping")[0].json() == {
        "_meta": {"dimension": 384, "embedding_model": "all-MiniLM-L6-v2"}
    }


def test_vector_search_reports_cosine_similarity(fake, store):
    fake.on("POST", f"/{INDEX}/_search", hits_response(hit(C1, 0.9), hit(C2, 0.55)))
    results = store.search(
        "yard lighting", np.array([0.5, 0.5]), k=2, mode="vector", filters=SearchFilters(folder="Design")
    )
    assert [r.chunk for r in results] == [C1, C2]
    assert [r.similarity for r in results] == pytest.approx([0.8, 0.1]) and results[0].score == pytest.approx(0.8)
    assert results[0].keyword_score is None
    body = fake.requests[-1].json()
    assert body == {
        "size": 2,
        "_source": {"excludes": ["vector"]},
        "query": knn_query([0.5, 0.5], 200, SearchFilters(folder="Design")),  # k: ef_search
    }


def test_keyword_search_reports_bm25(fake, store):
    fake.on("POST", f"/{INDEX}/_search", hits_response(hit(C3, 3.25)))
    (result,) = store.search("handover 21 01 13", None, k=1, mode="keyword")
    assert result.chunk == C3 and result.chunk.page is None
    assert result.keyword_score == 3.25 and result.score == 3.25 and result.similarity is None
    assert fake.requests[-1].json()["query"] == keyword_query("handover 21 01 13")


def test_hybrid_without_neural_search_fuses_scores_as_the_embedded_store(fake, store):
    from rag.stores.fusion import fuse

    # The vector side finds C1 and C2; BM25 finds C3 and C1. C3 gets its k-NN score from a
    # second search restricted to it, so no candidate lacks a similarity.
    fake.sequence(
        "POST",
        "/_msearch",
        (200, msearch_response(hits_response(hit(C1, 0.9), hit(C2, 0.7)), hits_response(hit(C3, 4.0), hit(C1, 2.0)))),
        (200, msearch_response(hits_response({"_index": INDEX, "_id": C3.id, "_score": 0.85}))),
        (200, msearch_response(hits_response(), hits_response())),
    )
    filters = SearchFilters(source=C1.source)
    results = store.search("yard lighting", np.array([0.5, 0.5]), k=3, filters=filters)

    expected = fuse("yard lighting", [0.8, 0.4, 0.7], [2.0, None, 4.0])  # C1, C2, C3 (cosine = 2 * score - 1)
    order = sorted(zip([C1.id, C2.id, C3.id], expected), key=lambda t: -t[1])
    assert [r.chunk.id for r in results] == [doc_id for doc_id, _ in order]
    assert [r.score for r in results] == pytest.approx([score for _, score in order])
    by_id = {r.chunk.id: r for r in results}
    assert by_id[C3.id].similarity == pytest.approx(0.7) and by_id[C3.id].keyword_score == 4.0
    assert by_id[C1.id].similarity == pytest.approx(0.8) and by_id[C1.id].keyword_score == 2.0
    assert by_id[C2.id].similarity == pytest.approx(0.4) and by_id[C2.id].keyword_score is None
    first, second = fake.find("POST", "/_msearch")[:2]
    assert first.ndjson() == [
        {"index": INDEX},
        {"size": 50, "_source": {"excludes": ["vector"]}, "query": knn_query([0.5, 0.5], 200, filters)},
        {"index": INDEX},
        {"size": 50, "_source": {"excludes": ["vector"]}, "query": keyword_query("yard lighting", filters)},
    ]
    assert second.ndjson() == [{"index": INDEX}, evidence_bodies("yard lighting", [0.5, 0.5], [C3.id])[0]]
    assert not fake.find("PUT", "/_search/pipeline/ragbot-hybrid")
    store.search("again", np.array([0.5, 0.5]))
    assert len(fake.find("GET", "/")) == 1  # the cluster is asked once


@pytest.mark.parametrize(
    "second",
    [
        (200, msearch_response(hits_response())),  # k-NN did not find it
        (400, {"error": {"type": "illegal_argument_exception", "reason": "filter is not supported"}, "status": 400}),
    ],
    ids=["not-found", "refused"],
)
def test_a_keyword_hit_that_knn_does_not_score_counts_as_the_least_similar(fake, store, second):
    from rag.stores.fusion import fuse

    fake.sequence(
        "POST",
        "/_msearch",
        (200, msearch_response(hits_response(hit(C1, 0.9), hit(C2, 0.7)), hits_response(hit(C3, 4.0)))),
        second,
    )
    results = store.search("handover", np.array([0.5, 0.5]), k=3)
    expected = fuse("handover", [0.8, 0.4, 0.4], [None, None, 4.0])  # C3 gets the lowest similarity
    order = sorted(zip([C1.id, C2.id, C3.id], expected), key=lambda t: -t[1])
    assert [(r.chunk.id, r.score) for r in results] == [(c, pytest.approx(s)) for c, s in order]
    c3 = next(r for r in results if r.chunk.id == C3.id)
    assert c3.similarity is None and c3.keyword_score == 4.0


def test_on_nmslib_keyword_hits_are_not_scored_by_a_second_search(fake):
    fake.on(
        "POST",
        "/_msearch",
        msearch_response(hits_response(hit(C1, 1 / (1 + 0.2))), hits_response(hit(C3, 4.0), hit(C1, 2.0))),
    )
    store = OpenSearchVectorStore(fake.url, INDEX, engine="nmslib")
    results = store.search("handover", np.array([0.5, 0.5]), k=2)
    assert {r.chunk.id for r in results} == {C1.id, C3.id}
    assert len(fake.find("POST", "/_msearch")) == 1  # nmslib filters after its search: it would find none
    store.close()


def test_one_chunk_held_under_two_ids_is_one_result(fake, store):
    # On Serverless a retried bulk write can store the same chunk under two _ids.
    copy = hit(C1, 3.0) | {"_id": "another-id"}
    fake.on("POST", "/_msearch", msearch_response(hits_response(hit(C1, 0.9), hit(C2, 0.7)), hits_response(copy)))
    results = store.search("yard lighting", np.array([0.5, 0.5]), k=3)
    assert [r.chunk.id for r in results].count(C1.id) == 1
    assert next(r for r in results if r.chunk.id == C1.id).keyword_score == 3.0
    assert len(fake.find("POST", "/_msearch")) == 1  # every keyword hit already had a similarity


def test_hybrid_with_neural_search_uses_the_pipeline(fake, store):
    fake.on("GET", "/_cat/plugins", plugins("opensearch-knn", "opensearch-neural-search"))
    fake.on("PUT", "/_search/pipeline/ragbot-hybrid", {"acknowledged": True})
    fake.on("POST", f"/{INDEX}/_search", hits_response(hit(C1, 0.75), hit(C3, 0.5), hit(C2, 0.1)))
    fake.on(
        "POST",
        "/_msearch",
        msearch_response(
            hits_response(
                {"_index": INDEX, "_id": C1.id, "_score": 0.9}, {"_index": INDEX, "_id": C3.id, "_score": 0.6}
            ),
            hits_response({"_index": INDEX, "_id": C1.id, "_score": 2.5}),
        ),
    )
    results = store.search("HEA06 lighting", np.array([0.5, 0.5]), k=2)

    assert fake.find("PUT", "/_search/pipeline/ragbot-hybrid")[0].json() == pipeline_body(0.5)
    search = fake.find("POST", f"/{INDEX}/_search")[0]
    assert search.query["search_pipeline"] == ["ragbot-hybrid"]
    assert search.json() == {
        "size": 50,
        "_source": {"excludes": ["vector"]},
        "query": hybrid_query("HEA06 lighting", [0.5, 0.5], 200),  # the k-NN side explores ef_search
    }
    assert fake.find("POST", "/_msearch")[0].ndjson()[1::2] == evidence_bodies(
        "HEA06 lighting", [0.5, 0.5], [C1.id, C3.id]
    )
    assert [r.chunk.id for r in results] == [C1.id, C3.id]
    assert [r.score for r in results] == [0.75, 0.5]
    assert results[0].similarity == pytest.approx(0.8) and results[0].keyword_score == 2.5
    assert results[1].similarity == pytest.approx(0.2) and results[1].keyword_score is None


def test_hybrid_falls_back_to_the_client_when_the_pipeline_is_refused(fake, store):
    fake.on("GET", "/_cat/plugins", plugins("opensearch-knn", "opensearch-neural-search"))
    fake.on("PUT", "/_search/pipeline/ragbot-hybrid", FORBIDDEN, status=403)
    fake.on("POST", "/_msearch", msearch_response(hits_response(hit(C1, 0.9)), hits_response()))
    (result,) = store.search("lighting", np.array([0.5, 0.5]), k=3)
    assert result.chunk == C1 and store._searcher.hybrid_mode == "client"


def test_by_default_hybrid_fuses_in_the_client_even_where_the_cluster_has_search_pipelines(fake):
    fake.on("GET", "/_cat/plugins", plugins("opensearch-knn", "opensearch-neural-search"))
    fake.on("POST", "/_msearch", msearch_response(hits_response(hit(C1, 0.9)), hits_response()))
    store = OpenSearchVectorStore(fake.url, INDEX, timeout=5)
    (result,) = store.search("lighting", np.array([0.5, 0.5]), k=3)
    assert result.chunk == C1 and store._searcher.hybrid_mode == "client"
    assert not fake.find("PUT", "/_search/pipeline/ragbot-hybrid") and not fake.find("GET", "/_cat/plugins")
    store.close()


def test_hybrid_on_old_clusters_uses_the_client(fake, store):
    fake.on("GET", "/", info("2.9.0"))
    fake.on("GET", "/_cat/plugins", plugins("opensearch-knn", "opensearch-neural-search"))
    fake.on("POST", "/_msearch", msearch_response(hits_response(), hits_response()))
    assert store.search("lighting", np.array([0.5, 0.5])) == []
    assert not fake.find("PUT", "/_search/pipeline/ragbot-hybrid")


def test_msearch_errors_for_a_missing_index_read_as_empty(fake, store):
    error = {"error": MISSING["error"], "status": 404}
    fake.on("POST", "/_msearch", {"took": 1, "responses": [error, error]})
    assert store.search("lighting", np.array([0.5, 0.5])) == []


def test_msearch_errors_are_store_errors(fake, store):
    error = {
        "error": {
            "root_cause": [{"type": "illegal_argument_exception", "reason": "zero vector is not supported"}],
            "type": "search_phase_execution_exception",
            "reason": "all shards failed",
        },
        "status": 400,
    }
    fake.on("POST", "/_msearch", {"took": 1, "responses": [error, error]})
    with pytest.raises(StoreError, match="zero vector is not supported"):
        store.search("lighting", np.zeros(2))


def test_nmslib_similarity_follows_the_cluster_version(fake):
    fake.on("GET", "/", info("2.17.0"))
    fake.on("POST", f"/{INDEX}/_search", hits_response(hit(C1, 1 / (1 + 0.2))))  # d = 1 - cos = 0.2
    store = OpenSearchVectorStore(fake.url, INDEX, engine="nmslib")
    (result,) = store.search("x", np.ones(2), k=1, mode="vector")
    assert result.similarity == pytest.approx(0.8)
    store.close()


# -- errors -----------------------------------------------------------------------------------


def test_connection_refused_names_the_url_and_the_setting():
    port = free_port()
    store = OpenSearchVectorStore(f"http://admin:s3cret@127.0.0.1:{port}", INDEX, timeout=2, hybrid="auto")
    with pytest.raises(
        StoreError, match=rf"Could not reach OpenSearch at http://127.0.0.1:{port} .*OPENSEARCH_URL"
    ) as e:
        store.count()
    assert "s3cret" not in str(e.value)
    with pytest.raises(StoreError, match="Could not reach"):
        store.search("x", np.ones(2))  # auto mode does not settle on a fusion while the cluster is down
    assert store._searcher.hybrid_mode is None


def test_401_says_to_check_the_credentials(fake):
    fake.on("GET", f"/{INDEX}/_count", "Unauthorized", status=401)
    fake.on("POST", f"/{INDEX}/_count", "Unauthorized", status=401)
    store = OpenSearchVectorStore(fake.url, INDEX, auth=("ragbot", "wrong"))
    with pytest.raises(StoreError, match=r"rejected the credentials \(HTTP 401\).*user name and password"):
        store.count()
    assert fake.requests[-1].headers["authorization"] == "Basic " + base64.b64encode(b"ragbot:wrong").decode()
    store.close()


def test_403_names_the_missing_permission(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    fake.on("POST", "/_bulk", FORBIDDEN, status=403)
    with pytest.raises(StoreError, match=r"HTTP 403.*indices:data/write/bulk"):
        store.write_document(C1.source, [C1], np.ones((1, 2), dtype=np.float32))


def test_other_errors_carry_the_reason(fake, store):
    fake.on(
        "POST",
        f"/{INDEX}/_search",
        {
            "error": {
                "root_cause": [{"type": "query_shard_exception", "reason": "failed to create query"}],
                "type": "search_phase_execution_exception",
                "reason": "all shards failed",
            },
            "status": 400,
        },
        status=400,
    )
    with pytest.raises(StoreError, match=r"HTTP 400.*query_shard_exception: failed to create query") as e:
        store.search("x", None, mode="keyword")
    assert e.value.__cause__ is not None
