"""Bedrock foundation models through the Converse API, via langchain-aws's ``ChatBedrockConverse``.

``generate`` calls ``Converse`` and ``stream`` calls ``ConverseStream`` (yielding each
``contentBlockDelta.delta.text``). ``ChatBedrockConverse`` is used because it fits: it maps the
system message to ``system=[{"text": ...}]`` and the generation settings to ``inferenceConfig``,
knows which models reject ``temperature``/``topP``, resolves application inference profiles, and
fails a stream that ends without ``messageStop``. It is given our own boto3 client, so retries,
timeouts and the region come from one place, and it is built on first use.

The region and credentials come from the AWS SDK's own chain; settings only name the model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from common.aws import THROTTLING_CODES, ClientOptions, LazyClient, error_code, error_text, transport_failure
from common.deadline import Deadline, DeadlinePassed, until
from rag.errors import GeneratorError, ThrottledError
from rag.generators.base import GenerationParams, Message, RemoteModel
from rag.generators.sagemaker import fold_system

# Converse models without a system role (Bedrock's "supported models and model features" table):
# for these the system text is folded into the last user turn (see fold_system).
NO_SYSTEM_ROLE = (
    "mistral.mistral-7b-instruct",
    "mistral.mixtral-8x7b-instruct",
    "amazon.titan-text",
    "cohere.command-text",
    "cohere.command-light-text",
    "ai21.j2",
)


# Prefixes of cross-region inference profile ids ("us.anthropic.claude…").
PROFILE_PREFIXES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")


def _base_model(model_id: str) -> str:
    """``us.anthropic.claude…`` (a cross-region inference profile) → ``anthropic.claude…``."""
    head, _, rest = model_id.partition(".")
    return rest if head in PROFILE_PREFIXES else model_id


class BedrockGenerator(RemoteModel):
    """A Bedrock model (RAGBOT_BEDROCK_MODEL) answering through Converse / ConverseStream.

    Args:
        model_id: a Bedrock model id (``anthropic.claude-3-5-haiku-20241022-v1:0``), an inference
            profile id (``us.anthropic…``) or an ARN (then ``provider`` is needed).
        region: AWS region; ``None`` takes it from the AWS SDK chain.
        client: a ready ``bedrock-runtime`` client (tests, custom sessions); made on first use
            otherwise.
        endpoint_url: a VPC interface endpoint or test server instead of the public endpoint.
        provider: the model's provider ("anthropic", "meta", "mistral"…) when ``model_id`` is an ARN.
        system_role: whether to send the system message as Converse ``system``; ``None`` decides
            by model (see ``NO_SYSTEM_ROLE``).
        max_attempts: total attempts per call (botocore retries throttling and 5xx with backoff).
        connect_timeout, read_timeout: seconds.
        stream_deadline: seconds a whole ``stream`` may take (RAGBOT_STREAM_DEADLINE_S), checked
            between two events; ``None`` for none. (``generate``'s one Converse call is read by
            botocore, bounded by its read timeout.)

    Needs ``bedrock:InvokeModel`` (Converse) and ``bedrock:InvokeModelWithResponseStream``
    (ConverseStream) on the model, and model access enabled for it in the region.

    Raises (from ``generate``/``stream``):
        GeneratorError: throttling after retries, no model access, an invalid model id or
            request, a model timeout, or an exception event inside the stream.
    """

    supports_streaming = True
    supports_batch = False

    def __init__(
        self,
        model_id: str,
        *,
        region: str | None = None,
        client: Any = None,
        endpoint_url: str | None = None,
        provider: str | None = None,
        system_role: bool | None = None,
        max_attempts: int = 4,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        stream_deadline: float | None = 600.0,
    ):
        if not model_id:
            raise ValueError("model_id is empty: set RAGBOT_BEDROCK_MODEL")
        Deadline(stream_deadline)  # ValueError now, not at the first request
        self.stream_deadline = stream_deadline
        self.model_id = model_id
        self.provider = provider
        if system_role is None:
            system_role = not _base_model(model_id).startswith(NO_SYSTEM_ROLE)
        self.system_role = system_role
        self.options = ClientOptions(
            region=region,
            endpoint_url=endpoint_url,
            max_attempts=max_attempts,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._aws = LazyClient("bedrock-runtime", self.options, client=client, error=GeneratorError)
        self._chat = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BedrockGenerator(model_id={self.model_id!r}, region={self.options.region!r})"

    @property
    def client(self):
        return self._aws.get()

    @property
    def chat(self):
        """The langchain-aws chat model, built on first use around ``client``."""
        if self._chat is None:
            client = self.client
            with self._lock:
                if self._chat is None:
                    try:
                        from langchain_aws import ChatBedrockConverse
                    except ImportError as e:
                        raise GeneratorError(
                            "The Bedrock backend needs langchain-aws: install it with "
                            f"`pip install langchain-aws` ({e})"
                        ) from e
                    try:
                        # ChatBedrockConverse also makes a "bedrock" control-plane client (only
                        # called for application inference profiles); it takes our client's region.
                        extra = {"provider": self.provider} if self.provider else {}
                        self._chat = ChatBedrockConverse(
                            model_id=self.model_id,
                            client=client,
                            region_name=self.options.region or client.meta.region_name,
                            config=client.meta.config,
                            # Always ConverseStream for stream(): for models it does not know,
                            # ChatBedrockConverse would otherwise fall back to one Converse call.
                            disable_streaming=False,
                            **extra,
                        )
                    except Exception as e:
                        raise GeneratorError(f"Cannot use Bedrock model '{self.model_id}': {e}") from e
        return self._chat

    @property
    def _region(self) -> str:
        return self._aws.region

    def _lc_messages(self, messages: Sequence[Message]) -> list:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        if not self.system_role:
            messages = fold_system(messages)
        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        return [kinds[m.role](content=m.content) for m in messages]

    @staticmethod
    def _call_args(params: GenerationParams) -> dict:
        # Converse has no seed: a regeneration samples at its temperature and top_p, unseeded.
        return {"max_tokens": params.max_new_tokens, "temperature": params.temperature, "top_p": params.top_p}

    def _failure(self, e: BaseException) -> GeneratorError:
        """A GeneratorError that says what went wrong with the model and what to do."""
        from botocore.exceptions import ClientError

        what = f"Bedrock model '{self.model_id}' ({self._region})"
        if not isinstance(e, ClientError):
            if isinstance(e, ConnectionError):  # raised by langchain-aws for a stream without messageStop
                return GeneratorError(f"The answer stream from {what} ended before the model finished; retry ({e})")
            return GeneratorError(transport_failure(e, what) or f"{what} failed: {e}")
        code, text = error_code(e), error_text(e)
        lowered = code[:1].upper() + code[1:]  # stream events spell codes in camelCase
        if lowered in THROTTLING_CODES:
            return ThrottledError(
                f"{what} is throttling requests ({code}) after {self.options.max_attempts} attempts: retry later "
                f"or ask for a higher quota / provisioned throughput [{text}]"
            )
        if lowered == "AccessDeniedException":
            return GeneratorError(
                f"Access to {what} was denied: enable model access for {self.model_id} in {self._region} "
                f"(Bedrock console → Model access) and allow bedrock:InvokeModel and "
                f"bedrock:InvokeModelWithResponseStream for this role [{text}]"
            )
        if lowered in ("ValidationException", "ResourceNotFoundException"):
            hint = ""
            low = text.lower()
            if "identifier is invalid" in low or "not found" in low or "end of its life" in low:
                hint = ": check RAGBOT_BEDROCK_MODEL"
            elif "on-demand throughput" in low or "inference profile" in low:
                hint = ": use an inference profile id such as 'us.<model id>' in RAGBOT_BEDROCK_MODEL"
            return GeneratorError(f"{what} rejected the request{hint} [{text}]")
        if lowered == "ModelTimeoutException":
            return GeneratorError(f"{what} timed out while generating: retry, or ask for fewer tokens [{text}]")
        if lowered == "ModelStreamErrorException":
            # An exception event inside ConverseStream: botocore fills only Error.Code and
            # Error.Message (the event's originalMessage and originalStatusCode are dropped).
            return GeneratorError(f"{what} failed while streaming: {text}")
        if lowered == "ModelErrorException":
            original = (e.response or {}).get("originalMessage")
            return GeneratorError(f"{what} failed: {original or text}")
        if lowered in ("ServiceUnavailableException", "InternalServerException", "ModelNotReadyException"):
            return GeneratorError(f"{what} is unavailable ({code}): retry in a minute [{text}]")
        return GeneratorError(f"{what} refused the request ({code}): {text}")

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        """The full reply from ``Converse``. Raises GeneratorError."""
        params = params or GenerationParams()
        chat = self.chat
        try:
            reply = chat.invoke(self._lc_messages(messages), **self._call_args(params))
        except GeneratorError:
            raise
        except Exception as e:
            raise self._failure(e) from e
        return reply.text

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        """The reply piece by piece from ``ConverseStream``. Raises GeneratorError, also for an
        exception event inside the stream."""
        params = params or GenerationParams()
        chat = self.chat
        deadline = Deadline(self.stream_deadline)
        try:
            for chunk in until(chat.stream(self._lc_messages(messages), **self._call_args(params)), deadline):
                if chunk.text:
                    yield chunk.text
        except GeneratorError:
            raise
        except DeadlinePassed as e:
            raise GeneratorError(
                f"The answer stream from Bedrock model '{self.model_id}' ({self._region}) did not finish within its "
                f"deadline of {deadline.seconds:g} s: the answer is incomplete and was dropped; retry, or raise "
                "RAGBOT_STREAM_DEADLINE_S"
            ) from e
        except Exception as e:
            raise self._failure(e) from e
