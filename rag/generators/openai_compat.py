"""Any server that speaks the OpenAI chat-completions API: vLLM, llama.cpp's server, Ollama, TGI.

``POST {base_url}/chat/completions`` with ``stream`` false (one JSON reply) or true (server-sent
events: ``data: {chunk}`` lines, then ``data: [DONE]``, read by ``rag.generators.streams`` like
the SageMaker LMI container's). httpx is used as the HTTP client; it is
already installed as a dependency of langchain-core, so this backend adds no package.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from common.deadline import Deadline, capped, deadline_backend
from common.secrets import Scrubber
from rag.errors import GeneratorError, ThrottledError
from rag.generators.base import GenerationParams, Message, RemoteModel
from rag.generators.streams import chat_delta, content_text, read_stream

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class OpenAICompatGenerator(RemoteModel):
    """A chat model behind an OpenAI-compatible HTTP server.

    Args:
        base_url: the API root, usually ending in ``/v1`` (RAGBOT_OPENAI_BASE_URL), e.g.
            ``http://localhost:8000/v1`` (vLLM), ``http://localhost:8080/v1`` (llama.cpp),
            ``http://localhost:11434/v1`` (Ollama).
        model: the model name the server knows (RAGBOT_OPENAI_MODEL); also the recorded model id.
        api_key: sent as a bearer token when set (RAGBOT_OPENAI_API_KEY); never logged or shown.
        timeout: seconds to wait for the reply (non-streaming) or between two pieces of a stream.
        connect_timeout: seconds to wait for the connection.
        deadline: seconds a whole ``generate`` request may take, retries and every byte of the
            reply included (RAGBOT_REQUEST_DEADLINE_S); ``None`` for none. The per-read
            ``timeout`` alone never ends a reply sent one byte at a time.
        stream_deadline: the same for a whole ``stream``, from the request to the last token
            (RAGBOT_STREAM_DEADLINE_S).
        max_attempts: total attempts when the server is unreachable or answers 429/5xx; a stream
            that has started is never retried.
        backoff: seconds before the second attempt, doubled (with jitter) after each; a
            ``Retry-After`` header is honoured up to ``max_backoff``.
        max_backoff: the longest single wait.

    Raises (from ``generate``/``stream``):
        GeneratorError: connection refused (naming the URL), 401/403 (the key), 404 (the model or
            the path), other refusals with the server's message, timeouts, a deadline passed, and
            streams that end before the model finished. The API key never appears in a message,
            even when the server echoes it.
    """

    supports_streaming = True
    supports_batch = False

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        deadline: float | None = 300.0,
        stream_deadline: float | None = 600.0,
    ):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL such as http://localhost:8000/v1, got {base_url!r}")
        if not model:
            raise ValueError("model is empty: set RAGBOT_OPENAI_MODEL")
        for name, value in (("deadline", deadline), ("stream_deadline", stream_deadline)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be more than 0 seconds (or None), got {value!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_id = model
        self._api_key = api_key or None
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.deadline = deadline
        self.stream_deadline = stream_deadline
        self._scrub = Scrubber([self._api_key])
        self._client = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        key = "'***'" if self._api_key else "None"
        return f"OpenAICompatGenerator(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    try:
                        import httpx
                    except ImportError as e:
                        raise GeneratorError(
                            f"The OpenAI-compatible backend needs httpx: install it with `pip install httpx` ({e})"
                        ) from e
                    client = httpx.Client(timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout))
                    _cap_reads(client)
                    self._client = client
        return self._client

    def close(self) -> None:
        """Close the HTTP connections (the generator stays usable; a new client is made on demand)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def request_body(self, messages: Sequence[Message], params: GenerationParams, *, stream: bool) -> dict:
        """The chat-completions request for these messages."""
        body = {
            "model": self.model,
            "messages": [m.model_dump() for m in messages],
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream": stream,
        }
        if params.temperature > 0 and params.seed is not None:
            body["seed"] = params.seed  # OpenAI and vLLM take it; a regeneration's own sample
        return body

    # -- HTTP ----------------------------------------------------------------------------

    def _delay(self, attempt: int, response=None) -> float:
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass
        return min(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random() / 2), self.max_backoff)

    def _past_deadline(self, deadline: Deadline, *, stream: bool) -> GeneratorError:
        if stream:
            return GeneratorError(
                f"The answer stream from {self.url} did not finish within its deadline of {deadline.seconds:g} s: "
                "the answer is incomplete and was dropped; retry, or raise RAGBOT_STREAM_DEADLINE_S"
            )
        return GeneratorError(
            f"The server at {self.url} did not finish its reply within the deadline of {deadline.seconds:g} s "
            "(overloaded, or sending it very slowly); retry, or raise RAGBOT_REQUEST_DEADLINE_S"
        )

    def _open(self, body: dict, deadline: Deadline):
        """An open response with status 200 (the caller closes it), after bounded retries, all
        within ``deadline`` (call it under ``capped(deadline)``)."""
        import httpx

        stream = bool(body.get("stream"))

        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if body.get("stream"):
            headers["Accept"] = "text/event-stream"
        payload = json.dumps(body).encode()
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            if deadline.expired:
                raise self._past_deadline(deadline, stream=stream)
            try:
                request = self.client.build_request("POST", self.url, content=payload, headers=headers)
                response = self.client.send(request, stream=True)
            except httpx.ConnectError as e:
                if deadline.expired:
                    raise self._past_deadline(deadline, stream=stream) from e
                if last:
                    raise GeneratorError(
                        f"Cannot connect to the OpenAI-compatible server at {self.url}: {e}. "
                        "Is the server running? Check RAGBOT_OPENAI_BASE_URL."
                    ) from e
                log.warning("cannot connect to %s (attempt %d of %d): %s", self.url, attempt, self.max_attempts, e)
                time.sleep(min(self._delay(attempt), deadline.remaining))
                continue
            except httpx.TimeoutException as e:
                if deadline.expired:
                    raise self._past_deadline(deadline, stream=stream) from e
                raise GeneratorError(
                    f"The server at {self.url} did not answer within {self.timeout:g} s: "
                    f"retry, or raise the timeout ({e!r})"
                ) from e
            except httpx.HTTPError as e:
                raise GeneratorError(f"The request to {self.url} failed: {e}") from e
            if response.status_code == 200:
                return response
            try:
                response.read()
            except httpx.HTTPError:
                pass
            finally:
                response.close()
            if response.status_code in RETRY_STATUSES and not last:
                log.warning(
                    "%s answered %d (attempt %d of %d); retrying",
                    self.url,
                    response.status_code,
                    attempt,
                    self.max_attempts,
                )
                time.sleep(min(self._delay(attempt, response), deadline.remaining))
                continue
            raise self._refusal(response)
        raise AssertionError("unreachable")

    def _refusal(self, response) -> GeneratorError:
        status, message = response.status_code, _server_message(response)
        if status in (401, 403):
            if self._api_key:
                which = "the API key in RAGBOT_OPENAI_API_KEY"
            else:
                which = "a missing API key: set RAGBOT_OPENAI_API_KEY"
            return GeneratorError(
                f"The server at {self.url} refused the request (HTTP {status}) because of {which} [{message}]"
            )
        if status == 404:
            return GeneratorError(
                f"The server at {self.url} answered 404: the model '{self.model}' is not served there or the "
                f"path is wrong; check RAGBOT_OPENAI_MODEL and that RAGBOT_OPENAI_BASE_URL ends with /v1 [{message}]"
            )
        if status in RETRY_STATUSES:
            return (ThrottledError if status == 429 else GeneratorError)(
                f"The server at {self.url} is busy or failing (HTTP {status}) after {self.max_attempts} attempts "
                f"[{message}]"
            )
        return GeneratorError(f"The server at {self.url} refused the request (HTTP {status}): {message}")

    # -- the protocol ------------------------------------------------------------------------

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        """The full reply, always a string (the server's content may be a string, a list of
        parts or null). Raises GeneratorError."""
        try:
            return self._generate(messages, params or GenerationParams())
        except GeneratorError as e:
            clean = self._masked(e)
            if clean is None:
                raise
        raise clean  # outside the handler: the original, key and all, is not kept as the context

    def _generate(self, messages: Sequence[Message], params: GenerationParams) -> str:
        import httpx

        deadline = Deadline(self.deadline)
        with capped(deadline):
            response = self._open(self.request_body(messages, params, stream=False), deadline)
            try:
                raw = b"".join(_within(response.iter_bytes(), deadline))
            except (httpx.TimeoutException, _DeadlinePassed) as e:
                if deadline.expired:
                    raise self._past_deadline(deadline, stream=False) from e
                raise GeneratorError(
                    f"The server at {self.url} did not answer within {self.timeout:g} s ({e!r})"
                ) from e
            except httpx.HTTPError as e:
                raise GeneratorError(f"The connection to {self.url} broke off while reading the answer: {e}") from e
            finally:
                response.close()
        try:
            message = json.loads(raw)["choices"][0]["message"]
            return content_text(message.get("content"))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            raise GeneratorError(f"The server at {self.url} answered in an unexpected shape: {raw[:300]!r}") from e

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        """The reply piece by piece from the server-sent events. Raises GeneratorError, also when
        the stream passes its deadline (what came before is not a complete answer)."""
        try:
            yield from self._stream(messages, params or GenerationParams())
            return
        except GeneratorError as e:
            clean = self._masked(e)
            if clean is None:
                raise
        raise clean  # outside the handler: the original, key and all, is not kept as the context

    def _stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        import httpx

        deadline = Deadline(self.stream_deadline)
        with capped(deadline):
            response = self._open(self.request_body(messages, params, stream=True), deadline)
        try:
            yield from read_stream(_within(response.iter_bytes(), deadline), chat_delta, f"the server at {self.url}")
        except (httpx.TimeoutException, _DeadlinePassed) as e:
            if deadline.expired:
                raise self._past_deadline(deadline, stream=True) from e
            raise GeneratorError(f"The stream from {self.url} stalled for more than {self.timeout:g} s ({e!r})") from e
        except httpx.HTTPError as e:
            raise GeneratorError(f"The connection to {self.url} broke off in the middle of the answer: {e}") from e
        finally:
            response.close()

    def _masked(self, error: GeneratorError) -> GeneratorError | None:
        """``error`` again, of the same class, with the API key masked, when its text holds the
        key (a server may echo it); None when it does not."""
        text = error.args[0] if error.args and isinstance(error.args[0], str) else ""
        clean = self._scrub(text)
        return type(error)(clean) if clean != text else None


class _DeadlinePassed(Exception):
    """Raised between two reads once a request's deadline has passed."""


def _within(chunks: Iterator[bytes], deadline: Deadline) -> Iterator[bytes]:
    """``chunks``, each pulled with the socket reads capped by ``deadline``; stops with
    ``_DeadlinePassed`` once it has passed (even when every read was quick)."""
    while True:
        if deadline.expired:
            raise _DeadlinePassed(f"deadline of {deadline.seconds:g} s passed")
        with capped(deadline):
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


def _cap_reads(client) -> None:
    """Make every socket read of ``client``'s connection pools wait at most what is left of the
    deadline made active by ``capped`` (see ``common.deadline``). httpx does not expose its pools'
    network backend, so it is reached through the attributes httpx 0.28 and httpcore 1.0 use;
    should they change, ``_within`` still stops a reply between two reads (a read may then wait
    one full read timeout past the deadline)."""
    for transport in [client._transport, *getattr(client, "_mounts", {}).values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            log.debug("cannot cap the reads of %r by the request deadline", transport)
            continue
        pool._network_backend = deadline_backend(backend)


def _server_message(response) -> str:
    """The error text a server put in its body (OpenAI, vLLM, llama.cpp and Ollama shapes)."""
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - the body could not be read, whatever the reason
        return response.reason_phrase
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text.strip()[:300] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error)[:300]
        return str(error)[:300]
    return text[:300]
