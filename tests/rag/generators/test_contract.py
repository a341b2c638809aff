"""What every generator backend promises the rest of ragbot (``rag.generators.base.Generator``).

A new backend is done when it passes this suite: add a ``Case`` for it below. The remote ones
talk HTTP to a local server that answers in the backend's own wire format; the local ones run
the real packaged model, so for them the suite checks that the paths agree rather than what the
model says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from rag.errors import GeneratorError
from rag.generators.base import GenerationParams, Message, generate_all
from tests.rag.generators.eventstream import bedrock_event, payload_parts, split_every
from tests.rag.generators.servers import Reply, aws_error, event_stream

SYSTEM = Message(
    role="system", content="Answer from the passages.\n\n[1] Parking: the site provides 412 car parking spaces."
)
QUESTION = Message(role="user", content="How many car parking spaces are there?")
OTHER = Message(role="user", content="How many trailer positions are there?")
PARAMS = GenerationParams(max_new_tokens=8)


@dataclass
class Case:
    """One backend: ``make()`` builds it; ``whole(text)``/``streamed(pieces)`` script the server's
    next reply to ``generate``/``stream`` (and return the text expected, None where the real model
    decides); ``broken()`` builds one whose every call fails."""

    make: Callable[[], object]
    whole: Callable[[str], str | None]
    streamed: Callable[[list[str]], str | None]
    broken: Callable[[], object]


def _remote(server, make, whole, streamed, failure) -> Case:
    def script_whole(text):
        server.reply(whole(text))
        return text

    def script_streamed(pieces):
        server.reply(streamed(pieces))
        return "".join(pieces)

    def broken():
        server.reply(*[failure()] * 4)
        return make()

    return Case(make, script_whole, script_streamed, broken)


def _sse(objects: list[dict], done: bool) -> bytes:
    body = b"".join(b"data: " + json.dumps(o).encode() + b"\n\n" for o in objects)
    return body + (b"data: [DONE]\n\n" if done else b"")


def tgi(server) -> Case:
    from rag.generators.sagemaker import SageMakerGenerator

    def streamed(pieces):
        events = [
            {"token": {"id": i, "text": t, "special": False}, "generated_text": None} for i, t in enumerate(pieces)
        ]
        events[-1]["generated_text"] = "".join(pieces)
        return event_stream(payload_parts(*split_every(_sse(events, done=False), 9)))

    return _remote(
        server,
        lambda: SageMakerGenerator("tgi-ep", container="tgi", endpoint_url=server.url),
        lambda text: Reply.json([{"generated_text": text}]),
        streamed,
        lambda: aws_error(400, "ValidationError", "Endpoint tgi-ep of account 123456789012 not found."),
    )


def lmi(server) -> Case:
    from rag.generators.sagemaker import SageMakerGenerator

    def whole(text):
        return Reply.json(
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
        )

    def streamed(pieces):
        chunks = [{"choices": [{"delta": {"content": t}, "finish_reason": None}]} for t in pieces]
        return event_stream(payload_parts(*split_every(_sse(chunks, done=True), 9)))

    return _remote(
        server,
        lambda: SageMakerGenerator("lmi-ep", container="lmi", endpoint_url=server.url),
        whole,
        streamed,
        lambda: aws_error(400, "ValidationError", "Endpoint lmi-ep of account 123456789012 not found."),
    )


def bedrock(server) -> Case:
    from rag.generators.bedrock import BedrockGenerator

    def whole(text):
        message = {"role": "assistant", "content": [{"text": text}]}
        return Reply.json(
            {
                "output": {"message": message},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 3, "outputTokens": 3, "totalTokens": 6},
            }
        )

    def streamed(pieces):
        events = [bedrock_event("messageStart", {"role": "assistant"})]
        events += [bedrock_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in pieces]
        events += [
            bedrock_event("contentBlockStop", {"contentBlockIndex": 0}),
            bedrock_event("messageStop", {"stopReason": "end_turn"}),
        ]
        return event_stream(events)

    return _remote(
        server,
        lambda: BedrockGenerator("anthropic.claude-3-haiku-20240307-v1:0", endpoint_url=server.url),
        whole,
        streamed,
        lambda: aws_error(400, "ValidationException", "The provided model identifier is invalid."),
    )


def openai(server) -> Case:
    from rag.generators.openai_compat import OpenAICompatGenerator

    def whole(text):
        return Reply.json(
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
        )

    def streamed(pieces):
        chunks = [{"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]} for t in pieces]
        return Reply(200, {"Content-Type": "text/event-stream"}, split_every(_sse(chunks, done=True), 9))

    return _remote(
        server,
        lambda: OpenAICompatGenerator(f"{server.url}/v1", "mistral-7b-instruct"),
        whole,
        streamed,
        lambda: Reply.json({"error": {"message": "Invalid API key", "type": "invalid_request_error"}}, 401),
    )


_LOADED: dict[str, object] = {}


def _local(make, local_model_dir, tmp_path) -> Case:
    def shared():  # one instance for the module: loading the model is the slow part
        return _LOADED.setdefault(str(local_model_dir), make(str(local_model_dir)))

    return Case(
        shared,
        lambda text: None,
        lambda pieces: None,
        lambda: make(str(tmp_path / "no-such-model")),
    )


def local(local_model_dir, tmp_path) -> Case:
    from rag.generators.local import LocalGenerator

    return _local(
        lambda name: LocalGenerator(name, cache_dir=tmp_path / "models", runtime="transformers"),
        local_model_dir,
        tmp_path,
    )


REMOTE = {"sagemaker-tgi": tgi, "sagemaker-lmi": lmi, "bedrock": bedrock, "openai": openai}
LOCAL = {"local": local}  # the local model as the app runs it (transformers runtime: no export here)


@pytest.fixture(params=[*REMOTE, pytest.param("local", marks=pytest.mark.slow)])
def case(request, tmp_path) -> Case:
    if request.param in REMOTE:
        request.getfixturevalue("aws_env")
        return REMOTE[request.param](request.getfixturevalue("server"))
    return LOCAL[request.param](request.getfixturevalue("local_model_dir"), tmp_path)


def test_it_declares_what_it_can_do(case):
    generator = case.make()
    assert isinstance(generator.model_id, str) and generator.model_id
    assert isinstance(generator.supports_streaming, bool) and isinstance(generator.supports_batch, bool)
    for method in ("generate", "stream", "load", "close"):
        assert callable(getattr(generator, method))
    if generator.supports_batch:
        assert callable(generator.generate_batch)


def test_the_streamed_pieces_make_the_whole_reply(case):
    generator = case.make()
    expected_whole = case.whole("There are 412 car parking spaces [1].")
    expected_streamed = case.streamed(["There are", " 412 car parking", " spaces [1]."])
    whole = generator.generate([SYSTEM, QUESTION], PARAMS)
    pieces = list(generator.stream([SYSTEM, QUESTION], PARAMS))
    assert isinstance(whole, str) and whole.strip()
    assert all(isinstance(p, str) for p in pieces)
    if expected_whole is None:  # the real model, greedy: both paths give the same words
        assert "".join(pieces).strip() == whole.strip()
    else:
        assert whole == expected_whole and "".join(pieces) == expected_streamed
    if generator.supports_streaming:
        assert len(pieces) > 1


def test_load_is_idempotent_and_close_does_not_end_it(case):
    generator = case.make()
    generator.load()
    generator.load()
    expected = case.whole("412.")
    first = generator.generate([SYSTEM, QUESTION], PARAMS)
    generator.close()
    generator.close()
    again = case.whole("412.")
    second = generator.generate([SYSTEM, QUESTION], PARAMS)
    assert first == (expected if expected is not None else second) and second == (again if again is not None else first)


def test_several_conversations_come_back_in_order(case):
    generator = case.make()
    expected = [case.whole("412 car parking spaces."), case.whole("38 trailer positions.")]
    replies = generate_all(generator, [[SYSTEM, QUESTION], [SYSTEM, OTHER]], PARAMS)
    assert len(replies) == 2 and all(isinstance(r, str) and r.strip() for r in replies)
    if expected[0] is not None:
        assert replies == expected
    else:  # batched or not, each reply is the one its conversation gets alone
        assert [r.strip() for r in replies] == [
            generator.generate(c, PARAMS).strip() for c in ([SYSTEM, QUESTION], [SYSTEM, OTHER])
        ]


def test_a_failure_is_a_generator_error_that_says_what_failed(case):
    generator = case.broken()
    with pytest.raises(GeneratorError) as whole:
        generator.generate([SYSTEM, QUESTION], PARAMS)
    with pytest.raises(GeneratorError) as streamed:
        list(generator.stream([SYSTEM, QUESTION], PARAMS))
    for error in (whole.value, streamed.value):
        assert str(error).strip() and "Traceback" not in str(error)
