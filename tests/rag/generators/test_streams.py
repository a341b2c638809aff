"""rag/generators/streams.py: one reader for the streamed replies of OpenAI-style servers, SageMaker
LMI and TGI. The backends' own tests drive it over HTTP; these pin its edges."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.errors import GeneratorError
from rag.generators.streams import chat_delta, read_stream, tgi_token


def chat_events(pieces: list[str]) -> bytes:
    lines = [f"data: {json.dumps({'choices': [{'delta': {'content': p}, 'finish_reason': None}]})}" for p in pieces]
    lines.append(f"data: {json.dumps({'choices': [{'delta': {}, 'finish_reason': 'stop'}]})}")
    return ("\n\n".join(lines) + "\n\ndata: [DONE]\n\n").encode()


@given(st.lists(st.text(min_size=1), max_size=8), st.lists(st.integers(min_value=0), max_size=6))
def test_any_split_of_the_bytes_gives_the_same_text(pieces, cuts):
    raw = chat_events(pieces)
    bounds = sorted({c % (len(raw) + 1) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *bounds], [*bounds, len(raw)], strict=True)]
    assert "".join(read_stream(chunks, chat_delta, "the server")) == "".join(pieces)


def test_error_events_carry_the_models_message():
    vllm = b'data: {"object": "error", "message": "prompt is too long", "type": "BadRequestError"}\n'
    with pytest.raises(GeneratorError, match="The model behind the server failed while streaming: prompt is too long"):
        list(read_stream([vllm], chat_delta, "the server"))
    tgi = b'data: {"error": "Input validation error", "error_type": "validation"}\n'
    with pytest.raises(GeneratorError, match="failed while streaming: Input validation error"):
        list(read_stream([tgi], tgi_token, "SageMaker endpoint 'x'"))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n', "ended before the model finished"),
        (b'data: {"choices": [{"delta": {"content": "Hi"}, "finish_re', "ended in the middle of a line"),
        (b"data: [1, 2]\n", "is not a JSON event"),
        (b"data: \xff\xfe\n", "not UTF-8"),
    ],
)
def test_a_cut_or_broken_stream_is_an_error(raw, message):
    with pytest.raises(GeneratorError, match=message):
        list(read_stream([raw], chat_delta, "the server"))


def test_tgi_special_tokens_add_no_text_and_generated_text_finishes():
    raw = (
        b'data: {"token": {"id": 1, "text": "Hi", "special": false}, "generated_text": null}\n\n'
        b'data: {"token": {"id": 2, "text": "</s>", "special": true}, "generated_text": "Hi"}\n\n'
    )
    assert list(read_stream([raw], tgi_token, "x")) == ["Hi"]
