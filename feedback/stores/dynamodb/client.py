"""The store's boto3 client, made on first use (and again in a forked child), and DynamoDB's
errors turned into feedback's: StoreUnavailable for what a later retry or a fix of the
deployment cures, FeedbackError for a request DynamoDB refuses."""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

from feedback.errors import FeedbackError, StoreUnavailable

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:  # pragma: no cover - boto3 is in requirements.txt
    boto3 = None

RetryMode = Literal["standard", "adaptive", "legacy"]

# ClientError codes that mean "not now", after botocore's own retries.
_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "LimitExceededException",
    "TransactionConflictException",
}
# ClientError codes of a deployment problem: the store cannot be used until someone fixes it,
# and the writes are worth keeping until then (see feedback/outbox.py).
_MISCONFIGURED = {
    "UnrecognizedClientException": "the AWS credentials are not valid",
    "InvalidSignatureException": "the AWS credentials are not valid",
    "ExpiredTokenException": "the AWS credentials have expired; renew them (aws sso login, or the role)",
    "AccessDeniedException": "the AWS identity may not use this table; grant it dynamodb access",
    "MissingAuthenticationTokenException": "no AWS credentials were sent",
}


class TableClient:
    """Calls on one table through a boto3 client with botocore's retries and timeouts.

    Args:
        table_name: the table, for messages.
        client: a ready boto3 DynamoDB client to use instead of building one.
        region, endpoint_url: instead of the SDK's.
        retry_mode, max_attempts: botocore's retry configuration (``max_attempts`` counts the first try).
        connect_timeout, read_timeout: seconds, per attempt.
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        retry_mode: RetryMode = "standard",
        max_attempts: int = 4,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
    ):
        self.table_name = table_name
        self.region = region
        self.endpoint_url = endpoint_url
        self.retry_mode = retry_mode
        self.max_attempts = max_attempts
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._given_client = client
        self._client_obj: Any = None
        self._client_pid: int | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use."""
        if self._given_client is not None:
            return self._given_client
        client = self._client_obj
        if client is not None and self._client_pid == os.getpid():
            return client
        with self._lock:
            if self._client_obj is None or self._client_pid != os.getpid():
                # A client inherited through fork() shares the parent's connections; build a new one.
                self._client_obj = self._build_client()
                self._client_pid = os.getpid()
            return self._client_obj

    def _build_client(self) -> Any:
        if boto3 is None:
            raise ImportError("The DynamoDB feedback store needs boto3. Install it with `pip install boto3`.")
        config = botocore.config.Config(
            # total_max_attempts counts the first try; botocore's "max_attempts" key would count
            # only the retries (one more request than the name suggests).
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=32,
            user_agent_extra="ragbot-feedback",
        )
        try:
            # A session per store: boto3's default session is not thread-safe to create clients from.
            session = boto3.session.Session()
            # botocore reads AWS_DEFAULT_REGION and the profile but not AWS_REGION, the variable
            # the other AWS SDKs, Lambda and ECS use; honour it when botocore found nothing.
            region = self.region or session.region_name or os.environ.get("AWS_REGION") or None
            return session.client("dynamodb", region_name=region, endpoint_url=self.endpoint_url, config=config)
        except botocore.exceptions.NoRegionError as e:
            raise StoreUnavailable(
                f"DynamoDB table {self.table_name!r}: no AWS region is configured; set AWS_REGION "
                "or AWS_DEFAULT_REGION (or a region in the AWS profile)"
            ) from e
        except botocore.exceptions.BotoCoreError as e:
            raise StoreUnavailable(f"DynamoDB table {self.table_name!r}: cannot build the AWS client: {e}") from e

    def close(self) -> None:
        """Close the client's connections; the next call opens new ones."""
        with self._lock:
            client, self._client_obj = self._client_obj, None
        if client is not None and self._client_pid == os.getpid():
            client.close()

    def call(self, operation: str, *, passthrough: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call with SDK errors turned into ours; ClientErrors in ``passthrough`` stay as they are."""
        try:
            return getattr(self.client, operation)(**kwargs)
        except botocore.exceptions.ClientError as e:
            error = e.response.get("Error", {})
            code, message = error.get("Code", ""), error.get("Message", str(e))
            if code in passthrough:
                raise
            where = f"DynamoDB table {self.table_name!r}"
            if code == "ResourceNotFoundException":
                raise StoreUnavailable(
                    f"{where} does not exist in this region; create it with `ragbot feedback init-table` "
                    f"or deploy/dynamodb-table.yaml ({message})"
                ) from e
            if code in _TRANSIENT:
                raise StoreUnavailable(f"{where}: {code} after {self.max_attempts} attempts: {message}") from e
            if code in _MISCONFIGURED:
                raise StoreUnavailable(f"{where}: {_MISCONFIGURED[code]} ({code}: {message})") from e
            raise FeedbackError(f"{where} refused {operation}: {code}: {message}") from e
        except (
            botocore.exceptions.ConnectionError,  # EndpointConnectionError, ConnectTimeoutError, ...
            botocore.exceptions.HTTPClientError,  # ReadTimeoutError, ConnectionClosedError
        ) as e:
            raise StoreUnavailable(f"DynamoDB table {self.table_name!r} cannot be reached: {e}") from e
        except (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.CredentialRetrievalError,
            botocore.exceptions.TokenRetrievalError,
            botocore.exceptions.SSOError,
        ) as e:
            raise StoreUnavailable(
                f"DynamoDB table {self.table_name!r}: no usable AWS credentials ({e}); configure them the "
                "AWS way (environment, profile, or an instance/task role)"
            ) from e
