"""The audit log in the feedback table: one item per event, id ``audit#<event id>``, listed newest
first through the ``by_time`` index under its own partition key value (``AUDIT#0``), so audit
items never appear in a listing of interactions and need no index of their own."""

from __future__ import annotations

from typing import Any

from feedback.audit import AuditEvent, AuditPage
from feedback.stores.dynamodb.queries import Call, cursor_after, key_after, query_index
from feedback.stores.dynamodb.schema import AUDIT_PK, AUDIT_PREFIX, SORT_KEY, micros, time_key


def put_event(call: Call, table_name: str, event: AuditEvent) -> None:
    """Write the event once; a replayed write of the same event changes nothing."""
    from botocore.exceptions import ClientError

    try:
        _put(call, table_name, event)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def _put(call: Call, table_name: str, event: AuditEvent) -> None:
    call(
        "put_item",
        passthrough=("ConditionalCheckFailedException",),
        TableName=table_name,
        Item={
            "id": {"S": AUDIT_PREFIX + event.id},
            "event": {"S": event.model_dump_json()},
            "time_pk": {"S": AUDIT_PK},
            SORT_KEY: {"S": f"{time_key(event.at)}#{event.id}"},
            "created_us": {"N": str(micros(event.at))},
        },
        ConditionExpression="attribute_not_exists(id)",
    )


def list_events(call: Call, table_name: str, *, limit: int, cursor: str | None) -> AuditPage:
    """A page of events, newest first."""
    if limit < 1:
        raise ValueError(f"limit={limit!r} must be 1 or more")
    after = key_after(cursor) if cursor is not None else None
    entries = []
    for entry in query_index(
        call, table_name, "by_time", "time_pk", AUDIT_PK, upper=after, exclude=after, page_size=limit + 1
    ):
        entries.append(entry)
        if len(entries) > limit:
            break
    page = entries[:limit]
    events = _get(call, table_name, [e["id"]["S"] for e in page])
    items = [events[e["id"]["S"]] for e in page if e["id"]["S"] in events]
    next_cursor = cursor_after(page[-1][SORT_KEY]["S"]) if len(entries) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


def _get(call: Call, table_name: str, ids: list[str]) -> dict[str, AuditEvent]:
    out: dict[str, AuditEvent] = {}
    if not ids:
        return out
    request: dict[str, Any] = {
        table_name: {
            "Keys": [{"id": {"S": i}} for i in ids],
            "ProjectionExpression": "#id, #e",
            "ExpressionAttributeNames": {"#id": "id", "#e": "event"},
            "ConsistentRead": True,
        }
    }
    while request:
        response = call("batch_get_item", RequestItems=request)
        for entry in response.get("Responses", {}).get(table_name, []):
            out[entry["id"]["S"]] = AuditEvent.model_validate_json(entry["event"]["S"])
        request = response.get("UnprocessedKeys") or {}
    return out
