"""Mistral-7B-Instruct on a SageMaker real-time endpoint, behind a TGI or an LMI (vLLM) container.

``generate`` calls ``InvokeEndpoint``; ``stream`` calls ``InvokeEndpointWithResponseStream``,
whose event stream delivers ``PayloadPart`` events. A part holds arbitrary bytes of the
container's output: one JSON line can span several parts, and a part can end inside a UTF-8
character. The parts are joined as bytes and only complete lines are decoded
(``rag.generators.streams``, shared with the OpenAI-compatible backend).

boto3 is used directly rather than langchain-aws's ``SagemakerEndpoint``: its ``LineIterator``
(the part that joins ``PayloadPart`` bytes into lines) loops forever when a stream ends in the
middle of a line, because it keeps asking the exhausted event stream for more, and it drops events
that are not ``PayloadPart`` without a word. A cut-off answer must fail with a message instead.
Everything else ``SagemakerEndpoint`` does is a content-handler wrapper around the same two boto3
calls, which are written out here.

The region and credentials come from the AWS SDK's own chain (environment, profile, SSO,
instance or task role); settings only name the endpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from common.aws import ClientOptions, LazyClient, is_aws_error, sagemaker_failure
from common.deadline import Deadline, DeadlinePassed, read_all, until
from rag.errors import GeneratorError, ThrottledError
from rag.generators.base import GenerationParams, Message, RemoteModel
from rag.generators.streams import chat_delta, content_text, read_stream, tgi_token

log = logging.getLogger(__name__)

Container = Literal["tgi", "lmi"]

# -- prompts ---------------------------------------------------------------------------------


def fold_system(messages: Sequence[Message]) -> list[Message]:
    """The messages without a system role: the system text goes first in the last user turn.

    Mistral-7B-Instruct's prompt format has no system turn. Its chat template and Mistral's own
    tokenizer library (mistral-common) put the system prompt in front of the *last* user message,
    which is also where ragbot's instructions and passages belong: they were retrieved for the
    question being asked, not for the first one of the conversation. Consecutive messages of one
    role are joined.
    """
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    folded: list[Message] = []
    for m in messages:
        if m.role == "system":
            continue
        if folded and folded[-1].role == m.role:
            folded[-1] = Message(role=m.role, content=f"{folded[-1].content}\n\n{m.content}")
        else:
            folded.append(Message(role=m.role, content=m.content))
    if system:
        last_user = max((i for i, m in enumerate(folded) if m.role == "user"), default=None)
        if last_user is None:
            folded.append(Message(role="user", content=system))
        else:
            folded[last_user] = Message(role="user", content=f"{system}\n\n{folded[last_user].content}")
    return folded


def mistral_prompt(messages: Sequence[Message]) -> str:
    """The Mistral-7B-Instruct (v0.1/v0.2, tokenizer v1) prompt for a conversation.

    ``[INST] {user} [/INST] {assistant}</s> [INST] {system}\n\n{user} [/INST]``

    The ``<s>`` (BOS) that starts the prompt is the tokenizer's to add: TGI's ``/invocations``
    tokenizes ``inputs`` with special tokens, so a literal ``<s>`` would make two.

    Raises:
        GeneratorError: when the turns do not alternate user/assistant, starting and ending
            with a user turn (the only shape the model was trained on).
    """
    turns = fold_system(messages)
    if not turns or turns[0].role != "user" or turns[-1].role != "user":
        roles = [m.role for m in messages]
        raise GeneratorError(
            f"A Mistral prompt needs user/assistant turns that start and end with a user turn, got {roles}"
        )
    parts: list[str] = []
    for m in turns:
        if m.role == "user":
            # mistral-common v1 renders "<s> [INST] …" and "</s> [INST] …"; the tokenizer's
            # dummy prefix gives the first turn its space.
            parts.append(f"{' ' if parts else ''}[INST] {m.content} [/INST]")
        else:
            parts.append(f" {m.content}</s>")
    return "".join(parts)


class SageMakerGenerator(RemoteModel):
    """Mistral-7B-Instruct served by a SageMaker real-time endpoint.

    Args:
        endpoint_name: the endpoint (RAGBOT_SAGEMAKER_ENDPOINT).
        container: "tgi" (Hugging Face TGI: a Mistral ``[INST]`` prompt in ``inputs``) or
            "lmi" (Large Model Inference with vLLM: the messages API, answered in the OpenAI
            chat-completions shape).
        region: AWS region; ``None`` takes it from the AWS SDK chain.
        client: a ready ``sagemaker-runtime`` client (tests, custom sessions); made on first
            use otherwise.
        endpoint_url: a VPC interface endpoint or test server instead of the public endpoint.
        inference_component: the inference component to call on a multi-model endpoint.
        model_id: recorded with each answer; defaults to ``sagemaker:<endpoint_name>``.
        max_attempts: total attempts per call (throttling, 5xx and connection errors are retried
            by botocore with backoff; a stream that has started is never retried).
        connect_timeout, read_timeout: seconds; the read timeout bounds the wait for the
            answer of ``generate`` and between two events of ``stream``.
        deadline: seconds the reply of ``generate`` may take to be read in full
            (RAGBOT_REQUEST_DEADLINE_S); ``None`` for none. A reply trickling in a byte at a time
            never trips the read timeout.
        stream_deadline: the same for the events of ``stream`` (RAGBOT_STREAM_DEADLINE_S).

    Needs the IAM actions ``sagemaker:InvokeEndpoint`` and
    ``sagemaker:InvokeEndpointWithResponseStream`` on the endpoint.

    Raises (from ``generate``/``stream``):
        GeneratorError: the endpoint is missing, throttled, timed out, or the model failed,
            with the model's own message where it sent one.
    """

    supports_streaming = True
    supports_batch = False

    def __init__(
        self,
        endpoint_name: str,
        *,
        container: Container = "tgi",
        region: str | None = None,
        client: Any = None,
        endpoint_url: str | None = None,
        inference_component: str | None = None,
        model_id: str | None = None,
        max_attempts: int = 4,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        deadline: float | None = 300.0,
        stream_deadline: float | None = 600.0,
    ):
        if not endpoint_name:
            raise ValueError("endpoint_name is empty: set RAGBOT_SAGEMAKER_ENDPOINT")
        Deadline(deadline), Deadline(stream_deadline)  # ValueError now, not at the first request
        self.deadline = deadline
        self.stream_deadline = stream_deadline
        if container not in ("tgi", "lmi"):
            raise ValueError(f"container must be 'tgi' or 'lmi', got {container!r}")
        self.endpoint_name = endpoint_name
        self.container = container
        self.inference_component = inference_component
        self.model_id = model_id or f"sagemaker:{endpoint_name}"
        self.options = ClientOptions(
            region=region,
            endpoint_url=endpoint_url,
            max_attempts=max_attempts,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._aws = LazyClient("sagemaker-runtime", self.options, client=client, error=GeneratorError)

    def __repr__(self) -> str:
        return (
            f"SageMakerGenerator(endpoint_name={self.endpoint_name!r}, container={self.container!r}, "
            f"region={self.options.region!r})"
        )

    @property
    def client(self):
        return self._aws.get()

    # -- requests ------------------------------------------------------------------------

    def request_body(self, messages: Sequence[Message], params: GenerationParams, *, stream: bool) -> dict:
        """The JSON the container expects for these messages."""
        if self.container == "tgi":
            parameters: dict[str, Any] = {
                "max_new_tokens": params.max_new_tokens,
                "repetition_penalty": params.repetition_penalty,
                "return_full_text": False,
                "stop": ["</s>"],
            }
            # TGI rejects temperature 0 and top_p outside (0, 1): greedy is do_sample=false.
            if params.temperature > 0:
                parameters |= {"do_sample": True, "temperature": params.temperature}
                if 0 < params.top_p < 1:
                    parameters["top_p"] = params.top_p
                if params.seed is not None:
                    parameters["seed"] = params.seed
            else:
                parameters["do_sample"] = False
            return {"inputs": mistral_prompt(messages), "parameters": parameters, "stream": stream}
        body: dict[str, Any] = {
            "messages": [m.model_dump() for m in fold_system(messages)],
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream": stream,
        }
        if params.repetition_penalty != 1.0:
            body["repetition_penalty"] = params.repetition_penalty
        if params.temperature > 0 and params.seed is not None:
            body["seed"] = params.seed  # LMI's chat-completions schema takes it, like vLLM's
        return body

    def _invoke_args(self, body: dict) -> dict:
        args = {
            "EndpointName": self.endpoint_name,
            "Body": json.dumps(body).encode(),
            "ContentType": "application/json",
        }
        if self.inference_component:
            args["InferenceComponentName"] = self.inference_component
        return args

    @property
    def _what(self) -> str:
        return f"SageMaker endpoint '{self.endpoint_name}' ({self._aws.region})"

    def _failure(self, e: BaseException) -> GeneratorError:
        return sagemaker_failure(
            e,
            self._what,
            setting="RAGBOT_SAGEMAKER_ENDPOINT",
            max_attempts=self.options.max_attempts,
            error=GeneratorError,
            throttled=ThrottledError,
        )

    def _past_deadline(self, deadline: Deadline, *, stream: bool) -> GeneratorError:
        if stream:
            return GeneratorError(
                f"The answer stream from {self._what} did not finish within its deadline of "
                f"{deadline.seconds:g} s: the answer is incomplete and was dropped; retry, or raise "
                "RAGBOT_STREAM_DEADLINE_S"
            )
        return GeneratorError(
            f"{self._what} did not finish its reply within the deadline of {deadline.seconds:g} s; retry, "
            "or raise RAGBOT_REQUEST_DEADLINE_S"
        )

    # -- the protocol ------------------------------------------------------------------------

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        """The full reply from ``InvokeEndpoint``, always a string. Raises GeneratorError."""
        params = params or GenerationParams()
        body = self.request_body(messages, params, stream=False)
        with Deadline(self.deadline) as deadline:
            try:
                response = self.client.invoke_endpoint(Accept="application/json", **self._invoke_args(body))
                raw = read_all(response["Body"], deadline)
            except GeneratorError:
                raise
            except Exception as e:
                if deadline.expired:
                    raise self._past_deadline(deadline, stream=False) from e
                if is_aws_error(e):
                    raise self._failure(e) from e
                raise
        return self._parse_reply(raw)

    def _parse_reply(self, raw: bytes) -> str:
        try:
            data = json.loads(raw)
            if self.container == "tgi":
                first = data[0] if isinstance(data, list) else data
                if "error" in first:
                    raise GeneratorError(f"The model in {self._what} failed: {first['error']}")
                return str(first["generated_text"]).removesuffix("</s>")
            return content_text(data["choices"][0]["message"].get("content"))
        except GeneratorError:
            raise
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            raise GeneratorError(
                f"{self._what} answered in a shape the '{self.container}' container does not use: "
                f"{raw[:300]!r}; check RAGBOT_SAGEMAKER_CONTAINER"
            ) from e

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        """The reply token by token from ``InvokeEndpointWithResponseStream``. Raises GeneratorError,
        also when the stream ends before the model finished or in the middle of a line."""
        params = params or GenerationParams()
        body = self.request_body(messages, params, stream=True)
        deadline = Deadline(self.stream_deadline)
        try:
            response = self.client.invoke_endpoint_with_response_stream(**self._invoke_args(body))
        except Exception as e:
            if deadline.expired:
                raise self._past_deadline(deadline, stream=True) from e
            if is_aws_error(e):
                raise self._failure(e) from e
            raise
        events = response["Body"]
        deadline.watch(events)
        parse = tgi_token if self.container == "tgi" else chat_delta
        try:
            yield from read_stream(until(_payload_parts(events), deadline), parse, self._what)
        except Exception as e:
            # When the deadline shut the connection, the read fails or the stream ends early:
            # either way it is the deadline that ended it.
            if deadline.expired:
                raise self._past_deadline(deadline, stream=True) from e
            if isinstance(e, (GeneratorError, DeadlinePassed)):
                raise
            # botocore raises the stream's error events (ModelStreamError, InternalStreamFailure)
            # and broken connections while the events are read.
            if is_aws_error(e):
                raise self._failure(e) from e
            raise
        finally:
            deadline.close()
            close = getattr(events, "close", None)
            if close:
                close()


def _payload_parts(events: Iterable[dict]) -> Iterator[bytes]:
    for event in events:
        part = event.get("PayloadPart")
        if part is not None:
            yield part.get("Bytes") or b""
        else:
            # The stream's only other members are exceptions, which botocore raises itself.
            log.warning("ignoring an unexpected SageMaker stream event: %s", list(event))
