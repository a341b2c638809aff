"""DynamoDB-compatible servers for the feedback tests, started on 127.0.0.1 (tests/feedback/servers.py).

The tests reach them over HTTP through the real boto3 code path (signing, retries, errors); no
in-process patching. One moto server serves the session, and one feedback table per write-shard
count serves every test that needs an empty store: a table with five indexes takes moto about
half a second to create, emptying it a few milliseconds, so each such test starts by emptying
the shared table instead of creating its own. Tests of table creation use tables of their own.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.feedback.servers import AWS_CLEARED, AWS_TEST_ENV, MotoServer


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> MotoServer:
    """One moto server for the whole session; tests that kill a server start their own."""
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoServer:
    """Test credentials and region, and the SDK's own endpoint variable pointing at the server.

    Stores built without ``endpoint_url``/``region`` then find the server the way a deployment
    finds DynamoDB: through ``AWS_ENDPOINT_URL_DYNAMODB`` and ``AWS_REGION``.
    """
    for key in AWS_CLEARED:
        monkeypatch.delenv(key, raising=False)
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.url)
    # No ~/.aws of whoever runs the tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return moto_server


@pytest.fixture
def table_name() -> str:
    """A table no other test uses."""
    return f"feedback-{uuid.uuid4().hex[:12]}"


def _admin_client(server: MotoServer):
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=server.url,
        region_name=AWS_TEST_ENV["AWS_REGION"],
        aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def admin_client(moto_server):
    """A client of the session's server for the fixtures' own calls (boto3 takes a while to make one)."""
    client = _admin_client(moto_server)
    yield client
    client.close()


@pytest.fixture(scope="session")
def shared_tables(admin_client):
    """The session's feedback tables by write-shard count, created on first use."""
    from feedback.stores.dynamodb import DynamoDBFeedbackStore

    tables: dict[int, str] = {}

    def table(write_shards: int) -> str:
        if write_shards not in tables:
            name = f"feedback-shared-{write_shards}-{uuid.uuid4().hex[:6]}"
            DynamoDBFeedbackStore(name, client=admin_client, write_shards=write_shards).create_table()
            tables[write_shards] = name
        return tables[write_shards]

    return table


def empty_table(client, table: str) -> None:
    """Delete every item of ``table`` (a test's leftovers; consistent reads, so none is missed)."""
    kwargs = {"TableName": table, "ProjectionExpression": "#id", "ExpressionAttributeNames": {"#id": "id"}}
    keys = []
    while True:
        page = client.scan(ConsistentRead=True, **kwargs)
        keys += [{"id": item["id"]} for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for start in range(0, len(keys), 25):  # BatchWriteItem takes 25 requests at most
        request = {table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


@pytest.fixture
def make_dynamodb_store(aws_env, shared_tables, admin_client):
    """``make(write_shards=1, **options)``: an empty DynamoDBFeedbackStore on the session's table
    for that shard count, built from the SDK environment like a deployment's."""
    from feedback.stores.dynamodb import DynamoDBFeedbackStore

    made = []

    def make(write_shards: int = 1, **options) -> DynamoDBFeedbackStore:
        table = shared_tables(write_shards)
        empty_table(admin_client, table)
        store = DynamoDBFeedbackStore(table, write_shards=write_shards, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def dynamodb_store(make_dynamodb_store):
    """An empty DynamoDBFeedbackStore (one write shard) on the session's moto server."""
    return make_dynamodb_store()
