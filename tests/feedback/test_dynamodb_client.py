"""The DynamoDB feedback store's client and errors, against moto's server and botocore's Stubber:
the SDK's configuration chain, retries and timeouts, and every failure mapped to StoreUnavailable
(try later, the outbox keeps the write) or FeedbackError (a request DynamoDB refuses)."""

from __future__ import annotations

import socket

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from feedback.errors import FeedbackError, StoreUnavailable
from feedback.stores.dynamodb import DynamoDBFeedbackStore
from tests.feedback.contract import make
from bench.servers import free_port

pytestmark = pytest.mark.integration


# -- configuration and the client --------------------------------------------------------------


def test_nothing_is_created_or_contacted_before_first_use(monkeypatch):
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(key, raising=False)
    store = DynamoDBFeedbackStore("t", endpoint_url=f"http://127.0.0.1:{free_port()}")
    assert not store._table.made
    assert "t" in repr(store)


def test_region_and_endpoint_come_from_the_sdk_environment(dynamodb_store, aws_env):
    # The fixture's store was built from the table name alone.
    assert dynamodb_store.client.meta.endpoint_url == aws_env.url
    assert dynamodb_store.client.meta.region_name == "us-east-1"
    dynamodb_store.put(make("a"))
    assert dynamodb_store.get("a") is not None


def test_aws_region_is_honoured_although_botocore_reads_only_aws_default_region(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    assert DynamoDBFeedbackStore("t").client.meta.region_name == "ap-southeast-2"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")  # botocore's own variable wins
    assert DynamoDBFeedbackStore("t").client.meta.region_name == "eu-central-1"


def test_retries_and_timeouts_are_configured(aws_env):
    store = DynamoDBFeedbackStore("t", retry_mode="adaptive", max_attempts=3, connect_timeout=1.5, read_timeout=4)
    config = store.client.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (1.5, 4)


def test_explicit_region_and_endpoint_win(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    store = DynamoDBFeedbackStore("t", region="eu-west-1", endpoint_url=aws_env.url)
    assert store.client.meta.endpoint_url == aws_env.url
    assert store.client.meta.region_name == "eu-west-1"


@pytest.mark.parametrize(
    ("argument", "value"),
    [("write_shards", 0), ("max_attempts", 0), ("retry_mode", "eager"), ("max_item_bytes", 500_000)],
)
def test_bad_arguments_name_themselves(argument, value):
    with pytest.raises(ValueError, match=f"{argument}={value!r}"):
        DynamoDBFeedbackStore("t", **{argument: value})


# -- errors ------------------------------------------------------------------------------------


def test_an_unreachable_endpoint_is_store_unavailable(aws_env):
    store = DynamoDBFeedbackStore("t", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1)
    for call in (lambda: store.put(make("a")), lambda: store.get("a"), lambda: store.list()):
        with pytest.raises(StoreUnavailable, match="cannot be reached") as info:
            call()
        assert isinstance(info.value.__cause__, botocore.exceptions.EndpointConnectionError)


def test_a_server_that_never_answers_is_store_unavailable(aws_env):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (in the backlog) and never replies
    try:
        port = listener.getsockname()[1]
        store = DynamoDBFeedbackStore("t", endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, read_timeout=0.3)
        with pytest.raises(StoreUnavailable) as info:
            store.get("a")
        assert isinstance(info.value.__cause__, botocore.exceptions.ReadTimeoutError)
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailable", 503),
        ("AccessDeniedException", 400),
        ("ExpiredTokenException", 400),
    ],
)
def test_throttling_server_and_credential_errors_are_store_unavailable(code, status):
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stub:
        stub.add_client_error("get_item", service_error_code=code, http_status_code=status)
        with pytest.raises(StoreUnavailable, match=code) as info:
            DynamoDBFeedbackStore("t", client=client).get("a")
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)


def test_a_request_dynamodb_rejects_is_not_store_unavailable():
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stub:
        stub.add_client_error("get_item", service_error_code="ValidationException", service_message="bad key")
        with pytest.raises(FeedbackError, match="bad key") as info:
            DynamoDBFeedbackStore("t", client=client).get("a")
    assert not isinstance(info.value, StoreUnavailable)


def test_a_missing_table_says_how_to_create_it(aws_env):
    store = DynamoDBFeedbackStore("no-such-table")
    with pytest.raises(StoreUnavailable, match="init-table"):
        store.put(make("a"))


def test_missing_credentials_are_store_unavailable(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StoreUnavailable, match="credentials") as info:
        DynamoDBFeedbackStore("t").get("a")
    assert isinstance(info.value.__cause__, botocore.exceptions.NoCredentialsError)


def test_a_missing_region_is_store_unavailable_with_the_fix(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(StoreUnavailable, match="AWS_REGION"):
        DynamoDBFeedbackStore("t").get("a")
