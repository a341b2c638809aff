"""OpenSearch Serverless, OpenSearch 3.x and SigV4, against a fake that behaves like the services
(tests/rag/stores/fake_opensearch.py ``Emulated``): the Serverless profile refuses
``_delete_by_query``, ``_refresh`` and custom ids, and shows writes only after a refresh delay;
the 3.x profile refuses nmslib indexes."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest

from rag.errors import StoreError
from rag.records import SearchFilters
from rag.stores.opensearch import OpenSearchVectorStore
from tests.rag.stores.contract import chunk
from tests.rag.stores.emulated_opensearch import NMSLIB_3X, SERVERLESS_ID, Emulated
from tests.rag.stores.fake_opensearch import DELETED, INDEX, SHARDS, FakeOpenSearch, bulk_ok, mapping

DELAY = 1.0  # the simulated refresh interval (10-60 s on the real service)
C1 = chunk("Design/Criteria/lighting.pdf", "Exterior lighting on the yard shall give 20 lux.", page=3)


@pytest.fixture
def fake():
    server = FakeOpenSearch()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


# -- SigV4 ------------------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    for key in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    return monkeypatch


def test_sigv4_signs_the_body_as_sent(fake, aws_env):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    fake.on("POST", "/_bulk", bulk_ok)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    store = OpenSearchVectorStore(fake.url, INDEX, auth="sigv4", region="eu-west-1")
    store.write_document(C1.source, [C1], np.ones((1, 2), dtype=np.float32))
    (bulk,) = fake.find("POST", "/_bulk")
    assert bulk.headers["content-encoding"] == "gzip"
    assert bulk.headers["x-amz-content-sha256"] == hashlib.sha256(bulk.raw).hexdigest()
    store.close()


def test_sigv4_region_comes_from_boto3(fake, aws_env):
    aws_env.setenv("AWS_DEFAULT_REGION", "us-east-2")
    fake.on("GET", f"/{INDEX}/_count", {"count": 0, "_shards": SHARDS})
    fake.on("POST", f"/{INDEX}/_count", {"count": 0, "_shards": SHARDS})
    store = OpenSearchVectorStore(fake.url, INDEX, auth="sigv4")
    store.count()
    assert "/us-east-2/es/aws4_request" in fake.requests[-1].headers["authorization"]
    store.close()


def test_sigv4_without_credentials_or_region_says_what_to_set(aws_env):
    store = OpenSearchVectorStore("https://search.example.com", INDEX, auth="sigv4")
    with pytest.raises(StoreError, match="needs an AWS region"):
        store.count()
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    store = OpenSearchVectorStore("https://search.example.com", INDEX, auth="sigv4", region="eu-west-1")
    with pytest.raises(StoreError, match="no AWS credentials"):
        store.count()


# -- Serverless --------------------------------------------------------------------------------


@pytest.fixture
def serverless(fake, aws_env):
    emulated = Emulated(fake, "serverless", refresh_delay=DELAY)
    store = OpenSearchVectorStore(
        fake.url, INDEX, auth="sigv4", service="aoss", region="eu-west-1", serverless_wait=10, initial_backoff=0.01
    )
    yield store, emulated
    store.close()


def unit(text: str, dimension: int = 8) -> np.ndarray:
    """A deterministic unit vector per text."""
    digest = hashlib.sha256(text.encode()).digest()
    vector = np.frombuffer(digest[: dimension * 4], dtype=np.uint32).astype(np.float64) - 2**31
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def doc(source: str, *texts: str, doc_hash: str = "h1"):
    chunks = [chunk(source, t, page=i + 1, doc_hash=doc_hash, index=i) for i, t in enumerate(texts)]
    return chunks, np.stack([unit(t) for t in texts])


def texts_found(store, query: str = "dock", k: int = 10) -> list[str]:
    return sorted(r.chunk.text for r in store.search(query, unit(query), k=k, mode="hybrid"))


def test_the_serverless_profile_refuses_what_serverless_refuses(serverless, fake):
    store, _ = serverless
    store.check_embedding_model("m", 8)
    client = store.client()
    from opensearchpy.exceptions import NotFoundError

    with pytest.raises(NotFoundError):
        client.delete_by_query(index=INDEX, body={"query": {"match_all": {}}})
    with pytest.raises(NotFoundError):
        client.indices.refresh(index=INDEX)
    answer = client.bulk(body=[{"index": {"_index": INDEX, "_id": "x"}}, {"source": "a.pdf"}])
    assert answer["errors"] and answer["items"][0]["index"]["error"]["reason"] == SERVERLESS_ID
    client.bulk(body=[{"index": {"_index": INDEX}}, {"source": "a.pdf", "text": "dock"}])
    assert client.count(index=INDEX)["count"] == 0, "not visible before the refresh interval"
    time.sleep(DELAY + 0.1)
    assert client.count(index=INDEX)["count"] == 1


def test_writes_show_once_visible_and_never_use_what_serverless_refuses(serverless, fake):
    store, _ = serverless
    chunks, vectors = doc("Design/a.pdf", "Dock doors are 3 m wide.", "Dock levellers take 6 t.")
    assert store.write_document("Design/a.pdf", chunks, vectors) == 2
    assert texts_found(store) == [] and store.documents() == {}, "nothing shows before the refresh interval"
    store.refresh()  # waits until the write is searchable
    assert texts_found(store) == ["Dock doors are 3 m wide.", "Dock levellers take 6 t."]
    assert store.documents()["Design/a.pdf"].model_dump() == {
        "source": "Design/a.pdf",
        "doc_hash": "h1",
        "chunks": 2,
        "pages": 2,
    }
    assert store.count() == 2
    paths = {path for _, path in fake.calls()}
    assert not any(p.endswith(("_delete_by_query", "_refresh")) for p in paths)
    actions = [line for r in fake.find("POST", "/_bulk") for line in r.ndjson()[::2]]
    assert actions and all("_id" not in a.get("index", {"_id": None}) for a in actions if "index" in a)


def test_rewrites_within_the_refresh_window_never_show_side_by_side(serverless, fake):
    store, emulated = serverless
    emulated.refresh_delay = 3.0  # room for two writes and a search on a busy machine
    store.write_document("a.pdf", *doc("a.pdf", "dock v1 first", "dock v1 second", doc_hash="h1"))
    store.refresh()
    store.write_document("a.pdf", *doc("a.pdf", "dock v2 only", doc_hash="h2"))
    store.write_document("a.pdf", *doc("a.pdf", "dock v3 first", "dock v3 second", doc_hash="h3"))
    # Until the new versions are visible, the old one answers, alone.
    assert texts_found(store) == ["dock v1 first", "dock v1 second"]
    assert store.documents()["a.pdf"].doc_hash == "h1"
    store.refresh()
    assert texts_found(store) == ["dock v3 first", "dock v3 second"]
    assert store.documents()["a.pdf"].doc_hash == "h3" and store.count() == 2
    time.sleep(emulated.refresh_delay + 0.1)  # the clean-up's deletes become visible too
    left = store.client().search(index=INDEX, body={"size": 100, "query": {"match_all": {}}})["hits"]["hits"]
    assert sorted(h["_source"]["text"] for h in left) == ["dock v3 first", "dock v3 second"], "old versions are deleted"


def test_a_half_failed_bulk_never_becomes_current(serverless):
    store, emulated = serverless
    store.write_document("a.pdf", *doc("a.pdf", "dock old", doc_hash="h1"))
    store.refresh()
    emulated.refuse = lambda source: (
        {"type": "mapper_parsing_exception", "reason": "boom", "status": 400}
        if "second" in source.get("text", "")
        else None
    )
    with pytest.raises(StoreError, match=r"could not index 1 of 2 chunks of a.pdf .*mapper_parsing_exception"):
        store.write_document("a.pdf", *doc("a.pdf", "dock new first", "dock new second", doc_hash="h2"))
    time.sleep(DELAY + 0.1)
    # The half that was indexed is visible to OpenSearch but not to ragbot: the old version stays.
    assert texts_found(store) == ["dock old"]
    assert store.documents()["a.pdf"].doc_hash == "h1", "incremental ingest sees the document as not written"


def test_a_chunk_indexed_twice_shows_once(serverless):
    store, _ = serverless
    chunks, vectors = doc("a.pdf", "dock doors", "dock gates")
    store.write_document("a.pdf", chunks, vectors)
    store.refresh()
    first = store.client().search(index=INDEX, body={"size": 1, "query": {"term": {"id": chunks[0].id}}})["hits"][
        "hits"
    ][0]
    # What a _bulk resent after a timeout would leave: the same chunk again, under another _id.
    store.client().bulk(body=[{"index": {"_index": INDEX}}, first["_source"]])
    time.sleep(DELAY + 0.1)
    assert texts_found(store) == ["dock doors", "dock gates"]
    assert store.count() == 2


def test_deleting_a_document_just_written_removes_it(serverless):
    store, _ = serverless
    store.write_document("a.pdf", *doc("a.pdf", "dock a"))
    store.write_document("b.pdf", *doc("b.pdf", "dock b"))
    assert store.delete_documents(["a.pdf", "never.pdf"]) == 1  # a.pdf is not visible yet, but written
    store.refresh()
    assert sorted(store.documents()) == ["b.pdf"] and texts_found(store) == ["dock b"]
    assert store.delete_documents(["b.pdf"]) == 1
    store.refresh()
    assert store.documents() == {} and texts_found(store) == [] and store.count() == 0
    assert store.search("dock", unit("dock"), mode="keyword", filters=SearchFilters(source="b.pdf")) == []


def test_serverless_has_no_search_pipeline_mode():
    with pytest.raises(ValueError, match="search pipelines"):
        OpenSearchVectorStore("https://x.aoss.amazonaws.com", service="aoss", hybrid="pipeline")


def test_detected_on_serverless(serverless):
    store, _ = serverless
    assert store.detected() == {
        "service": "aoss",
        "url": store.url,
        "index": INDEX,
        "distribution": "opensearch",
        "version": None,
        "plugins": [],
        "engine": "faiss",
        "space_type": "cosinesimil",
        "hybrid": "client",
        "hybrid_mode": "client",
        "writes": "versions",
    }


# -- OpenSearch 3.x, Faiss before 2.19 ---------------------------------------------------------


def test_nmslib_is_refused_up_front_on_opensearch_3(fake):
    Emulated(fake, "v3")
    store = OpenSearchVectorStore(fake.url, INDEX, engine="nmslib")
    with pytest.raises(
        StoreError,
        match=r"OpenSearch 3.1.0 .* cannot create nmslib k-NN indexes.*RAGBOT_OPENSEARCH_ENGINE=lucene or faiss",
    ):
        store.write_document("a.pdf", *doc("a.pdf", "dock"))
    assert not fake.find("PUT", f"/{INDEX}"), "no request the cluster would refuse"
    from opensearchpy.exceptions import RequestError

    with pytest.raises(RequestError, match="nmslib engine is deprecated"):  # what the 3.x profile does
        store.client().indices.create(
            index="raw",
            body={
                "mappings": {
                    "properties": {
                        "vector": {"type": "knn_vector", "dimension": 8, "method": {"name": "hnsw", "engine": "nmslib"}}
                    }
                }
            },
        )
    assert NMSLIB_3X.startswith("nmslib engine")
    lucene = OpenSearchVectorStore(fake.url, INDEX, engine="lucene", hybrid="auto")
    lucene.write_document("a.pdf", *doc("a.pdf", "dock"))
    lucene.refresh()
    assert lucene.count() == 1
    assert lucene.detected()["version"] == "3.1.0" and lucene.detected()["hybrid_mode"] == "pipeline"


def test_faiss_cosine_before_2_19_is_refused_and_innerproduct_reads_as_cosine(fake):
    Emulated(fake, "managed", version="2.17.0")
    with pytest.raises(StoreError, match="no cosinesimil for Faiss.*RAGBOT_OPENSEARCH_SPACE_TYPE=innerproduct"):
        OpenSearchVectorStore(fake.url, INDEX, engine="faiss").write_document("a.pdf", *doc("a.pdf", "dock"))
    store = OpenSearchVectorStore(fake.url, INDEX, engine="faiss", space_type="innerproduct")
    chunks, vectors = doc("a.pdf", "dock doors", "yard lighting")
    store.write_document("a.pdf", chunks, vectors)
    store.refresh()
    query = unit("dock")
    results = {r.chunk.text: r.similarity for r in store.search("dock", query, k=2, mode="vector")}
    assert [results[c.text] for c in chunks] == pytest.approx((vectors @ query).tolist(), abs=1e-6)


def test_space_type_is_a_documented_choice():
    with pytest.raises(ValueError, match="space_type must be one of cosinesimil, innerproduct, l2"):
        OpenSearchVectorStore("http://localhost:9200", space_type="hamming")


def test_a_word_only_in_the_context_finds_the_chunk_by_keyword(fake):
    """The keyword query reads context and text together (cross_fields), as the embedded store's
    one BM25 column does; the emulation scores term counts over both."""
    Emulated(fake, "managed")
    store = OpenSearchVectorStore(fake.url, INDEX)
    chunks, vectors = doc("Design/yard.pdf", "Lamps are mounted at 12 m.", "Gates open inward.")
    chunks[0] = chunks[0].model_copy(update={"context": "Floodlighting Handbook · Design"})
    store.write_document("Design/yard.pdf", chunks, vectors)
    store.refresh()
    (hit,) = store.search("floodlighting handbook", None, k=1, mode="keyword")
    assert (hit.chunk.text, hit.chunk.context) == (chunks[0].text, chunks[0].context)
    assert [r.chunk.text for r in store.search("gates", None, k=5, mode="keyword")] == [chunks[1].text]
