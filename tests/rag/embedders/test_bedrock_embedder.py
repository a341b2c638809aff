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
    with pytest.raises(ValueError, match="model_id must be a Titan or Cohere"):
        BedrockEmbedder("meta.llama3-8b-instruct-v1:0")
    with pytest.raises(ValueError, match=r"dimension must be one of \(1024,\) for cohere.embed-english-v3"):
        BedrockEmbedder("cohere.embed-english-v3", dimension=512)


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
    server.reply(
        aws_error(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
    )
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


# -- Cohere Embed ------------------------------------------------------------------------------


def cohere(request: Recorded) -> Reply:
    """Cohere Embed's reply on Bedrock (embeddings_by_type when embedding_types is sent), with
    vectors that depend on the words and on input_type, as the real model's do."""
    body = request.json
    if len(body["texts"]) > 96 or any(len(t) > 2048 for t in body["texts"]):
        return aws_error(400, "ValidationException", "Malformed input request: expected maxLength: 2048")
    dimension = body.get("output_dimension", 1024)
    vectors = []
    for text in body["texts"]:
        vector = np.zeros(dimension)
        for word in [*text.lower().split(), f"<{body['input_type']}>"]:
            vector[int(hashlib.md5(word.strip(".,?").encode()).hexdigest(), 16) % dimension] += 1.0
        vectors.append(vector.tolist())
    embeddings = {"float": vectors} if body.get("embedding_types") else vectors
    kind = "embeddings_by_type" if body.get("embedding_types") else "embeddings_floats"
    return Reply.json({"id": "e1", "embeddings": embeddings, "response_type": kind, "texts": body["texts"]})


def test_cohere_documents_and_queries_are_embedded_as_what_they_are(server, aws_env):
    server.respond = cohere
    e = BedrockEmbedder("cohere.embed-english-v3", dimension=1024, endpoint_url=server.url, concurrency=2)
    texts = [f"passage {i} about dock doors" for i in range(100)]
    out = e.embed_documents(texts)
    assert out.shape == (100, 1024) and np.allclose(np.linalg.norm(out, axis=1), 1.0)
    sizes = sorted(len(r.json["texts"]) for r in server.requests)
    assert sizes == [4, 96], "96 texts per call at most"
    assert {r.json["input_type"] for r in server.requests} == {"search_document"}
    assert all(r.json["embedding_types"] == ["float"] and "output_dimension" not in r.json for r in server.requests)
    assert server.requests[0].path == "/model/cohere.embed-english-v3/invoke"
    first = next(r for r in server.requests if r.json["texts"][0] == texts[0])
    assert first.json["texts"] == texts[:96], "order is kept across concurrent batches"
    query = e.embed_query(texts[5])
    assert server.requests[-1].json["input_type"] == "search_query"
    assert not np.allclose(query, out[5]), "a query is embedded differently from the same text as a passage"
    assert float(query @ out[5]) > float(query @ out[50])


def test_cohere_v4_sends_the_output_dimension_and_long_texts_are_cut(server, aws_env):
    server.respond = cohere
    e = BedrockEmbedder("us.cohere.embed-v4:0", dimension=256, endpoint_url=server.url)
    out = e.embed_documents(["x" * 5000, "short"])
    assert out.shape == (2, 256)
    body = server.requests[0].json
    assert body["output_dimension"] == 256 and len(body["texts"][0]) == 2048 and body["truncate"] == "END"
