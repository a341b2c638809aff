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

from rag.errors import GeneratorError, ThrottledError
from rag.generators.base import GenerationParams, Message, RemoteModel
from rag.generators.streams import chat_delta, read_stream

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
        max_attempts: total attempts when the server is unreachable or answers 429/5xx; a stream
            that has started is never retried.
        backoff: seconds before the second attempt, doubled (with jitter) after each; a
            ``Retry-After`` header is honoured up to ``max_backoff``.
        max_backoff: the longest single wait.

    Raises (from ``generate``/``stream``):
        GeneratorError: connection refused (naming the URL), 401/403 (the key), 404 (the model or
            the path), other refusals with the server's message, timeouts, and streams that end
            before the model finished.
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
    ):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL such as http://localhost:8000/v1, got {base_url!r}")
        if not model:
            raise ValueError("model is empty: set RAGBOT_OPENAI_MODEL")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_id = model
        self._api_key = api_key or None
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
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
                    self._client = httpx.Client(timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout))
        return self._client

    def close(self) -> None:
        """Close the HTTP connections (the generator stays usable; a new client is made on demand)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def request_body(self, messages: Sequence[Message], params: GenerationParams, *, stream: bool) -> dict:
        """The chat-completions request for these messages."""
        return {
            "model": self.model,
            "messages": [m.model_dump() for m in messages],
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream": stream,
        }

    # -- HTTP ----------------------------------------------------------------------------

    def _delay(self, attempt: int, response=None) -> float:
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass
        return min(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random() / 2), self.max_backoff)

    def _open(self, body: dict):
        """An open response with status 200 (the caller closes it), after bounded retries."""
        import httpx

        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if body.get("stream"):
            headers["Accept"] = "text/event-stream"
        payload = json.dumps(body).encode()
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                request = self.client.build_request("POST", self.url, content=payload, headers=headers)
                response = self.client.send(request, stream=True)
            except httpx.ConnectError as e:
                if last:
                    raise GeneratorError(
                        f"Cannot connect to the OpenAI-compatible server at {self.url}: {e}. "
                        "Is the server running? Check RAGBOT_OPENAI_BASE_URL."
                    ) from e
                log.warning("cannot connect to %s (attempt %d of %d): %s", self.url, attempt, self.max_attempts, e)
                time.sleep(self._delay(attempt))
                continue
            except httpx.TimeoutException as e:
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
                time.sleep(self._delay(attempt, response))
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
        """The full reply. Raises GeneratorError."""
        import httpx

        params = params or GenerationParams()
        response = self._open(self.request_body(messages, params, stream=False))
        try:
            raw = response.read()
        except httpx.TimeoutException as e:
            raise GeneratorError(f"The server at {self.url} did not answer within {self.timeout:g} s ({e!r})") from e
        except httpx.HTTPError as e:
            raise GeneratorError(f"The connection to {self.url} broke off while reading the answer: {e}") from e
        finally:
            response.close()
        try:
            return json.loads(raw)["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise GeneratorError(f"The server at {self.url} answered in an unexpected shape: {raw[:300]!r}") from e

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        """The reply piece by piece from the server-sent events. Raises GeneratorError."""
        import httpx

        params = params or GenerationParams()
        response = self._open(self.request_body(messages, params, stream=True))
        try:
            yield from read_stream(response.iter_bytes(), chat_delta, f"the server at {self.url}")
        except httpx.TimeoutException as e:
            raise GeneratorError(f"The stream from {self.url} stalled for more than {self.timeout:g} s ({e!r})") from e
        except httpx.HTTPError as e:
            raise GeneratorError(f"The connection to {self.url} broke off in the middle of the answer: {e}") from e
        finally:
            response.close()


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
