"""The DynamoDB feedback store against moto's standalone server, over HTTP through boto3.

The contract suite runs twice: with one write shard (the default) and with four, where every
listing merges partitions. The rest covers what only DynamoDB has: the item size limit, the
conditional writes, the SDK's configuration chain, error mapping and the table definition.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import botocore.exceptions
import pytest

from feedback.errors import StoreUnavailable
from feedback.records import CitationRecord, Feedback, JudgeScore, Review
from feedback.stores.base import InteractionFilter
from feedback.stores.cursor import decode_cursor
from feedback.stores.dynamodb import (
    FILTER_ATTRIBUTES,
    DynamoDBFeedbackStore,
    Expression,
    cursor_after,
    filter_expression,
    item_size,
    key_after,
    source_prefixes,
    table_definition,
)
from tests.feedback.contract import (
    T0,
    AuditLogContract,
    FeedbackStoreContract,
    ReviewQueueContract,
    ids,
    list_all,
    make,
    spoiled,
)

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


class TestDynamoDBFeedbackStore(FeedbackStoreContract, AuditLogContract, ReviewQueueContract):
    @pytest.fixture
    def store(self, dynamodb_store):
        return dynamodb_store

    @pytest.fixture
    def spoil(self):
        return spoil_dynamodb


class TestShardedDynamoDBFeedbackStore(FeedbackStoreContract):
    """The same contract with the hot index keys spread over four partitions that reads merge."""

    @pytest.fixture
    def store(self, make_dynamodb_store):
        return make_dynamodb_store(write_shards=4)

    @pytest.fixture
    def spoil(self):
        return spoil_dynamodb


def raw_item(store: DynamoDBFeedbackStore, interaction_id: str) -> dict:
    return store.client.get_item(TableName=store.table_name, Key={"id": {"S": interaction_id}}, ConsistentRead=True)[
        "Item"
    ]


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
            min_judge_score=1.0,
            max_judge_score=4.0,
            judge_unparsable=False,
        ),
        InteractionFilter(user="", session_id="", rated=False),
    ],
)
def test_every_filtered_attribute_is_projected_into_every_index(filters):
    definition = table_definition("t")
    for index in definition["GlobalSecondaryIndexes"]:
        partition = index["KeySchema"][0]["AttributeName"]
        expr = Expression()
        filter_expression(filters, skip=partition, expr=expr)
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


# Each write of the same record, and what it leaves in the record.
WRITES = {
    "rate": lambda store, tag: store.set_feedback("r", Feedback(rating=2, note=tag)),
    "judge": lambda store, tag: store.set_judge("r", JudgeScore(score=3.0, judge_model="j", reason=tag)),
    "review": lambda store, tag: store.set_review("r", Review(status="validated", reviewer=tag)),
    "replay": lambda store, tag: store.put(make("r")),
}
LEFT = {
    "rate": lambda record: record.feedback.note,
    "judge": lambda record: record.judge.reason,
    "review": lambda record: record.review.reviewer,
}


def race(store: DynamoDBFeedbackStore, rival: DynamoDBFeedbackStore, theirs: str, *, on_put: int = 1, times: int = 1):
    """Make ``rival`` write ``theirs`` just before the ``on_put``-th PutItem of ``store`` (and the
    ``times - 1`` after it): the write that store is about to make then loses the race."""
    puts = []

    def sneak_in(**kwargs):
        puts.append(1)
        if on_put <= len(puts) < on_put + times:
            WRITES[theirs](rival, f"theirs-{len(puts)}")

    store.client.meta.events.register("before-call.dynamodb.PutItem", sneak_in)
    return puts


@pytest.mark.parametrize("ours", list(WRITES))
@pytest.mark.parametrize("theirs", list(WRITES))
def test_a_write_that_loses_a_race_is_redone_on_top_of_the_winner(dynamodb_store, ours, theirs):
    """Another process writes the record between our read and our conditional write: every
    pair of writes, deterministically (a replay's first PutItem is the one that finds the
    record, so the race is set on its second)."""
    rival = DynamoDBFeedbackStore(dynamodb_store.table_name)
    dynamodb_store.put(make("r"))
    puts = race(dynamodb_store, rival, theirs, on_put=2 if ours == "replay" else 1)
    WRITES[ours](dynamodb_store, "ours")
    assert len(puts) == (3 if ours == "replay" else 2), "our write was refused once and redone"
    got = dynamodb_store.get("r")
    if theirs in LEFT:
        expected = "ours" if theirs == ours else f"theirs-{2 if ours == 'replay' else 1}"
        assert LEFT[theirs](got) == expected, "the winner's change survives"
    if ours in LEFT:
        assert LEFT[ours](got) == "ours"
    assert raw_item(dynamodb_store, "r")["version"] == {"N": "3"}  # put, theirs, ours: nothing lost
    rival.close()


def test_a_write_that_keeps_losing_gives_up_with_a_clear_error(make_dynamodb_store):
    store = make_dynamodb_store(max_conflicts=3)
    rival = DynamoDBFeedbackStore(store.table_name)
    store.put(make("r"))
    race(store, rival, "judge", times=3)
    with pytest.raises(StoreUnavailable, match="kept changing under 3 attempts to write it; try again"):
        store.set_feedback("r", Feedback(rating=4))
    assert store.get("r").feedback is None and store.get("r").judge.reason == "theirs-3"
    rival.close()


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
    key = f"2025-03-14T09:00:00.000001Z#{interaction_id}"
    assert key_after(cursor_after(key)) == key
    # The cursor is the one the SQLite store makes for the same record.
    assert decode_cursor(cursor_after(key)) == (1_741_942_800_000_001, interaction_id)


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
