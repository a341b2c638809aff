"""The AWS generators against servers that send their reply one byte at a time: each read is
quick, so only a total deadline ends the request; and the LMI container's content shapes."""

import json
import time

import pytest

from rag.errors import GeneratorError
from rag.generators.base import Message
from rag.generators.bedrock import BedrockGenerator
from rag.generators.sagemaker import SageMakerGenerator
from tests.rag.generators.eventstream import bedrock_event, event
from tests.rag.generators.servers import DripServer, Reply

QUESTION = Message(role="user", content="How many parking spaces?")


def tgi_event(text: str) -> bytes:
    line = b"data:" + json.dumps({"token": {"id": 1, "text": text, "special": False}, "generated_text": None}).encode()
    return event("PayloadPart", line + b"\n\n")


def test_sagemaker_generate_dripped_stops_at_the_deadline(aws_env):
    with DripServer(b'[{"generated_text": "', interval=0.05) as drip:
        gen = SageMakerGenerator("ep", endpoint_url=drip.url, read_timeout=2.0, max_attempts=1, deadline=1.0)
        began = time.monotonic()
        with pytest.raises(GeneratorError, match="deadline of 1 s.*RAGBOT_REQUEST_DEADLINE_S"):
            gen.generate([QUESTION])
        assert time.monotonic() - began < 1.8


def test_sagemaker_stream_dripped_stops_at_its_deadline(aws_env):
    with DripServer(
        tgi_event("a"), interval=0.002, content_type="application/vnd.amazon.eventstream", chunked=True
    ) as drip:
        gen = SageMakerGenerator(
            "ep", endpoint_url=drip.url, read_timeout=2.0, max_attempts=1, deadline=0.3, stream_deadline=1.0
        )
        pieces = []
        began = time.monotonic()
        with pytest.raises(GeneratorError, match="deadline of 1 s: the answer is incomplete"):
            for piece in gen.stream([QUESTION]):
                pieces.append(piece)
        assert time.monotonic() - began < 1.8
        assert pieces and set("".join(pieces)) == {"a"}


@pytest.mark.parametrize(
    ("content", "text"),
    [([{"type": "text", "text": "412"}, {"type": "text", "text": " spaces"}], "412 spaces"), (None, "")],
)
def test_lmi_generate_reads_every_content_shape(server, aws_env, content, text):
    gen = SageMakerGenerator("lmi-ep", container="lmi", endpoint_url=server.url, max_attempts=1)
    server.reply(Reply.json({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}))
    assert gen.generate([QUESTION]) == text


def test_bedrock_stream_dripped_stops_at_its_deadline(aws_env):
    delta = bedrock_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "a"}})
    with DripServer(delta, interval=0.002, content_type="application/vnd.amazon.eventstream", chunked=True) as drip:
        gen = BedrockGenerator(
            "anthropic.claude-3-haiku-20240307-v1:0",
            endpoint_url=drip.url,
            read_timeout=2.0,
            max_attempts=1,
            stream_deadline=1.0,
        )
        gen.chat  # langchain-aws takes seconds to build its model the first time, before any request
        pieces = []
        began = time.monotonic()
        with pytest.raises(GeneratorError, match="deadline of 1 s: the answer is incomplete"):
            for piece in gen.stream([QUESTION]):
                pieces.append(piece)
        # Checked between two events (botocore's reads are out of reach under langchain-aws).
        assert time.monotonic() - began < 2.0
        assert pieces and set("".join(pieces)) == {"a"}
