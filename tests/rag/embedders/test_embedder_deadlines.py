"""The remote embedders against a server that sends its reply one byte at a time: every read is
quick, so only the request's total deadline ends it."""

import time

import pytest

from rag.embedders.bedrock import BedrockEmbedder
from rag.embedders.sagemaker import SageMakerEmbedder
from rag.errors import RagError
from tests.rag.generators.servers import DripServer


def test_sagemaker_embedder_dripped_stops_at_the_deadline(aws_env):
    with DripServer(b"[[0.1, 0.2, ", interval=0.05) as drip:
        embedder = SageMakerEmbedder(
            "ep", model_id="m", dimension=2, endpoint_url=drip.url, read_timeout=2.0, max_attempts=1, deadline=1.0
        )
        began = time.monotonic()
        with pytest.raises(RagError, match="deadline of 1 s.*RAGBOT_REQUEST_DEADLINE_S"):
            embedder.embed_query("parking")
        assert time.monotonic() - began < 1.8


def test_bedrock_embedder_dripped_stops_at_the_deadline(aws_env):
    with DripServer(b'{"embedding": [0.1, ', interval=0.05) as drip:
        embedder = BedrockEmbedder(
            "amazon.titan-embed-text-v2:0",
            dimension=256,
            endpoint_url=drip.url,
            read_timeout=2.0,
            max_attempts=1,
            deadline=1.0,
            concurrency=1,
        )
        began = time.monotonic()
        with pytest.raises(RagError, match="deadline of 1 s.*RAGBOT_REQUEST_DEADLINE_S"):
            embedder.embed_query("parking")
        assert time.monotonic() - began < 1.8


@pytest.mark.parametrize("value", [0, -2.0])
def test_deadline_must_be_positive(value):
    with pytest.raises(ValueError, match="deadline"):
        SageMakerEmbedder("ep", model_id="m", dimension=2, deadline=value)
    with pytest.raises(ValueError, match="deadline"):
        BedrockEmbedder(deadline=value)
