"""OpenAICompatGenerator against a local HTTP server answering like vLLM / llama.cpp / Ollama."""

import json
import logging

import pytest

from rag.errors import GeneratorError, ThrottledError
from rag.generators.base import GenerationParams, Message
from rag.generators.openai_compat import OpenAICompatGenerator
from bench.servers import free_port
from tests.rag.generators.servers import Reply

QUESTION = Message(role="user", content="How many parking spaces?")
SYSTEM = Message(role="system", content="Answer from the passages.\n\n[1] Parking: 412 spaces.")
SECRET = "sk-test-very-secret"


def sse(*chunks: dict, done: bool = True) -> bytes:
    out = b": keep-alive\n\n"
    for chunk in chunks:
        out += b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
    return out + (b"data: [DONE]\n\n" if done else b"")


def delta(content=None, finish=None, role=None) -> dict:
    d = {"role": role} if role else {}
    if content is not None:
        d["content"] = content
    choice = {"index": 0, "delta": d, "finish_reason": finish}
    return {"id": "c1", "object": "chat.completion.chunk", "model": "mistral", "choices": [choice]}


def sse_reply(body: bytes, size: int = 7, **kwargs) -> Reply:
    return Reply(
        200, {"Content-Type": "text/event-stream"}, [body[i : i + size] for i in range(0, len(body), size)], **kwargs
    )


@pytest.fixture
def gen(server):
    return OpenAICompatGenerator(
        f"{server.url}/v1/", "mistral", api_key=SECRET, max_attempts=3, backoff=0.01, timeout=5
    )


def test_init_is_lazy_and_the_key_stays_hidden(gen):
    assert gen._client is None
    assert SECRET not in repr(gen) and "'***'" in repr(gen)
    assert gen.url.endswith("/v1/chat/completions") and gen.model_id == "mistral"


def test_generate(gen, server, caplog):
    caplog.set_level(logging.DEBUG)
    message = {"role": "assistant", "content": "412 spaces [1]."}
    server.reply(
        Reply.json(
            {
                "id": "c1",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
        )
    )
    assert gen.generate([SYSTEM, QUESTION], GenerationParams(max_new_tokens=40)) == "412 spaces [1]."
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.json == {
        "model": "mistral",
        "messages": [SYSTEM.model_dump(), QUESTION.model_dump()],
        "max_tokens": 40,
        "temperature": 0.0,
        "top_p": 0.9,
        "stream": False,
    }
    assert SECRET not in caplog.text


def test_a_regeneration_sends_its_sampling_and_seed(gen):
    body = gen.request_body([QUESTION], GenerationParams(temperature=0.7, top_p=0.9, seed=77), stream=True)
    assert (body["temperature"], body["top_p"], body["seed"]) == (0.7, 0.9, 77)
    assert "seed" not in gen.request_body([QUESTION], GenerationParams(seed=77), stream=True)


def test_stream_split_at_odd_places(gen, server):
    body = sse(
        delta(role="assistant", content=""), delta("Die Größe"), delta(" – 412"), delta(" [1]."), delta(finish="stop")
    )
    server.reply(sse_reply(body, size=5))  # HTTP chunks cut lines and the UTF-8 of "ö" and "–"
    assert list(gen.stream([QUESTION])) == ["Die Größe", " – 412", " [1]."]
    assert server.requests[0].json["stream"] is True
    assert server.requests[0].headers["Accept"] == "text/event-stream"


def test_connection_refused_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    gen = OpenAICompatGenerator(url, "mistral", max_attempts=2, backoff=0.01)
    with pytest.raises(GeneratorError, match=f"Cannot connect .* at {url}/chat/completions.*RAGBOT_OPENAI_BASE_URL"):
        gen.generate([QUESTION])
    with pytest.raises(GeneratorError, match="Is the server running"):
        list(gen.stream([QUESTION]))


def test_unknown_model_is_a_404_that_names_the_model(gen, server):
    server.reply(
        Reply.json(
            {"object": "error", "message": "The model `mistral` does not exist.", "type": "NotFoundError", "code": 404},
            404,
        )
    )
    with pytest.raises(GeneratorError) as info:
        gen.generate([QUESTION])
    assert (
        "'mistral'" in str(info.value)
        and "RAGBOT_OPENAI_MODEL" in str(info.value)
        and "does not exist" in str(info.value)
    )
    assert len(server.requests) == 1


def test_ollama_404_when_streaming(gen, server):
    server.reply(
        Reply.json({"error": {"message": 'model "mistral" not found, try pulling it first', "type": "api_error"}}, 404)
    )
    with pytest.raises(GeneratorError, match="try pulling it first"):
        list(gen.stream([QUESTION]))


def test_401_names_the_key_setting_without_the_key(gen, server):
    server.reply(Reply.json({"error": {"message": "Invalid API key", "type": "invalid_request_error"}}, 401))
    with pytest.raises(GeneratorError, match="RAGBOT_OPENAI_API_KEY") as info:
        gen.generate([QUESTION])
    assert SECRET not in str(info.value)


def test_busy_server_is_retried_with_retry_after(gen, server):
    server.reply(
        Reply.json({"error": "overloaded"}, 503, {"Retry-After": "0"}),
        Reply.json({"choices": [{"message": {"content": "ok"}}]}),
    )
    assert gen.generate([QUESTION]) == "ok"
    assert len(server.requests) == 2


def test_retries_are_bounded(gen, server):
    server.reply(*[Reply.json({"error": {"message": "rate limited"}}, 429)] * 3)
    # ThrottledError: a batch job (the judge) backs off and tries again later.
    with pytest.raises(ThrottledError, match=r"HTTP 429\) after 3 attempts.*rate limited"):
        list(gen.stream([QUESTION]))
    assert len(server.requests) == 3


def test_stream_cut_before_done_is_an_error(gen, server):
    server.reply(sse_reply(sse(delta("412"), done=False)))
    with pytest.raises(GeneratorError, match="ended before the model finished"):
        list(gen.stream([QUESTION]))


def test_connection_dropped_mid_stream(gen, server):
    server.reply(sse_reply(sse(delta("412"), done=False), hang_up=True))
    pieces = []
    with pytest.raises(GeneratorError, match="broke off in the middle of the answer"):
        for piece in gen.stream([QUESTION]):
            pieces.append(piece)  # noqa: PERF402 - keeps what came before the error
    assert pieces == ["412"]


def test_error_event_in_the_stream(gen, server):
    body = sse(delta("412"), done=False) + b'data: {"error": {"message": "CUDA out of memory", "code": 500}}\n\n'
    server.reply(sse_reply(body))
    with pytest.raises(GeneratorError, match="CUDA out of memory"):
        list(gen.stream([QUESTION]))


def test_stalled_stream_times_out(server):
    gen = OpenAICompatGenerator(f"{server.url}/v1", "mistral", timeout=0.3, max_attempts=1)
    # The first 40 bytes arrive, then nothing for longer than the timeout.
    server.reply(sse_reply(sse(delta("412"), delta(finish="stop")), size=40, pause_after=0, pause=1.5))
    with pytest.raises(GeneratorError, match="stalled"):
        list(gen.stream([QUESTION]))
