"""OpenAICompatGenerator against servers that misbehave: replies in every content shape real
servers use, replies sent one byte at a time, and error texts that echo the API key."""

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.errors import GeneratorError, ThrottledError
from rag.generators.base import Message
from rag.generators.openai_compat import OpenAICompatGenerator
from rag.generators.streams import content_text
from tests.rag.generators.servers import DripServer, Reply

QUESTION = Message(role="user", content="How many parking spaces?")
SECRET = "sk-live-0123456789abcdef"


def completion(content) -> Reply:
    message = {"role": "assistant", "content": content}
    return Reply.json({"id": "c", "object": "chat.completion", "choices": [{"index": 0, "message": message}]})


def sse(*deltas) -> bytes:
    out = b""
    for content in deltas:
        chunk = {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}
        out += b"data: " + json.dumps(chunk).encode() + b"\n\n"
    done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return out + b"data: " + json.dumps(done).encode() + b"\n\ndata: [DONE]\n\n"


@pytest.fixture
def gen(server):
    return OpenAICompatGenerator(f"{server.url}/v1", "m", api_key=SECRET, max_attempts=1, timeout=5)


# -- row 1: whatever shape the content comes in, callers get a string ---------------------------


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("<scoring>4</scoring> fine", "<scoring>4</scoring> fine"),
        (
            [{"type": "text", "text": "<scoring>4</scoring>"}, {"type": "text", "text": " fine"}],
            "<scoring>4</scoring> fine",
        ),
        ([{"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "412"}], "412"),
        ([{"type": "reasoning", "summary": []}, {"type": "output_text", "text": "412"}], "412"),
        ([{"type": "text", "text": {"value": "412", "annotations": []}}], "412"),
        (["412", " spaces"], "412 spaces"),
        ({"type": "text", "text": "412"}, "412"),
        (None, ""),
        ([], ""),
    ],
)
def test_generate_reads_every_content_shape_as_a_string(gen, server, content, text):
    server.reply(completion(content))
    reply = gen.generate([QUESTION])
    assert reply == text and isinstance(reply, str)


@pytest.mark.parametrize("content", [5, {"foo": "bar"}, [{"type": "text", "text": 5}], [7]])
def test_content_without_text_is_a_clear_error(gen, server, content):
    server.reply(completion(content))
    with pytest.raises(GeneratorError, match="unexpected shape"):
        gen.generate([QUESTION])


def test_stream_reads_list_and_null_deltas(gen, server):
    body = sse([{"type": "text", "text": "412"}], None, " spaces", [{"type": "text", "text": " [1]"}])
    server.reply(Reply(200, {"Content-Type": "text/event-stream"}, [body[i : i + 9] for i in range(0, len(body), 9)]))
    pieces = list(gen.stream([QUESTION]))
    assert "".join(pieces) == "412 spaces [1]" and all(isinstance(p, str) for p in pieces)


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(["type", "text", "value", "content", "refusal", "x"]) | st.text(max_size=5), inner, max_size=4
    ),
    max_leaves=12,
)


@given(json_value)
def test_content_text_gives_a_string_or_a_type_error(content):
    try:
        text = content_text(content)
    except TypeError:
        return
    assert isinstance(text, str)


@given(st.lists(st.text(max_size=30), max_size=6))
def test_text_parts_are_joined_in_order(texts):
    parts = [{"type": "text", "text": t} for t in texts]
    mixed = [p for t in parts for p in (t, {"type": "image_url", "image_url": {"url": "u"}})]
    assert content_text(parts) == content_text(mixed) == "".join(texts)


# -- row 6: a total deadline per request, besides the per-read timeout ---------------------------


def test_a_reply_dripped_byte_by_byte_stops_at_the_deadline():
    # One byte every 0.05 s never trips the 2 s read timeout; the server gives up after 8 s.
    with DripServer(b'{"choices": [', interval=0.05) as drip:
        gen = OpenAICompatGenerator(f"{drip.url}/v1", "m", timeout=2.0, max_attempts=1, deadline=1.0)
        began = time.monotonic()
        with pytest.raises(GeneratorError, match="deadline of 1 s.*RAGBOT_REQUEST_DEADLINE_S"):
            gen.generate([QUESTION])
        assert time.monotonic() - began < 1.8
        gen.close()


def test_headers_dripped_byte_by_byte_stop_at_the_deadline():
    with DripServer(b"x", interval=0.05, headers_first=False) as drip:
        gen = OpenAICompatGenerator(f"{drip.url}/v1", "m", timeout=2.0, max_attempts=1, deadline=1.0)
        began = time.monotonic()
        with pytest.raises(GeneratorError, match="deadline"):
            gen.generate([QUESTION])
        assert time.monotonic() - began < 1.8
        gen.close()


def test_a_dripped_stream_stops_at_its_deadline_and_is_not_taken_as_complete():
    event = b'data: {"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": null}]}\n\n'
    with DripServer(event, interval=0.002, content_type="text/event-stream") as drip:
        gen = OpenAICompatGenerator(
            f"{drip.url}/v1", "m", timeout=2.0, max_attempts=1, deadline=0.5, stream_deadline=1.0
        )
        pieces = []
        began = time.monotonic()
        with pytest.raises(GeneratorError, match="deadline of 1 s: the answer is incomplete.*RAGBOT_STREAM_DEADLINE_S"):
            for piece in gen.stream([QUESTION]):
                pieces.append(piece)
        assert time.monotonic() - began < 1.8
        assert pieces and set("".join(pieces)) == {"a"}  # tokens came, then the error, not an ending
        gen.close()


def test_a_reply_within_the_deadline_is_untouched(gen, server):
    server.reply(
        Reply(
            200,
            {"Content-Type": "application/json"},
            [b'{"choices": [{"message": ', b'{"content": "412"}}]}'],
            pause_after=0,
            pause=0.3,
        )
    )
    gen.deadline = 5.0
    assert gen.generate([QUESTION]) == "412"


@pytest.mark.parametrize("value", [0, -1.0])
def test_deadline_must_be_positive(value):
    with pytest.raises(ValueError, match="deadline"):
        OpenAICompatGenerator("http://localhost:1/v1", "m", deadline=value)


# -- row 11: a server that echoes the API key in its error text ---------------------------------


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply.json({"error": {"message": f"Incorrect API key provided: {SECRET}"}}, 401), GeneratorError),
        (Reply.json({"error": {"message": f"model not found (key {SECRET})"}}, 404), GeneratorError),
        (Reply(400, {}, f"bad request from Bearer {SECRET}".encode()), GeneratorError),
        (Reply.json({"error": f"slow down, {SECRET}"}, 429), ThrottledError),
    ],
)
def test_an_echoed_key_never_reaches_the_message(gen, server, reply, error):
    server.reply(reply)
    with pytest.raises(error) as info:
        gen.generate([QUESTION])
    text = str(info.value)
    assert SECRET not in text and "***" in text
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_an_echoed_key_in_a_stream_error_event_is_masked(gen, server):
    body = b'data: {"error": {"message": "quota exceeded for ' + SECRET.encode() + b'"}}\n\n'
    server.reply(Reply(200, {"Content-Type": "text/event-stream"}, [body]))
    with pytest.raises(GeneratorError, match="quota exceeded") as info:
        list(gen.stream([QUESTION]))
    assert SECRET not in str(info.value)
