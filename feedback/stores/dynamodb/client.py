"""The store's boto3 client, made on first use (and again in a forked child), and DynamoDB's
errors turned into feedback's: StoreUnavailable for what a later retry or a fix of the
deployment cures, FeedbackError for a request DynamoDB refuses."""

from __future__ import annotations

from typing import Any

from common.aws import ClientOptions, LazyClient, RetryMode
from feedback.errors import FeedbackError, StoreUnavailable

try:
    import botocore.exceptions
except ImportError:  # pragma: no cover - boto3 is in requirements.txt; LazyClient says how to install it
    botocore = None

__all__ = ["RetryMode", "TableClient", "botocore"]

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
# and the writes are worth keeping until then (see feedback/stores/outbox/).
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
        options: region, endpoint, retries and timeouts of the client.
        client: a ready boto3 DynamoDB client to use instead of building one.
    """

    def __init__(self, table_name: str, options: ClientOptions, *, client: Any = None):
        self.table_name = table_name
        self.options = options
        self._aws = LazyClient(
            "dynamodb", options, client=client, error=StoreUnavailable, what=f"DynamoDB table {table_name!r}"
        )

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use (and again in a forked child)."""
        return self._aws.get()

    @property
    def made(self) -> bool:
        return self._aws.made

    def close(self) -> None:
        """Close the client's connections; the next call opens new ones."""
        self._aws.close()

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
            index = kwargs.get("IndexName")
            if index and index in message and code in ("ResourceNotFoundException", "ValidationException"):
                raise StoreUnavailable(
                    f"{where} has no index {index!r}: it was made by an older ragbot; run "
                    f"`ragbot feedback init-table` to add it ({message})"
                ) from e
            if code == "ResourceNotFoundException":
                raise StoreUnavailable(
                    f"{where} does not exist in this region; create it with `ragbot feedback init-table` "
                    f"or deploy/dynamodb-table.yaml ({message})"
                ) from e
            if code in _TRANSIENT:
                raise StoreUnavailable(f"{where}: {code} after {self.options.max_attempts} attempts: {message}") from e
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
