"""What every embedder promises the index (``rag.embedders.base.Embedder``): unit-length float32
rows of its declared dimension, one per text and in order, the same vector for the same text
whether embedded alone or in a batch, nothing sent for nothing, and failures as RagError with the service's message.

A new embedder is done when it passes this suite: add a case below. The remote ones talk HTTP to
a local server answering in the service's own format with vectors that depend on the words.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from rag.errors import RagError
from tests.rag.generators.servers import Recorded, Reply, aws_error

TEXTS = [
    "The site provides 412 car parking spaces.",
    "Dock doors are 3.0 m wide.",
    "Lighting: 200 lux in loading bays.",
]
DIM = 64


def _vector(text: str, dim: int) -> list[float]:
    vector = np.zeros(dim)
    for word in text.lower().split():
        vector[int(hashlib.md5(word.strip(".,?:").encode()).hexdigest(), 16) % dim] += 1.0
    return (vector * 3.0).tolist()  # not unit length: the embedder must normalise


def titan(request: Recorded) -> Reply:
    body = request.json
    return Reply.json({"embedding": _vector(body["inputText"], body.get("dimensions", DIM)), "inputTextTokenCount": 3})


def tei(request: Recorded) -> Reply:
    return Reply.json([_vector(t, DIM) for t in json.loads(request.body)["inputs"]])


def local_case(request):
    embedder = request.getfixturevalue("embedder")  # the packaged MiniLM, loaded once per session
    return embedder, None


def bedrock_case(request):
    from rag.embedders.bedrock import BedrockEmbedder

    request.getfixturevalue("aws_env")
    server = request.getfixturevalue("server")
    server.respond = titan
    return BedrockEmbedder(
        "amazon.titan-embed-text-v2:0", dimension=256, endpoint_url=server.url, concurrency=2
    ), server


def sagemaker_case(request):
    from rag.embedders.sagemaker import SageMakerEmbedder

    request.getfixturevalue("aws_env")
    server = request.getfixturevalue("server")
    server.respond = tei
    return SageMakerEmbedder(
        "tei-ep", model_id="BAAI/bge-small-en-v1.5", dimension=DIM, endpoint_url=server.url, batch_size=2
    ), server


CASES = {"local": local_case, "bedrock": bedrock_case, "sagemaker": sagemaker_case}


@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.slow), "bedrock", "sagemaker"])
def case(request):
    return CASES[request.param](request)


def test_rows_are_unit_float32_of_the_declared_dimension_in_order(case):
    embedder, _ = case
    assert isinstance(embedder.model_id, str) and embedder.model_id and embedder.dimension > 0
    rows = embedder.embed_documents(TEXTS)
    assert rows.dtype == np.float32 and rows.shape == (len(TEXTS), embedder.dimension)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
    alone = np.stack([embedder.embed_documents([t])[0] for t in TEXTS])
    assert np.allclose(rows, alone, atol=1e-4), "a text's vector does not depend on its batch"


def test_a_query_is_one_unit_vector_nearest_its_own_passage(case):
    embedder, _ = case
    query = embedder.embed_query("How many car parking spaces are provided on the site?")
    assert query.dtype == np.float32 and query.shape == (embedder.dimension,)
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-4)
    assert int(np.argmax(embedder.embed_documents(TEXTS) @ query)) == 0


def test_nothing_to_embed_sends_nothing(case):
    embedder, server = case
    before = len(server.requests) if server else 0
    rows = embedder.embed_documents([])
    assert rows.shape == (0, embedder.dimension)
    assert (len(server.requests) if server else 0) == before


@pytest.fixture(params=["bedrock", "sagemaker"])
def remote_case(request):
    return CASES[request.param](request)


def test_a_service_failure_is_a_rag_error_with_the_services_message(remote_case):
    embedder, server = remote_case
    server.respond = lambda request: aws_error(400, "ValidationException", "Malformed input request")
    with pytest.raises(RagError) as failed:
        embedder.embed_documents(TEXTS[:1])
    assert "Malformed input request" in str(failed.value)
