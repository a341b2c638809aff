"""Bringing a table made by an older ragbot up to this one: what ``ragbot feedback init-table`` does
to a table that exists already.

- **Indexes it lacks** (``by_judge``, added with the review queue) are created with
  ``UpdateTable``, one per call as DynamoDB requires, each waited for until ACTIVE (DynamoDB
  fills a new index from the items that carry its keys; on a large table that takes minutes).
- **Items of an older layout** (no ``layout`` attribute) carry neither the new index's keys nor
  the attributes the review queue filters and groups on (``judge_score``, ``sources``): each is
  rewritten from its record, conditionally on its version like every write, so an app writing
  at the same time loses nothing. This is the only Scan ragbot makes, once, from init-table.
- **Index projections** cannot be changed in place. An index made before an attribute was
  added to ``FILTER_ATTRIBUTES`` does not carry it, and filters or counts on it through that
  index would miss records. init-table names such indexes, and the store refuses such a read
  with the same advice (``DynamoDBFeedbackStore._check_projection``); rebuilding one means deleting it and
  running init-table again (the index is unavailable while DynamoDB builds it), or moving the
  data to a new table with ``feedback export``/``import``.

A table with none of ragbot's indexes is somebody else's: it is reported, never changed.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from feedback.errors import StoreUnavailable, UnreadableRecord
from feedback.records import load_stored
from feedback.stores.dynamodb.client import TableClient, botocore
from feedback.stores.dynamodb.schema import AUDIT_PREFIX, LAYOUT, META_LAYOUT, table_definition

if TYPE_CHECKING:
    from feedback.stores.dynamodb.store import DynamoDBFeedbackStore

log = logging.getLogger(__name__)

# Projected attributes added after the first tables were made (layout 2, the review queue).
NEWER_ATTRIBUTES = frozenset({"judge_score", "sources"})


def add_missing_indexes(table: TableClient, described: dict[str, Any], *, timeout: float = 3600.0) -> list[str]:
    """Create the indexes of ``INDEXES`` the table lacks, waiting for each; returns their names.

    Raises:
        StoreUnavailable: an index was not ACTIVE within ``timeout`` seconds (DynamoDB goes on
            building it; run init-table again later).
    """
    present = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
    definition = table_definition(table.table_name)
    added = []
    for index in definition["GlobalSecondaryIndexes"]:
        if index["IndexName"] in present:
            continue
        log.info("%s: creating index %s", table.table_name, index["IndexName"])
        table.call(
            "update_table",
            TableName=table.table_name,
            # Every key attribute: DynamoDB needs the new index's, and moto replaces the list.
            AttributeDefinitions=definition["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        _wait_indexes(table, timeout)
        added.append(index["IndexName"])
    return added


def _wait_indexes(table: TableClient, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        described = table.call("describe_table", TableName=table.table_name)["Table"]
        statuses = [i.get("IndexStatus", "ACTIVE") for i in described.get("GlobalSecondaryIndexes", [])]
        if described.get("TableStatus") == "ACTIVE" and all(s == "ACTIVE" for s in statuses):
            return
        if time.monotonic() > deadline:
            raise StoreUnavailable(
                f"table {table.table_name!r}: DynamoDB is still building an index after {timeout:.0f} s; "
                "run `ragbot feedback init-table` again later to finish the upgrade"
            )
        time.sleep(5)


def projection_gaps(described: dict[str, Any]) -> dict[str, list[str]]:
    """Index name -> the attributes its projection lacks, for the indexes that lack some."""
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


def upgrade_items(store: DynamoDBFeedbackStore) -> str:
    """Rewrite the items of an older layout unless the table's marker says it was done; returns
    what was done, for the command line.

    The marker is one item (``META_LAYOUT``) with no index keys, so no listing sees it. Upgrade
    every app process before running init-table: an older ragbot still running afterwards
    writes items of the old layout that no later run rewrites.
    """
    key = {"id": {"S": META_LAYOUT}}
    marker = store._call("get_item", TableName=store.table_name, Key=key, ConsistentRead=True).get("Item")
    if marker is not None and int(marker["layout"]["N"]) >= LAYOUT:
        return f"items in layout {LAYOUT}"
    rewritten, unreadable = rewrite_old_items(store)
    store._call("put_item", TableName=store.table_name, Item={**key, "layout": {"N": str(LAYOUT)}})
    done = f"{rewritten} items rewritten to layout {LAYOUT}"
    return done + (f", {unreadable} unreadable records left as they were (see the log)" if unreadable else "")


def rewrite_old_items(store: DynamoDBFeedbackStore) -> tuple[int, int]:
    """Rewrite every interaction item written before ``LAYOUT``; returns (rewritten, unreadable)."""
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "ProjectionExpression": "#id",
        "FilterExpression": "(attribute_not_exists(#l) OR #l < :l) AND NOT begins_with(#id, :audit)"
        " AND attribute_exists(#r)",
        "ExpressionAttributeNames": {"#id": "id", "#l": "layout", "#r": "record"},
        "ExpressionAttributeValues": {":l": {"N": str(LAYOUT)}, ":audit": {"S": AUDIT_PREFIX}},
        "ConsistentRead": True,
    }
    rewritten = unreadable = 0
    while True:
        page = store._call("scan", **kwargs)
        for entry in page.get("Items", []):
            done = _rewrite(store, entry["id"]["S"])
            rewritten += done is True
            unreadable += done is None
        if "LastEvaluatedKey" not in page:
            return rewritten, unreadable
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _rewrite(store: DynamoDBFeedbackStore, interaction_id: str) -> bool | None:
    """Rewrite one item from its record: True when written, False when gone or already new,
    None when its record no longer validates (left as it is, logged)."""
    for attempt in range(store.max_conflicts):
        found = store._call(
            "get_item",
            TableName=store.table_name,
            Key={"id": {"S": interaction_id}},
            ConsistentRead=True,
            ProjectionExpression="#r, #v, #l",
            ExpressionAttributeNames={"#r": "record", "#v": "version", "#l": "layout"},
        ).get("Item")
        if found is None or int(found.get("layout", {}).get("N", "0")) >= LAYOUT:
            return False
        try:
            record = load_stored(found["record"]["S"], interaction_id)
        except UnreadableRecord as e:
            log.warning("%s; left in its old layout", e)
            return None
        try:
            store._write(store._fit(record), int(found["version"]["N"]))
            return True
        except botocore.exceptions.ClientError:
            store._conflict_pause(attempt)  # written meanwhile: read it again
    raise store._gave_up(interaction_id)
