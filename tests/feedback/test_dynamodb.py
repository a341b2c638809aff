"""The DynamoDB feedback store against moto's standalone server, over HTTP through boto3.

The contract suite runs twice: with one write shard (the default) and with four, where every
listing merges partitions. The rest covers what only DynamoDB has: the item size limit, the
conditional writes, the SDK's configuration chain, error mapping and the table definition.
"""

from __future__ import annotations

import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
import yaml
from botocore.stub import Stubber

from feedback.errors import FeedbackError, StoreUnavailable
from feedback.records import CitationRecord, Feedback, JudgeScore, Review
from feedback.stores.base import InteractionFilter
from feedback.stores.dynamodb import (
    FILTER_ATTRIBUTES,
    INDEXES,
    DynamoDBFeedbackStore,
    _Expression,
    _filter_expression,
    decode_cursor,
    encode_cursor,
    init_table,
    item_size,
    source_prefixes,
    table_definition,
)
from tests.feedback.conftest import free_port
from tests.feedback.contract import T0, FeedbackStoreContract, ids, list_all, make, spoiled

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def spoil_dynamodb(store: DynamoDBFeedbackStore, interaction_id: str, **changes) -> None:
    text = raw_item(store, interaction_id)["record"]["S"]
    store.client.update_item(
        TableName=store.table_name,
        Key={"id": {"S": interaction_id}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "record"},
        ExpressionAttributeValues={":r": {"S": spoiled(text, **changes)}},
    )


class TestDynamoDBFeedbackStore(FeedbackStoreContract):
    @pytest.fixture
    def store(self, dynamodb_store):
        return dynamodb_store

    @pytest.fixture
    def spoil(self):
        return spoil_dynamodb


class TestShardedDynamoDBFeedbackStore(FeedbackStoreContract):
    """The same contract with the hot index keys spread over four partitions that reads merge."""

    @pytest.fixture
    def store(self, aws_env, table_name):
        s = DynamoDBFeedbackStore(table_name, write_shards=4)
        s.create_table()
        yield s
        s.client.delete_table(TableName=table_name)
        s.close()

    @pytest.fixture
    def spoil(self):
        return spoil_dynamodb


def raw_item(store: DynamoDBFeedbackStore, interaction_id: str) -> dict:
    return store.client.get_item(TableName=store.table_name, Key={"id": {"S": interaction_id}}, ConsistentRead=True)[
        "Item"
    ]


# -- configuration and the client --------------------------------------------------------------


def test_nothing_is_created_or_contacted_before_first_use(monkeypatch):
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(key, raising=False)
    store = DynamoDBFeedbackStore("t", endpoint_url=f"http://127.0.0.1:{free_port()}")
    assert store._client_obj is None
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


# -- items, sizes, conditional writes ----------------------------------------------------------


def test_item_layout(dynamodb_store):
    dynamodb_store.put(make("a", user="ana", sources=("Design/Criteria/lighting.pdf", "notes.md")))
    item = raw_item(dynamodb_store, "a")
    assert item["created_key"] == {"S": "2025-03-14T09:00:00.000000Z#a"}
    assert item["time_pk"] == {"S": "ALL#0"} and item["rating_pk"] == {"S": "unrated#0"}
    assert item["review_pk"] == {"S": "unreviewed#0"} and "rating" not in item
    assert set(item["source_prefixes"]["SS"]) == {
        "Design",
        "Design/Criteria",
        "Design/Criteria/lighting.pdf",
        "notes.md",
    }
    assert item["version"] == {"N": "1"}
    dynamodb_store.set_feedback("a", Feedback(rating=2, correction="25 kN/m2"))
    item = raw_item(dynamodb_store, "a")
    assert item["version"] == {"N": "2"} and item["rating"] == {"N": "2"} and item["rating_pk"] == {"S": "2#0"}
    assert item["has_correction"] == {"BOOL": True}
    dynamodb_store.put(make("a"))  # a replay keeps the rating and bumps the version
    item = raw_item(dynamodb_store, "a")
    assert item["version"] == {"N": "3"} and item["rating"] == {"N": "2"}


def test_source_prefixes():
    assert source_prefixes(["a/b/c.pdf", "a/d.pdf", "e.md"]) == {"a", "a/b", "a/b/c.pdf", "a/d.pdf", "e.md"}
    assert source_prefixes([]) == set()


@pytest.mark.parametrize(
    "filters",
    [
        InteractionFilter(
            user="ana",
            session_id="s",
            min_rating=1,
            max_rating=4,
            rated=True,
            has_correction=True,
            review_status="validated",
            source_prefix="Design",
        ),
        InteractionFilter(user="", session_id="", rated=False),
    ],
)
def test_every_filtered_attribute_is_projected_into_every_index(filters):
    definition = table_definition("t")
    for index in definition["GlobalSecondaryIndexes"]:
        partition = index["KeySchema"][0]["AttributeName"]
        expr = _Expression()
        _filter_expression(filters, skip=partition, expr=expr)
        projected = set(index["Projection"]["NonKeyAttributes"]) | {partition, "id", "created_key"}
        assert set(expr.names.values()) <= projected, index["IndexName"]
    assert set(FILTER_ATTRIBUTES) >= {"user", "session_id", "rating", "has_correction", "review_status"}


def test_moto_enforces_the_400_kb_item_limit(dynamodb_store):
    # Without this, the truncation tests below would prove nothing.
    with pytest.raises(botocore.exceptions.ClientError, match="maximum allowed size"):
        dynamodb_store.client.put_item(
            TableName=dynamodb_store.table_name, Item={"id": {"S": "big"}, "x": {"S": "a" * 410_000}}
        )


def test_a_one_megabyte_context_is_cut_not_dropped(dynamodb_store):
    context = "".join(
        f"[{i}] Design/Criteria/structure.pdf p.{i} — slab load 50 kN/m² clause {i}.\n" for i in range(16_000)
    )
    assert len(context.encode()) > 1_000_000
    original = make("big", context=context, sources=("Design/a.pdf",))
    dynamodb_store.put(original)
    got = dynamodb_store.get("big")
    assert got.context_truncated is True
    assert got.context.startswith(context[:100_000])
    assert re.search(r"\[… [\d,]+ of [\d,]+ characters cut by ragbot", got.context[-200:])
    assert got.question == original.question and got.answer == original.answer
    assert got.citations == original.citations
    assert item_size(raw_item(dynamodb_store, "big")) <= dynamodb_store.max_item_bytes < 400_000
    assert not original.context_truncated, "the caller's record is not changed"
    assert ids(dynamodb_store.list(InteractionFilter(source_prefix="Design"))) == ["big"]
    # Room is left for the largest feedback the records allow, and a replayed put keeps it.
    updated = dynamodb_store.set_feedback("big", Feedback(rating=1, correction="ü" * 20_000, note="n" * 5_000))
    assert updated.feedback.correction == "ü" * 20_000
    dynamodb_store.put(original)
    assert dynamodb_store.get("big").feedback.rating == 1


def test_huge_citation_passages_are_cut_after_the_context(dynamodb_store):
    citations = [
        CitationRecord(n=i + 1, source=f"Specs/doc{i}.pdf", page=i + 1, chunk_id=f"c{i}", score=0.9, text=t * 90_000)
        for i, t in enumerate("abcde")
    ]  # 450 KB of passages: more than the item holds even without the context
    record = make("cites", context="x" * 100_000).model_copy(update={"citations": citations})
    dynamodb_store.put(record)
    got = dynamodb_store.get("cites")
    assert got.context_truncated is True
    assert "characters cut by ragbot" in got.context
    where = [(c.source, c.page, c.chunk_id) for c in citations]
    assert [(c.source, c.page, c.chunk_id) for c in got.citations] == where
    # Every passage keeps its beginning; they are cut down to about the same length.
    for c, letter in zip(got.citations, "abcde", strict=True):
        assert c.text.startswith(letter * 1000) and "characters cut by ragbot" in c.text[-100:]
    lengths = [len(c.text) for c in got.citations]
    assert max(lengths) - min(lengths) < 10
    assert item_size(raw_item(dynamodb_store, "cites")) <= dynamodb_store.max_item_bytes


def test_a_small_record_is_not_marked_truncated(dynamodb_store):
    dynamodb_store.put(make("small", context="short"))
    assert dynamodb_store.get("small").context_truncated is False


def test_a_write_that_loses_a_race_is_redone_on_top_of_the_winner(dynamodb_store, aws_env, table_name):
    """Another process writes the record between our read and our conditional write."""
    rival = DynamoDBFeedbackStore(table_name)
    dynamodb_store.put(make("a"))
    raced = []

    def sneak_in(**kwargs):
        if not raced:
            raced.append(True)
            rival.set_judge("a", JudgeScore(score=2.0, judge_model="rival"))

    dynamodb_store.client.meta.events.register("before-call.dynamodb.PutItem", sneak_in)
    updated = dynamodb_store.set_feedback("a", Feedback(rating=4))
    assert raced
    assert updated.judge.judge_model == "rival" and updated.feedback.rating == 4
    got = dynamodb_store.get("a")
    assert got.judge.judge_model == "rival" and got.feedback.rating == 4
    assert raw_item(dynamodb_store, "a")["version"] == {"N": "3"}
    rival.close()


def test_concurrent_updates_of_one_record_lose_nothing(dynamodb_store):
    dynamodb_store.put(make("shared"))
    rounds = 12

    def rate(i):
        dynamodb_store.set_feedback("shared", Feedback(rating=1 + i % 5, note=f"fb-{i}"))

    def judge(i):
        dynamodb_store.set_judge("shared", JudgeScore(score=i % 5, judge_model="j", reason=f"judge-{i}"))

    def review(i):
        dynamodb_store.set_review("shared", Review(status="validated", reviewer=f"sme-{i}"))

    def replay(i):
        dynamodb_store.put(make("shared"))

    def writer(fn):
        for i in range(rounds):
            fn(i)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, [rate, judge, review, replay]))
    got = dynamodb_store.get("shared")
    assert got.feedback.note == f"fb-{rounds - 1}"
    assert got.judge.reason == f"judge-{rounds - 1}"
    assert got.review.reviewer == f"sme-{rounds - 1}"
    assert raw_item(dynamodb_store, "shared")["version"] == {"N": str(1 + 4 * rounds)}


def test_an_empty_user_or_session_is_stored_and_found(dynamodb_store):
    dynamodb_store.put(make("anon", user="", session_id=""))
    dynamodb_store.put(make("named", minutes=1))
    assert ids(dynamodb_store.list(InteractionFilter(user=""))) == ["anon"]
    assert ids(dynamodb_store.list(InteractionFilter(session_id=""))) == ["anon"]
    assert [s.turns for s in dynamodb_store.sessions("")] == [1]


# -- listing -----------------------------------------------------------------------------------


def test_a_sparse_filter_keeps_querying_until_the_page_is_full(dynamodb_store):
    for i in range(60):
        dynamodb_store.put(make(f"i{i:02d}", minutes=i))
        if i % 10 == 3:
            dynamodb_store.set_feedback(f"i{i:02d}", Feedback(rating=2, correction="fix"))
    dynamodb_store.read_ahead = 3  # DynamoDB evaluates 3 entries per request: most pages hold nothing
    queries = []
    dynamodb_store.client.meta.events.register("before-call.dynamodb.Query", lambda **kw: queries.append(1))
    first = dynamodb_store.list(InteractionFilter(has_correction=True), limit=4)
    assert ids(first) == ["i53", "i43", "i33", "i23"]
    assert len(queries) > 5, "short DynamoDB pages were followed"
    second = dynamodb_store.list(InteractionFilter(has_correction=True), limit=4, cursor=first.next_cursor)
    assert ids(second) == ["i13", "i03"] and second.next_cursor is None


def test_rating_ranges_merge_the_rating_partitions(dynamodb_store):
    for i in range(15):
        dynamodb_store.put(make(f"i{i:02d}", minutes=i))
        if i % 3:
            dynamodb_store.set_feedback(f"i{i:02d}", Feedback(rating=1 + i % 5))
    expected = [f"i{i:02d}" for i in range(14, -1, -1) if i % 3 and 2 <= 1 + i % 5 <= 4]
    assert list_all(dynamodb_store, InteractionFilter(min_rating=2, max_rating=4)) == expected
    pages, cursor = [], None
    while True:
        page = dynamodb_store.list(InteractionFilter(min_rating=2, max_rating=4), limit=2, cursor=cursor)
        pages += ids(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == expected
    assert ids(dynamodb_store.list(InteractionFilter(min_rating=4, max_rating=2))) == []


def test_until_and_cursor_bound_the_listing_together(dynamodb_store):
    for i in range(10):
        dynamodb_store.put(make(f"i{i}", minutes=i))
    f = InteractionFilter(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=8))
    first = dynamodb_store.list(f, limit=3)
    assert ids(first) == ["i7", "i6", "i5"]
    second = dynamodb_store.list(f, limit=3, cursor=first.next_cursor)
    assert ids(second) == ["i4", "i3", "i2"] and second.next_cursor is None


@pytest.mark.parametrize("interaction_id", ["plain", "with#hash", "ünïcode/ id", "x" * 300])
def test_cursor_roundtrip(interaction_id):
    key = f"2025-03-14T09:00:00.000000Z#{interaction_id}"
    assert decode_cursor(encode_cursor(key)) == key


# -- the table ---------------------------------------------------------------------------------


def test_create_table_is_idempotent_and_describes_itself(aws_env, table_name):
    store = DynamoDBFeedbackStore(table_name)
    message = init_table(store)
    assert message.startswith(f"created table {table_name!r}") and "point-in-time recovery on" in message
    assert "already exists (ACTIVE) with every index" in store.create_table()
    client = store.client
    table = client.describe_table(TableName=table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == sorted(INDEXES)
    assert table["SSEDescription"]["Status"] == "ENABLED"
    backups = client.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    client.delete_table(TableName=table_name)


def test_an_existing_table_without_the_indexes_is_reported(aws_env, table_name):
    store = DynamoDBFeedbackStore(table_name)
    store.client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    assert "lacks the indexes by_time, by_user" in store.create_table()
    store.client.delete_table(TableName=table_name)


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt) as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix} {node.value}")


def test_the_cloudformation_template_matches_create_table():
    template = yaml.load((ROOT / "deploy" / "dynamodb-table.yaml").read_text(), Loader=_CloudFormationLoader)
    (resource,) = template["Resources"].values()
    assert resource["Type"] == "AWS::DynamoDB::Table"
    props = resource["Properties"]
    code = table_definition("t")

    def by_name(items, key):
        return {item[key]: item for item in items}

    assert props["BillingMode"] == code["BillingMode"] == "PAY_PER_REQUEST"
    assert by_name(props["AttributeDefinitions"], "AttributeName") == by_name(
        code["AttributeDefinitions"], "AttributeName"
    )
    assert props["KeySchema"] == code["KeySchema"]
    template_indexes = by_name(props["GlobalSecondaryIndexes"], "IndexName")
    code_indexes = by_name(code["GlobalSecondaryIndexes"], "IndexName")
    assert template_indexes.keys() == code_indexes.keys()
    for name, index in code_indexes.items():
        mine = template_indexes[name]
        assert mine["KeySchema"] == index["KeySchema"], name
        assert mine["Projection"]["ProjectionType"] == index["Projection"]["ProjectionType"], name
        assert sorted(mine["Projection"]["NonKeyAttributes"]) == sorted(index["Projection"]["NonKeyAttributes"]), name
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True} and code["SSESpecification"] == {"Enabled": True}


def test_parallel_stores_share_the_client_safely(dynamodb_store):
    """Streamlit's script threads share one store (and so one client)."""
    errors = []

    def work(n):
        try:
            for i in range(10):
                dynamodb_store.put(make(f"t{n}-{i}", user=f"u{n}", minutes=i))
                dynamodb_store.set_feedback(f"t{n}-{i}", Feedback(rating=1 + i % 5))
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list_all(dynamodb_store)) == 60
    assert all(len(ids(dynamodb_store.list(InteractionFilter(user=f"u{n}")))) == 10 for n in range(6))
