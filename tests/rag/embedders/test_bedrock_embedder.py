"""BedrockEmbedder (Titan Text Embeddings) against a local server speaking the Bedrock Runtime protocol."""

import hashlib

import numpy as np
import pytest

from rag.embedders.bedrock import BedrockEmbedder
from rag.errors import RagError
from rag.ingest.ingestor import Ingestor
from rag.stores.embedded import LanceDBVectorStore
from tests.docs import make_pdf
from tests.rag.generators.conftest import REGION
from tests.rag.generators.servers import Recorded, Reply, aws_error

TITAN = "amazon.titan-embed-text-v2:0"


def titan(request: Recorded) -> Reply:
    """Titan's reply shape, with a vector that depends on the words of the text (so search works)."""
    body = request.json
    vector = np.zeros(body.get("dimensions", 1536))
    for word in body["inputText"].lower().split():
        vector[int(hashlib.md5(word.strip(".,?").encode()).hexdigest(), 16) % len(vector)] += 1.0
    if body.get("normalize"):
        vector /= np.linalg.norm(vector) or 1.0
    return Reply.json({"embedding": vector.tolist(), "inputTextTokenCount": len(body["inputText"].split())})


@pytest.fixture
def embedder(server, aws_env):
    server.respond = titan
    return BedrockEmbedder(TITAN, dimension=256, endpoint_url=server.url, concurrency=3)


def test_init_is_lazy_and_checks_dimension():
    assert not BedrockEmbedder()._aws.made and BedrockEmbedder().dimension == 1024
    with pytest.raises(ValueError, match="dimension must be one of"):
        BedrockEmbedder(dimension=768)
    with pytest.raises(ValueError, match="model_id"):
        BedrockEmbedder("cohere.embed-english-v3")


def test_one_call_per_text_in_order(embedder, server):
    texts = [f"text number {i}" for i in range(7)]
    out = embedder.embed_documents(texts)
    assert out.shape == (7, 256) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert sorted(r.json["inputText"] for r in server.requests) == sorted(texts)
    assert all(r.json["dimensions"] == 256 and r.json["normalize"] is True for r in server.requests)
    assert server.requests[0].path == f"/model/{TITAN}/invoke"
    # Order is kept although the calls ran concurrently.
    for i, text in enumerate(texts):
        assert np.allclose(out[i], embedder.embed_query(text))


def test_v1_takes_only_the_text(server, aws_env):
    server.respond = titan
    e = BedrockEmbedder("amazon.titan-embed-text-v1", dimension=1536, endpoint_url=server.url)
    assert e.embed_query("hello").shape == (1536,)
    assert server.requests[0].json == {"inputText": "hello"}


def test_access_denied(embedder, server):
    server.reply(aws_error(403, "AccessDeniedException", "You don't have access to the model with the specified model ID."))
    with pytest.raises(RagError, match=f"enable model access for {TITAN} in {REGION}"):
        embedder.embed_query("x")


def test_throttling_after_retries(server, aws_env):
    e = BedrockEmbedder(TITAN, dimension=256, endpoint_url=server.url, max_attempts=2, concurrency=1)
    server.reply(*[aws_error(429, "ThrottlingException", "Too many requests")] * 2)
    with pytest.raises(RagError, match="throttling requests.*after 2 attempts"):
        e.embed_documents(["a"])
    assert len(server.requests) == 2


def test_ingest_and_search_with_the_bedrock_embedder(embedder, tmp_path):
    root = tmp_path / "docs"
    make_pdf(root / "site.pdf", ["Roof drainage details.", "The site provides 412 car parking spaces."])
    store = LanceDBVectorStore(tmp_path / "index")
    report = Ingestor(store, embedder).ingest([root])
    assert report.failed == [] and report.chunks == 2
    hits = store.search("car parking spaces", embedder.embed_query("car parking spaces"), k=1, mode="vector")
    assert hits and hits[0].chunk.page == 2
