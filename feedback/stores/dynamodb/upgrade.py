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
  index would miss records. init-table names such indexes (``schema.projection_gaps``), and the
  store refuses such a read with the same advice; rebuilding one means deleting it and
  running init-table again (the index is unavailable while DynamoDB builds it), or moving the
  data to a new table with ``feedback export``/``import``.

A table with none of ragbot's indexes is somebody else's: it is reported, never changed.

The rewrite of one item is the store's (``DynamoDBFeedbackStore.rewrite_item``, conditional on
the version like its other writes); this module finds the items and is handed that method.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from feedback.errors import StoreUnavailable
from feedback.stores.dynamodb.client import TableClient, botocore
from feedback.stores.dynamodb.schema import (
    AUDIT_PREFIX,
    LAYOUT,
    META_LAYOUT,
    NEWER_ATTRIBUTES,
    projection_gaps,
    table_definition,
)

log = logging.getLogger(__name__)

Rewrite = Callable[[str], bool | None]
"""Rewrites one item from its record: True when written, False when gone or already in this
layout, None when its record no longer validates (``DynamoDBFeedbackStore.rewrite_item``)."""


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


class ProjectionCheck:
    """Refuses a read through an index that does not carry an attribute it filters or groups on
    (an index made by an older ragbot), which would silently miss records.

    Only the attributes added since the first layout are checked, so ordinary listings never ask;
    the table is described once. Without ``dynamodb:DescribeTable`` the read goes on.
    """

    def __init__(self, table: TableClient) -> None:
        self.table = table
        self._gaps: dict[str, list[str]] | None = None

    def __call__(self, index: str, attributes: set[str]) -> None:
        """Raises StoreUnavailable naming the index and what it lacks, and how to rebuild it."""
        if not attributes & NEWER_ATTRIBUTES:
            return
        if self._gaps is None:
            try:
                described = self.table.call(
                    "describe_table", passthrough=("AccessDeniedException",), TableName=self.table.table_name
                )
                self._gaps = projection_gaps(described["Table"])
            except botocore.exceptions.ClientError:
                log.debug("no dynamodb:DescribeTable: index projections not checked")
                self._gaps = {}
        missing = sorted(attributes & set(self._gaps.get(index, ())))
        if missing:
            raise StoreUnavailable(
                f"DynamoDB table {self.table.table_name!r}: index {index} was made by an older ragbot and does "
                f"not carry {', '.join(missing)}, so this filter or count would miss records; delete the index "
                "and run `ragbot feedback init-table` to rebuild it"
            )


def upgrade_items(table: TableClient, rewrite: Rewrite) -> str:
    """Rewrite the items of an older layout with ``rewrite`` unless the table's marker says it was
    done; returns what was done, for the command line.

    The marker is one item (``META_LAYOUT``) with no index keys, so no listing sees it. Upgrade
    every app process before running init-table: an older ragbot still running afterwards
    writes items of the old layout that no later run rewrites.
    """
    key = {"id": {"S": META_LAYOUT}}
    marker = table.call("get_item", TableName=table.table_name, Key=key, ConsistentRead=True).get("Item")
    if marker is not None and int(marker["layout"]["N"]) >= LAYOUT:
        return f"items in layout {LAYOUT}"
    rewritten, unreadable = rewrite_old_items(table, rewrite)
    table.call("put_item", TableName=table.table_name, Item={**key, "layout": {"N": str(LAYOUT)}})
    done = f"{rewritten} items rewritten to layout {LAYOUT}"
    return done + (f", {unreadable} unreadable records left as they were (see the log)" if unreadable else "")


def rewrite_old_items(table: TableClient, rewrite: Rewrite) -> tuple[int, int]:
    """Rewrite every interaction item written before ``LAYOUT``; returns (rewritten, unreadable)."""
    kwargs: dict[str, Any] = {
        "TableName": table.table_name,
        "ProjectionExpression": "#id",
        "FilterExpression": "(attribute_not_exists(#l) OR #l < :l) AND NOT begins_with(#id, :audit)"
        " AND attribute_exists(#r)",
        "ExpressionAttributeNames": {"#id": "id", "#l": "layout", "#r": "record"},
        "ExpressionAttributeValues": {":l": {"N": str(LAYOUT)}, ":audit": {"S": AUDIT_PREFIX}},
        "ConsistentRead": True,
    }
    rewritten = unreadable = 0
    while True:
        page = table.call("scan", **kwargs)
        for entry in page.get("Items", []):
            done = rewrite(entry["id"]["S"])
            rewritten += done is True
            unreadable += done is None
        if "LastEvaluatedKey" not in page:
            return rewritten, unreadable
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
