"""The answer pipeline streams a cited answer through each remote generator, end to end:
real documents, the real embedding model and store, and the generator talking HTTP to a local
server that answers in the backend's own wire format."""

import json

import pytest

from rag.generators.bedrock import BedrockGenerator
from rag.generators.openai_compat import OpenAICompatGenerator
from rag.generators.sagemaker import SageMakerGenerator
from rag.ingest.ingestor import Ingestor
from rag.pipeline import AnswerPipeline
from rag.retrieval import Retriever
from rag.stores.embedded import LanceDBVectorStore
from tests.docs import make_pdf
from tests.rag.generators.eventstream import bedrock_event, payload_parts, split_every
from tests.rag.generators.servers import Reply, event_stream

PIECES = ["There are", " 412 car parking", " spaces [1]."]
ANSWER = "".join(PIECES)


def tgi(server):
    events = [{"token": {"id": i, "text": t, "special": False}, "generated_text": None} for i, t in enumerate(PIECES)]
    events[-1]["generated_text"] = ANSWER
    lines = b"".join(b"data:" + json.dumps(e).encode() + b"\n\n" for e in events)
    server.reply(event_stream(payload_parts(*split_every(lines, 9))))
    return SageMakerGenerator("tgi-ep", container="tgi", endpoint_url=server.url)


def lmi(server):
    chunks = [{"choices": [{"delta": {"content": t}, "finish_reason": None}]} for t in PIECES]
    lines = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    server.reply(event_stream(payload_parts(*split_every(lines + b"data: [DONE]\n\n", 9))))
    return SageMakerGenerator("lmi-ep", container="lmi", endpoint_url=server.url)


def bedrock(server):
    events = [bedrock_event("messageStart", {"role": "assistant"})]
    events += [bedrock_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in PIECES]
    events += [
        bedrock_event("contentBlockStop", {"contentBlockIndex": 0}),
        bedrock_event("messageStop", {"stopReason": "end_turn"}),
    ]
    server.reply(event_stream(events))
    return BedrockGenerator("anthropic.claude-3-haiku-20240307-v1:0", endpoint_url=server.url)


def openai(server):
    chunks = [{"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]} for t in PIECES]
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    body += b"data: [DONE]\n\n"
    server.reply(Reply(200, {"Content-Type": "text/event-stream"}, split_every(body, 9)))
    return OpenAICompatGenerator(f"{server.url}/v1", "mistral-7b-instruct")


@pytest.fixture
def retriever(tmp_path, embedder):
    root = tmp_path / "docs"
    make_pdf(
        root / "Design" / "criteria.pdf",
        [
            "General requirements for the building envelope and roof.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
        ],
    )
    store = LanceDBVectorStore(tmp_path / "index")
    Ingestor(store, embedder).ingest([root])
    return Retriever(store, embedder)


@pytest.mark.parametrize(
    "make_generator", [tgi, lmi, bedrock, openai], ids=["sagemaker-tgi", "sagemaker-lmi", "bedrock", "openai"]
)
def test_pipeline_streams_a_cited_answer(make_generator, retriever, server, aws_env):
    generator = make_generator(server)
    events = list(AnswerPipeline(retriever, generator, k=2).stream("How many car parking spaces are there?"))
    kinds = [e.kind for e in events]
    # Status lines say what is happening; between them the answer streams in order.
    assert [k for k in kinds if k != "status"] == ["citations", "token", "token", "token", "answer"]
    assert kinds[0] == "status" and kinds.index("citations") < kinds.index("token")
    assert [e.token for e in events if e.kind == "token"] == PIECES
    answer = events[-1].answer
    assert answer.found and answer.answer == ANSWER and answer.model_id == generator.model_id
    first = answer.citations[0]
    assert (first.source, first.page) == ("Design/criteria.pdf", 2)
    # The model was sent the numbered passage it cites.
    (request,) = server.requests
    assert "[1] (Design/criteria.pdf – page 2)" in json.dumps(request.json, ensure_ascii=False)
