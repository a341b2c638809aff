"""Reading a model server's streamed reply: byte chunks into lines, server-sent events into data,
and the JSON events of two formats into text.

- OpenAI-style chat completions (vLLM, llama.cpp, Ollama, TGI's ``/v1``, SageMaker LMI):
  ``data: {"choices": [{"delta": {"content": …}, "finish_reason": …}]}`` lines, then
  ``data: [DONE]``.
- Hugging Face TGI's ``/generate_stream`` (SageMaker's TGI container): ``data: {"token": {"text",
  "special"}, "generated_text": …}``, where ``generated_text`` is set on the last event only.

Both report a failure as an event with ``error`` (vLLM: ``{"object": "error", "message": …}``).
A stream that ends without the model's last event, or in the middle of a line, is an error: an
answer cut short must not look complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rag.errors import GeneratorError

Parse = Callable[[str], tuple[str, bool]]


class ModelFailed(Exception):
    """A stream event in which the model reports a failure; its message is the model's."""


def iter_lines(chunks: Iterable[bytes]) -> Iterator[tuple[str, bool]]:
    """Lines from byte chunks that may split a line, or a UTF-8 character, anywhere.

    Yields ``(line, terminated)``; only the last line can be unterminated (the stream ended
    without a newline after it). Line ends are ``\\n`` or ``\\r\\n``; blank lines are skipped.

    Raises:
        UnicodeDecodeError: when a complete line is not UTF-8.
    """
    buffer = bytearray()
    for chunk in chunks:
        if not chunk:
            continue
        buffer += chunk
        if b"\n" not in chunk:
            continue
        *complete, rest = bytes(buffer).split(b"\n")
        buffer = bytearray(rest)
        for raw in complete:
            line = raw.decode("utf-8").rstrip("\r")
            if line.strip():
                yield line, True
    if buffer.strip():
        yield bytes(buffer).decode("utf-8", errors="replace").rstrip("\r"), False


def sse_data(line: str) -> str | None:
    """The payload of a server-sent-events ``data:`` line, the line itself for a bare JSON line,
    or None for SSE fields that carry no data (comments, ``event:``, ``id:``, ``retry:``)."""
    if line.startswith("data:"):
        return line[5:].removeprefix(" ")
    if line.startswith(":") or line.split(":", 1)[0] in ("event", "id", "retry"):
        return None
    return line


def _event(data: str) -> dict[str, Any]:
    """The JSON object of one event.

    Raises ValueError (not JSON), TypeError (JSON but not an object) or ModelFailed (an error event).
    """
    event = json.loads(data)
    if not isinstance(event, dict):
        raise TypeError(f"not a JSON object: {data[:50]!r}")
    if "error" in event or event.get("object") == "error":
        error = event.get("error") or event.get("message")
        if isinstance(error, dict):
            error = error.get("message", error)
        raise ModelFailed(str(error))
    return event


# Content parts that carry the reply's text ("text" in the chat API, "output_text" in the
# responses API); other parts (images, audio, tool calls, reasoning) are not the answer.
TEXT_PARTS = frozenset({"text", "output_text"})


def content_text(content: Any) -> str:
    """The text of a chat message's ``content`` (or a stream delta's), whatever shape the server
    used: a string; ``null`` (no text, e.g. a tool call); a list of parts (``[{"type": "text",
    "text": "…"}]``, strings, ``{"text": {"value": "…"}}``), whose text parts are joined and the
    others left out; or one such part on its own.

    Raises:
        TypeError: the content is none of these (a number, a part whose text is not a string, an
            object with no text at all), naming what it was.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part_text(part) for part in content)
    if isinstance(content, dict):
        if "text" in content or content.get("type") == "refusal":
            return _part_text(content)
        if "content" in content:  # a message object where the content was expected
            return content_text(content["content"])
    raise TypeError(f"message content of an unknown shape: {str(content)[:100]!r}")


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        raise TypeError(f"a content part that is not an object: {str(part)[:100]!r}")
    kind = part.get("type")
    if kind == "refusal" and isinstance(part.get("refusal"), str):
        return part["refusal"]
    if kind is not None and kind not in TEXT_PARTS:
        return ""
    text = part.get("text")
    if isinstance(text, dict):  # {"text": {"value": "…", "annotations": […]}}
        text = text.get("value")
    if text is None and kind is not None:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"a text part without text: {str(part)[:100]!r}")
    return text


def chat_delta(data: str) -> tuple[str, bool]:
    """``(text, finished)`` of one OpenAI-style chat-completions event (``[DONE]`` finishes).

    Raises:
        ValueError, TypeError: the event is not a JSON object, or not in the chat-completions shape.
        ModelFailed: the event reports an error.
    """
    if data.strip() == "[DONE]":
        return "", True
    event = _event(data)
    text, finished = [], False
    choices = event.get("choices") or []
    if not isinstance(choices, list):
        raise TypeError(f"choices is not a list: {str(choices)[:100]!r}")
    for choice in choices:
        if not isinstance(choice, dict):
            raise TypeError(f"a choice that is not an object: {str(choice)[:100]!r}")
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise TypeError(f"a delta that is not an object: {str(delta)[:100]!r}")
        text.append(content_text(delta.get("content")))
        finished = finished or choice.get("finish_reason") is not None
    return "".join(text), finished


def tgi_token(data: str) -> tuple[str, bool]:
    """``(text, finished)`` of one TGI ``generate_stream`` event; special tokens add no text.

    Raises:
        ValueError, TypeError: the event is not a JSON object.
        ModelFailed: the event reports an error.
    """
    event = _event(data)
    token = event.get("token") or {}
    if not isinstance(token, dict):
        raise TypeError(f"a token that is not an object: {str(token)[:100]!r}")
    text = "" if token.get("special") else token.get("text") or ""
    return text, event.get("generated_text") is not None


def read_stream(chunks: Iterable[bytes], parse: Parse, source: str) -> Iterator[str]:
    """The text of a streamed reply, as it arrives.

    Args:
        chunks: the raw bytes, split anywhere.
        parse: ``chat_delta`` or ``tgi_token``.
        source: who sends it, for messages, e.g. "SageMaker endpoint 'x' (eu-west-1)".

    Raises:
        GeneratorError: the model reported an error; a line is not a JSON event or not UTF-8;
            the stream ended in the middle of a line or before the model's last event.
    """
    finished = False
    try:
        for line, terminated in iter_lines(chunks):
            data = sse_data(line)
            if data is None:
                continue
            try:
                text, done = parse(data)
            except ModelFailed as e:
                raise GeneratorError(f"The model behind {source} failed while streaming: {e}") from e
            except (ValueError, TypeError) as e:
                if not terminated:
                    raise GeneratorError(
                        f"The answer stream from {source} ended in the middle of a line: {line[:200]!r}; retry"
                    ) from e
                raise GeneratorError(
                    f"{_capital(source)} sent a stream line that is not a JSON event it can read ({e}): {line[:200]!r}"
                ) from e
            if text:
                yield text
            finished = finished or done
    except UnicodeDecodeError as e:
        raise GeneratorError(f"{_capital(source)} sent a stream line that is not UTF-8: {e}") from e
    if not finished:
        raise GeneratorError(f"The answer stream from {source} ended before the model finished; retry")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
