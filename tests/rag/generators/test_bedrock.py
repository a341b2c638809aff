"""BedrockGenerator against a local server speaking the Bedrock Runtime wire protocol.

Converse replies are the real JSON shape; ConverseStream replies are real binary event streams
decoded by botocore; errors are real rest-json error responses.
"""

import pytest

from rag.errors import GeneratorError, ThrottledError
from rag.generators.base import GenerationParams, Message
from rag.generators.bedrock import BedrockGenerator
from tests.rag.generators.conftest import REGION
from tests.rag.generators.eventstream import bedrock_event, exception, split_every
from tests.rag.generators.servers import Reply, aws_error, event_stream

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
SYSTEM = Message(role="system", content="Answer from the passages.\n\n[1] Parking: 412 spaces.")
QUESTION = Message(role="user", content="How many parking spaces?")


def converse_reply(text: str) -> Reply:
    return Reply.json(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 30, "outputTokens": 8, "totalTokens": 38},
            "metrics": {"latencyMs": 412},
        }
    )


def converse_stream(*texts: str, stop: bool = True) -> list[bytes]:
    events = [bedrock_event("messageStart", {"role": "assistant"})]
    events += [bedrock_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in texts]
    events.append(bedrock_event("contentBlockStop", {"contentBlockIndex": 0}))
    if stop:
        events.append(bedrock_event("messageStop", {"stopReason": "end_turn"}))
        usage = {"inputTokens": 30, "outputTokens": 8, "totalTokens": 38}
        events.append(bedrock_event("metadata", {"usage": usage, "metrics": {"latencyMs": 300}}))
    return events


@pytest.fixture
def claude(server, aws_env):
    return BedrockGenerator(CLAUDE, endpoint_url=server.url, max_attempts=3)


def test_init_is_lazy():
    gen = BedrockGenerator(CLAUDE)
    assert not gen._aws.made and gen._chat is None and gen.model_id == CLAUDE


def test_generate_with_converse(claude, server):
    server.reply(converse_reply("There are 412 spaces [1]."))
    assert claude.generate([SYSTEM, QUESTION], GenerationParams(max_new_tokens=64)) == "There are 412 spaces [1]."
    (request,) = server.requests
    assert request.path == f"/model/{CLAUDE}/converse"
    assert f"/{REGION}/bedrock/aws4_request" in request.headers["Authorization"]
    body = request.json
    assert body["system"] == [{"text": SYSTEM.content}]
    assert body["messages"] == [{"role": "user", "content": [{"text": QUESTION.content}]}]
    assert body["inferenceConfig"] == {"maxTokens": 64, "temperature": 0.0, "topP": 0.9}


def test_stream_with_converse_stream(claude, server):
    server.reply(event_stream(split_every(b"".join(converse_stream("There are", " 412 spaces", " – [1].")), 17)))
    history = [Message(role="user", content="Hi"), Message(role="assistant", content="Hello.")]
    assert list(claude.stream([SYSTEM, *history, QUESTION])) == ["There are", " 412 spaces", " – [1]."]
    (request,) = server.requests
    assert request.path == f"/model/{CLAUDE}/converse-stream"
    assert [m["role"] for m in request.json["messages"]] == ["user", "assistant", "user"]


def test_model_without_system_role_gets_it_in_the_last_user_turn(server, aws_env):
    gen = BedrockGenerator("mistral.mistral-7b-instruct-v0:2", endpoint_url=server.url)
    server.reply(converse_reply("412 [1]."))
    gen.generate([SYSTEM, QUESTION])
    body = server.requests[0].json
    assert not body.get("system")
    assert body["messages"] == [{"role": "user", "content": [{"text": f"{SYSTEM.content}\n\n{QUESTION.content}"}]}]


def test_throttling_is_retried_then_reported(claude, server):
    server.reply(*[aws_error(429, "ThrottlingException", "Too many requests, please wait before trying again.")] * 3)
    with pytest.raises(ThrottledError, match="throttling requests.*after 3 attempts"):
        claude.generate([QUESTION])
    assert len(server.requests) == 3


def test_access_denied_says_to_enable_model_access(claude, server):
    server.reply(
        aws_error(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
    )
    with pytest.raises(GeneratorError, match=f"enable model access for {CLAUDE} in {REGION}"):
        list(claude.stream([QUESTION]))


def test_invalid_model_id_names_the_setting(server, aws_env):
    gen = BedrockGenerator("anthropic.claude-nope", endpoint_url=server.url)
    server.reply(aws_error(400, "ValidationException", "The provided model identifier is invalid."))
    with pytest.raises(GeneratorError, match="RAGBOT_BEDROCK_MODEL"):
        gen.generate([QUESTION])


def test_model_timeout(claude, server):
    server.reply(aws_error(408, "ModelTimeoutException", "Model has timed out in processing the request."))
    with pytest.raises(GeneratorError, match="timed out while generating"):
        claude.generate([QUESTION])


def test_exception_event_inside_the_stream(claude, server):
    events = converse_stream("There are", stop=False)[:2] + [
        exception(
            "modelStreamErrorException",
            {"message": "The model failed mid-answer.", "originalStatusCode": 500, "originalMessage": "boom"},
        )
    ]
    server.reply(event_stream(events))
    pieces = []
    with pytest.raises(GeneratorError, match="failed while streaming: The model failed mid-answer"):
        for piece in claude.stream([QUESTION]):
            pieces.append(piece)  # noqa: PERF402 - keeps what came before the error
    assert pieces == ["There are"]


def test_throttling_event_inside_the_stream(claude, server):
    server.reply(event_stream([exception("throttlingException", {"message": "Too many tokens."})]))
    # botocore gives a stream's exception event only Error.Code (the event type) and Error.Message.
    with pytest.raises(GeneratorError, match=r"throttling requests \(throttlingException\).*\[Too many tokens.\]"):
        list(claude.stream([QUESTION]))


def test_stream_without_message_stop_is_an_error(claude, server):
    server.reply(event_stream(converse_stream("There are", stop=False)))
    with pytest.raises(GeneratorError, match="ended before the model finished"):
        list(claude.stream([QUESTION]))


def test_any_model_streams_with_converse_stream(server, aws_env):
    gen = BedrockGenerator("mistral.mistral-7b-instruct-v0:2", endpoint_url=server.url)
    server.reply(event_stream(converse_stream("412", " [1].")))
    assert list(gen.stream([SYSTEM, QUESTION])) == ["412", " [1]."]
    assert server.requests[0].path.endswith("/converse-stream")


def test_arn_model_id_needs_a_provider(server, aws_env):
    arn = f"arn:aws:bedrock:{REGION}:123456789012:provisioned-model/abc123"
    with pytest.raises(GeneratorError, match="provider"):
        BedrockGenerator(arn, endpoint_url=server.url).generate([QUESTION])
    server.reply(converse_reply("ok"))
    assert BedrockGenerator(arn, endpoint_url=server.url, provider="anthropic").generate([QUESTION]) == "ok"
