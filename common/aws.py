"""AWS client plumbing for every AWS backend: rag's SageMaker and Bedrock clients, feedback's
DynamoDB store. Clients are built lazily with bounded retries and timeouts, and AWS errors are
read the one way botocore reports them.

Region and credentials always come from the AWS SDK's own chain (environment, profile, SSO,
instance or task role), never from ragbot's settings. botocore reads ``AWS_DEFAULT_REGION`` and
the profile but not ``AWS_REGION``, the variable the other AWS SDKs, Lambda and ECS set; it is
honoured when botocore finds no region.

Callers pass the error class to raise (``GeneratorError``, ``StoreUnavailable``…), so this
module imports nothing of ragbot's and both ``rag`` and ``feedback`` may use it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

E = TypeVar("E", bound=Exception)
RetryMode = Literal["standard", "adaptive", "legacy"]
RETRY_MODES = ("standard", "adaptive", "legacy")

# Error codes that mean "too many requests" across SageMaker, Bedrock and DynamoDB (botocore's
# retry modes have already retried them when they reach us).
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)


@dataclass(frozen=True)
class ClientOptions:
    """How a boto3 client is built.

    Args:
        region: overrides the SDK's region; ``None`` uses ``AWS_DEFAULT_REGION``, the profile's,
            then ``AWS_REGION``.
        endpoint_url: a VPC endpoint or a local test server; ``None`` for the public endpoint
            (or the SDK's ``AWS_ENDPOINT_URL_<SERVICE>``).
        max_attempts: total attempts per call, the first included. botocore's ``standard`` mode
            retries throttling, 5xx and connection errors with jittered exponential backoff;
            ``adaptive`` also rate-limits the client (batch jobs).
        retry_mode: ``standard``, ``adaptive`` or ``legacy``.
        connect_timeout, read_timeout: seconds, per attempt; the read timeout also bounds the
            wait between two events of a stream.
        max_pool_connections: connections kept per client (threads sharing it each need one).
        user_agent_extra: appended to the User-Agent, to tell ragbot's calls apart in CloudTrail.

    Raises:
        ValueError: an option is out of range, naming it.
    """

    region: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 4
    retry_mode: RetryMode = "standard"
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_pool_connections: int = 10
    user_agent_extra: str = "ragbot"

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts={self.max_attempts!r} must be 1 or more")
        if self.retry_mode not in RETRY_MODES:
            raise ValueError(f"retry_mode={self.retry_mode!r} is not one of 'standard', 'adaptive', 'legacy'")
        for name in ("connect_timeout", "read_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be more than 0 seconds")
        if self.max_pool_connections < 1:
            raise ValueError(f"max_pool_connections={self.max_pool_connections!r} must be 1 or more")


_loader: Any = None
_loader_lock = threading.Lock()


def new_session() -> Any:
    """A new boto3 session that shares one loader of botocore's data files with every other.

    A session per client, because boto3's default session is not thread-safe to create clients
    from, and because a session caches the credentials it resolved. But each new session would
    parse the service's model again (a few hundred milliseconds for DynamoDB's); the shared
    loader parses each file once per process. See bench/aws_clients.py.
    """
    global _loader
    import boto3
    import botocore.session

    core = botocore.session.Session()
    with _loader_lock:
        if _loader is None:
            _loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _loader)
    return boto3.session.Session(botocore_session=core)


def sdk_region(session: Any) -> str | None:
    """The region the SDK chain gives a boto3 session, with ``AWS_REGION`` as the last resort."""
    return session.region_name or os.environ.get("AWS_REGION") or None


def aws_client(service: str, options: ClientOptions, *, error: type[Exception], what: str | None = None) -> Any:
    """A boto3 client for ``service`` ("sagemaker-runtime", "bedrock-runtime", "dynamodb").

    Args:
        options: region, endpoint, retries and timeouts.
        error: the class raised when no client can be made.
        what: names the thing being called in messages (default: the service).

    Raises:
        ``error``: boto3 is missing, no region is configured, or botocore refuses the options.
    """
    what = what or service
    try:
        import boto3  # noqa: F401 - what the message below is about
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, NoRegionError
    except ImportError as e:
        raise error(f"{what} needs boto3: install it with `pip install boto3` ({e})") from e
    config = Config(
        # total_max_attempts counts the first try; botocore's "max_attempts" key would count
        # only the retries (one more request than the name suggests).
        retries={"mode": options.retry_mode, "total_max_attempts": options.max_attempts},
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        max_pool_connections=options.max_pool_connections,
        user_agent_extra=options.user_agent_extra,
    )
    try:
        session = new_session()
        region = options.region or sdk_region(session)
        return session.client(service, region_name=region, endpoint_url=options.endpoint_url, config=config)
    except NoRegionError as e:
        raise error(
            f"{what}: no AWS region is configured; set AWS_REGION or AWS_DEFAULT_REGION "
            "(or a region in the AWS profile)"
        ) from e
    except BotoCoreError as e:
        raise error(f"{what}: cannot build the AWS client: {e}") from e


class LazyClient:
    """A boto3 client made on first use, once, even when several threads ask at the same time.

    Backends hold one and call ``get()``; construction never touches the network or the
    credential chain (haystack's ``test_init_is_lazy``). A client inherited through ``fork()``
    shares the parent's connections, so a child process builds its own.

    Args:
        service: the boto3 service name.
        options: how the client is built.
        client: a ready-made client to use as it is (tests, custom sessions); never rebuilt or closed.
        error, what: as for ``aws_client``.
    """

    def __init__(
        self,
        service: str,
        options: ClientOptions | None = None,
        *,
        client: Any = None,
        error: type[Exception],
        what: str | None = None,
    ):
        self.service = service
        self.options = options or ClientOptions()
        self.error = error
        self.what = what
        self._given = client
        self._client: Any = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def made(self) -> bool:
        """Whether the client exists yet (tests check that construction stayed lazy)."""
        return self._given is not None or self._client is not None

    @property
    def current(self) -> Any:
        """The client if it was made, else None, without making it (for error messages)."""
        return self._given if self._given is not None else self._client

    @property
    def region(self) -> str:
        """The region the client talks to, for messages (the SDK chain picks it when not set)."""
        meta = getattr(self.current, "meta", None)
        return self.options.region or getattr(meta, "region_name", None) or "the default region"

    def get(self) -> Any:
        """The client, made now if it was not (raises ``error`` when it cannot be)."""
        if self._given is not None:
            return self._given
        client = self._client
        if client is not None and self._pid == os.getpid():
            return client
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = aws_client(self.service, self.options, error=self.error, what=self.what)
                self._pid = os.getpid()
            return self._client

    def close(self) -> None:
        """Close the connections of a client made here; the next ``get()`` makes a new one."""
        with self._lock:
            client, pid, self._client = self._client, self._pid, None
        if client is not None and pid == os.getpid():
            client.close()


def error_code(e: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else).

    Errors inside an event stream (ConverseStream, InvokeEndpointWithResponseStream) carry only
    ``Error.Code`` and ``Error.Message``; plain responses carry them too.
    """
    response = getattr(e, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def error_text(e: BaseException) -> str:
    """The message of a botocore ClientError (``Error.Message``), else ``str(e)``."""
    response = getattr(e, "response", None) or {}
    return str((response.get("Error") or {}).get("Message") or "") or str(e)


def transport_failure(e: BaseException, what: str) -> str | None:
    """A message for failures below the API (credentials, timeouts, dropped connections), else None.

    ``what`` names the thing being called, e.g. "SageMaker endpoint 'x' (eu-west-1)".
    """
    from botocore import exceptions as bex
    from urllib3 import exceptions as uex

    if isinstance(
        e,
        (
            bex.NoCredentialsError,
            bex.PartialCredentialsError,
            bex.CredentialRetrievalError,
            bex.TokenRetrievalError,
            bex.SSOError,
        ),
    ):
        return (
            f"No usable AWS credentials for {what}: configure the AWS SDK chain "
            f"(AWS_PROFILE, environment keys, SSO or an instance/task role) ({e})"
        )
    if isinstance(e, (bex.ReadTimeoutError, uex.ReadTimeoutError)):
        return (
            f"{what} did not answer within the read timeout: the model may be overloaded; "
            f"retry, or raise the timeout ({e})"
        )
    if isinstance(e, bex.ConnectTimeoutError):
        return f"Connecting to {what} timed out: check the network path to AWS ({e})"
    if isinstance(e, bex.EndpointConnectionError):
        return f"Cannot reach {what}: check the network and the region ({e})"
    if isinstance(e, (bex.ResponseStreamingError, uex.ProtocolError, uex.HTTPError, bex.HTTPClientError)):
        return f"The connection to {what} broke off while the answer was being read: retry ({e})"
    if isinstance(e, bex.BotoCoreError):
        return f"{what} failed: {e}"
    return None


def sagemaker_failure(
    e: BaseException, what: str, *, setting: str, max_attempts: int, error: type[E], throttled: type[E] | None = None
) -> E:
    """An error that says what went wrong with a SageMaker endpoint call and what to do.

    Args:
        e: what botocore (or urllib3 under it) raised.
        what: names the endpoint and region, e.g. "SageMaker endpoint 'x' (eu-west-1)".
        setting: the setting that names the endpoint, for the not-found hint.
        max_attempts: the attempts botocore made, for the throttling message.
        error: the class of the returned error.
        throttled: the class for throttling, when callers retry those differently (default ``error``).
    """
    from botocore.exceptions import ClientError

    if not isinstance(e, ClientError):
        return error(transport_failure(e, what) or f"{what} failed: {e}")
    code, text = error_code(e), error_text(e)
    response = e.response
    if code in ("ValidationError", "ValidationException") and "not found" in text.lower():
        return error(
            f"{what} was not found: check {setting} and the AWS region "
            f"(the endpoint must exist and be InService in that region) [{text}]"
        )
    if code == "ModelError":
        status, logs = response.get("OriginalStatusCode"), response.get("LogStreamArn")
        detail = f"The model in {what} failed" + (f" with status {status}" if status else "")
        detail += f": {response.get('OriginalMessage') or text}"
        return error(detail + (f" (logs: {logs})" if logs else ""))
    if code == "ModelStreamError":
        # An error event inside the stream: botocore fills only Error.Code and Error.Message.
        return error(f"The model in {what} failed while streaming: {text}")
    if code == "InternalStreamFailure":
        return error(f"{what} broke off the answer stream (InternalStreamFailure): {text}; retry")
    if code in THROTTLING_CODES:
        return (throttled or error)(
            f"{what} is throttling requests ({code}) after {max_attempts} attempts: "
            f"retry later or add instances to the endpoint [{text}]"
        )
    if code in ("ModelNotReadyException", "ServiceUnavailable", "InternalFailure", "InternalDependencyException"):
        return error(f"{what} is not ready ({code}): {text}; retry in a minute")
    if code in ("AccessDeniedException", "AccessDenied"):
        return error(
            f"Access to {what} was denied: allow sagemaker:InvokeEndpoint and "
            f"sagemaker:InvokeEndpointWithResponseStream on it for this role [{text}]"
        )
    return error(f"{what} refused the request ({code}): {text}")


def is_aws_error(e: BaseException) -> bool:
    """Whether ``e`` comes from botocore or the HTTP layer under it."""
    return type(e).__module__.startswith(("botocore", "urllib3"))
