"""Shared AWS plumbing for the SageMaker and Bedrock backends: clients built lazily with bounded
retries and timeouts, and errors turned into messages that say what to do.

Region and credentials always come from the AWS SDK's own chain, never from ragbot's settings.
"""

from __future__ import annotations

import threading
from typing import Any

from rag.errors import GeneratorError, RagError, ThrottledError

# Error codes that mean "too many requests" across SageMaker and Bedrock (botocore's standard
# retry mode has already retried them when they reach us).
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException"}
)


def aws_client(
    service: str,
    *,
    region: str | None,
    endpoint_url: str | None = None,
    max_attempts: int = 4,
    connect_timeout: float = 10.0,
    read_timeout: float = 120.0,
    error: type[RagError] = GeneratorError,
):
    """A boto3 client with bounded retries and timeouts; region and credentials from the SDK chain.

    Args:
        service: boto3 service name ("sagemaker-runtime", "bedrock-runtime").
        region: overrides the SDK's region; ``None`` uses AWS_REGION, the profile, etc.
        endpoint_url: a VPC endpoint or a local test server; ``None`` for the public endpoint.
        max_attempts: total attempts per call, the first included (botocore "standard" mode
            retries throttling, 5xx and connection errors with jittered exponential backoff).
        connect_timeout, read_timeout: seconds; the read timeout also bounds the wait between
            two events of a stream.
        error: the error class raised when no client can be made.
    Raises:
        ``error`` when boto3 is missing or no region is configured.
    """
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import NoRegionError
    except ImportError as e:
        raise error(f"The AWS backends need boto3: install it with `pip install boto3` ({e})") from e
    config = Config(
        retries={"total_max_attempts": max(1, max_attempts), "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra="ragbot",
    )
    try:
        return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url, config=config)
    except NoRegionError as e:
        raise error(
            f"No AWS region is configured for {service}: set AWS_REGION (or a profile's region) "
            "or pass region="
        ) from e


def client_region(region: str | None, client: Any) -> str:
    """The region a client talks to, for messages (the SDK chain picks it when ``region`` is None)."""
    return region or getattr(getattr(client, "meta", None), "region_name", None) or "the default region"


def error_code(e: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(e, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_text(e: BaseException) -> str:
    response = getattr(e, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(e)


def transport_failure(e: BaseException, what: str) -> str | None:
    """A message for failures below the API (credentials, timeouts, dropped connections), else None.

    ``what`` names the thing being called, e.g. "SageMaker endpoint 'x' (eu-west-1)".
    """
    from botocore import exceptions as bex
    from urllib3 import exceptions as uex

    if isinstance(e, (bex.NoCredentialsError, bex.PartialCredentialsError, bex.CredentialRetrievalError)):
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
    e: BaseException, what: str, *, setting: str, max_attempts: int, error: type[RagError] = GeneratorError
) -> RagError:
    """An error that says what went wrong with a SageMaker endpoint call and what to do.

    Args:
        e: what botocore (or urllib3 under it) raised.
        what: names the endpoint and region, e.g. "SageMaker endpoint 'x' (eu-west-1)".
        setting: the setting that names the endpoint, for the not-found hint.
        max_attempts: the attempts botocore made, for the throttling message.
        error: the class of the returned error.
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
        inner = response.get("ErrorCode")
        return error(f"The model in {what} failed while streaming: {text}" + (f" ({inner})" if inner else ""))
    if code == "InternalStreamFailure":
        return error(f"{what} broke off the answer stream (InternalStreamFailure): {text}; retry")
    if code in THROTTLING_CODES:
        return (ThrottledError if error is GeneratorError else error)(
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


class LazyClient:
    """A boto3 client made on first use, once, even when several threads ask at the same time.

    Backends hold one and read ``.get()``; construction never touches the network or the
    credential chain (haystack's ``test_init_is_lazy``). ``client`` injects a ready-made client.
    """

    def __init__(self, service: str, *, client: Any = None, error: type[RagError] = GeneratorError, **options: Any):
        self.service = service
        self.options = options
        self.error = error
        self._client = client
        self._lock = threading.Lock()

    @property
    def made(self) -> bool:
        """Whether the client exists yet (tests check that construction stayed lazy)."""
        return self._client is not None

    @property
    def current(self):
        """The client if it was made, else None, without making it (for error messages)."""
        return self._client

    def get(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = aws_client(self.service, error=self.error, **self.options)
        return self._client
