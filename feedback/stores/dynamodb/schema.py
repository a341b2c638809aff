"""The feedback table's schema and keys: the ``CreateTable`` definition, the sort key every index
shares, the sharded low-cardinality partition keys, and the item written for a record."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from feedback.records import Interaction

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

SORT_KEY = "created_key"
JUDGE_KEY = "judge_key"
# index name -> its partition key attribute; every index sorts on SORT_KEY but by_judge.
INDEXES: dict[str, str] = {
    "by_time": "time_pk",
    "by_user": "user",
    "by_session": "session_id",
    "by_rating": "rating_pk",
    "by_review": "review_pk",
    "by_judge": "judge_pk",
}
# index name -> its sort key attribute.
SORT_KEYS: dict[str, str] = {index: JUDGE_KEY if index == "by_judge" else SORT_KEY for index in INDEXES}
# What listings filter on; projected into every index so a FilterExpression can see it.
FILTER_ATTRIBUTES = (
    "user",
    "session_id",
    "turn",
    "created_us",
    "rating",
    "has_correction",
    "review_status",
    "source_prefixes",
    "judged",
    "judge_score",
    "sources",
    "origin",
)
# The audit log lives in the same table: items whose id starts with AUDIT_PREFIX, listed through
# by_time under their own partition key value, so they never meet an interaction listing.
AUDIT_PREFIX = "audit#"
AUDIT_PK = "AUDIT#0"
# The layout of the items written here, in each item's ``layout``: 2 added judge_score, sources
# and by_judge's keys (the review queue). ``ragbot feedback init-table`` rewrites older items
# (feedback.stores.dynamodb.upgrade) and records that it did in the item META_LAYOUT.
LAYOUT = 2
META_LAYOUT = "meta#layout"
# Projected attributes added after the first tables were made (layout 2, the review queue): an
# index made before does not carry them (see ``projection_gaps``).
NEWER_ATTRIBUTES = frozenset({"judge_score", "sources"})


def table_definition(table_name: str) -> dict[str, Any]:
    """The ``CreateTable`` arguments of the feedback table; deploy/dynamodb-table.yaml mirrors them."""
    key_attributes = ["id", SORT_KEY, JUDGE_KEY, *INDEXES.values()]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in key_attributes],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": SORT_KEYS[index], "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    # Key attributes are always projected and may not be listed again.
                    "NonKeyAttributes": [a for a in FILTER_ATTRIBUTES if a != partition],
                },
            }
            for index, partition in INDEXES.items()
        ],
        "SSESpecification": {"Enabled": True},
    }


def projection_gaps(described: dict[str, Any]) -> dict[str, list[str]]:
    """Index name -> the attributes its projection lacks, for the indexes of a ``DescribeTable``
    answer that lack some of what ``table_definition`` projects (made by an older ragbot)."""
    wanted = {i["IndexName"]: i for i in table_definition("t")["GlobalSecondaryIndexes"]}
    gaps = {}
    for index in described.get("GlobalSecondaryIndexes", []):
        projection = index.get("Projection")
        if index["IndexName"] not in wanted or projection is None or projection.get("ProjectionType") == "ALL":
            continue
        have = set(projection.get("NonKeyAttributes", []))
        missing = [a for a in wanted[index["IndexName"]]["Projection"]["NonKeyAttributes"] if a not in have]
        if missing:
            gaps[index["IndexName"]] = missing
    return gaps


def _utc(value: datetime) -> datetime:
    """The instant in UTC; a naive datetime is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_key(value: datetime) -> str:
    """A fixed-width ISO UTC timestamp that sorts like the time it stands for."""
    return _utc(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


def created_key(interaction: Interaction) -> str:
    """``<created_at as ISO UTC, microseconds>#<id>``: unique, and sorts like ``(created_at, id)``."""
    return f"{time_key(interaction.created_at)}#{interaction.id}"


def judge_sort(score: float) -> str:
    """A fixed-width text that sorts like the score: its value to four decimals, for people
    reading the table, then the bits of the double, which order exactly (non-negative doubles
    sort like their big-endian bits), so two scores are one group only when they are equal."""
    score += 0.0  # -0.0 is 0.0
    return f"{score:.4f}:{struct.pack('>d', score).hex()}"


def judge_score_of(key: str) -> float:
    """The score of a ``judge_key`` (or of a ``judge_sort`` text), exactly."""
    return struct.unpack(">d", bytes.fromhex(key.split("#", 1)[0].partition(":")[2]))[0]


def split_created_key(key: str) -> tuple[int, str]:
    """``(created_us, id)`` of a ``created_key``."""
    stamp, _, interaction_id = key.partition("#")
    return micros(datetime.fromisoformat(stamp)), interaction_id


def source_prefixes(sources: Iterable[str]) -> set[str]:
    """Every cited document and every folder above it: ``a/b/c.pdf`` gives ``a``, ``a/b``, ``a/b/c.pdf``."""
    out: set[str] = set()
    for source in sources:
        parts = source.split("/")
        out.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    out.discard("")
    return out


def _shard(interaction_id: str, shards: int) -> int:
    # crc32, not hash(): the same id must land in the same shard in every process.
    return zlib.crc32(interaction_id.encode()) % shards


def from_micros(value: int) -> datetime:
    """Microseconds since the epoch as a UTC time, clamped to what a datetime holds (an item stored
    before times were bounded may lie outside it)."""
    try:
        return EPOCH + value * MICROSECOND
    except OverflowError:
        return (datetime.min if value < 0 else datetime.max).replace(tzinfo=UTC)


def micros(value: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    return (_utc(value) - EPOCH) // MICROSECOND


def item(record: Interaction, version: int, write_shards: int) -> dict[str, dict[str, Any]]:
    """The table item of ``record`` at ``version``: the record and what the indexes need of it."""

    def pk(value: str) -> str:
        return f"{value}#{_shard(record.id, write_shards)}"

    feedback = record.feedback
    out: dict[str, dict[str, Any]] = {
        "id": {"S": record.id},
        "record": {"S": record.model_dump_json()},
        "version": {"N": str(version)},
        "schema_version": {"N": str(record.schema_version)},
        SORT_KEY: {"S": created_key(record)},
        "created_us": {"N": str(micros(record.created_at))},
        "turn": {"N": str(record.turn)},
        "time_pk": {"S": pk("ALL")},
        "rating_pk": {"S": pk(str(feedback.rating) if feedback else "unrated")},
        "has_correction": {"BOOL": bool(feedback and feedback.correction)},
        "review_status": {"S": record.review.status},
        "review_pk": {"S": pk(record.review.status)},
        "judged": {"BOOL": record.judge is not None},
        "layout": {"N": str(LAYOUT)},
        "origin": {"S": record.origin},
    }
    if record.judge is not None and record.judge.score is not None:
        # Only scored records are in by_judge: the judge orders list only those.
        out["judge_score"] = {"N": repr(record.judge.score + 0.0)}
        out["judge_pk"] = {"S": pk("JUDGED")}
        out[JUDGE_KEY] = {"S": f"{judge_sort(record.judge.score)}#{created_key(record)}"}
    # Index keys cannot be empty strings; such an item simply stays out of that index.
    if record.user:
        out["user"] = {"S": record.user}
    if record.session_id:
        out["session_id"] = {"S": record.session_id}
    if feedback:
        out["rating"] = {"N": str(feedback.rating)}
    prefixes = source_prefixes(record.sources)
    if prefixes:  # a string set cannot be empty
        out["source_prefixes"] = {"SS": sorted(prefixes)}
        out["sources"] = {"SS": record.sources}  # the documents themselves, for count_groups
    return out


def partitions(value: str, write_shards: int) -> list[str]:
    """Every shard of one partition key value (``ALL`` → ``ALL#0`` … ``ALL#n-1``)."""
    return [f"{value}#{k}" for k in range(write_shards)]
