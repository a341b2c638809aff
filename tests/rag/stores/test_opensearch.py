"""The vector store contract against a real OpenSearch cluster with the k-NN plugin.

Runs when OPENSEARCH_URL is set, e.g. for a local single-node cluster with security on:

    OPENSEARCH_URL=https://localhost:9200 OPENSEARCH_USER=admin OPENSEARCH_PASSWORD=... \\
    OPENSEARCH_VERIFY_CERTS=false python -m pytest -m integration tests/rag/stores/test_opensearch.py

OPENSEARCH_ENGINE picks the k-NN engine (default lucene). Every test gets its own index,
deleted afterwards. The request bodies are tested without a cluster in test_opensearch_bodies.py.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from rag.stores.opensearch import OpenSearchVectorStore
from tests.rag.stores.contract import VectorStoreContract, chunk

pytestmark = pytest.mark.integration

SKIP_REASON = "set OPENSEARCH_URL to run the OpenSearch contract tests"


def make_store(**kwargs) -> OpenSearchVectorStore:
    url = os.environ.get("OPENSEARCH_URL")
    if not url:
        pytest.skip(SKIP_REASON)
    user, password = os.environ.get("OPENSEARCH_USER"), os.environ.get("OPENSEARCH_PASSWORD")
    return OpenSearchVectorStore(
        url,
        f"ragbot-test-{uuid.uuid4().hex[:12]}",
        auth=(user, password) if user else None,
        verify_certs=os.environ.get("OPENSEARCH_VERIFY_CERTS", "true").lower() not in ("0", "false", "no"),
        engine=os.environ.get("OPENSEARCH_ENGINE", "lucene"),
        **kwargs,
    )


def drop(store: OpenSearchVectorStore) -> None:
    from opensearchpy.exceptions import NotFoundError

    try:
        store.client().indices.delete(index=store.index)
    except NotFoundError:
        pass
    store.close()


class TestOpenSearchVectorStore(VectorStoreContract):
    # `client` fuses in Python like the embedded store; `auto` uses the search pipeline
    # wherever the cluster has the neural-search plugin, so both fusions meet the contract.
    @pytest.fixture(params=["client", "auto"])
    def store(self, request):
        store = make_store(hybrid=request.param)
        yield store
        drop(store)


@pytest.fixture
def store():
    store = make_store()
    yield store
    drop(store)


def test_similarity_is_the_cosine(store, embedder):
    """The k-NN score is turned back into the cosine similarity the embedded store reports."""
    texts = ["Dock doors shall be insulated sectional doors.", "Office lighting shall reach 500 lux."]
    chunks = [chunk("a.pdf", t, page=i + 1, index=i) for i, t in enumerate(texts)]
    vectors = embedder.embed_documents(texts)
    store.check_embedding_model(embedder.model_id, embedder.dimension)
    store.write_document("a.pdf", chunks, vectors)
    store.refresh()
    query = embedder.embed_query("dock doors")
    expected = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    results = {r.chunk.text: r.similarity for r in store.search("dock doors", query, k=2, mode="vector")}
    assert [results[t] for t in texts] == pytest.approx(expected.tolist(), abs=1e-3)


def test_rewrites_are_idempotent_and_visible_without_refresh_in_between(store, embedder):
    """Writing the same document twice in a row (no refresh between) leaves one copy."""
    c = chunk("b.pdf", "Floor flatness shall meet FM2.", page=2)
    vectors = embedder.embed_documents([c.text])
    store.write_document("b.pdf", [c], vectors)
    c2 = chunk("b.pdf", "Floor flatness shall meet FM2 in very narrow aisles.", page=2)
    store.write_document("b.pdf", [c, c2], embedder.embed_documents([c.text, c2.text]))
    store.write_document("b.pdf", [c2], embedder.embed_documents([c2.text]))
    store.refresh()
    assert store.count() == 1
    assert store.documents()["b.pdf"].chunks == 1
