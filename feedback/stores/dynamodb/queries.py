"""The queries of the DynamoDB store: which index serves a listing, the key condition and filter
expression sent to it, the merge of its partitions, the opaque cursor that resumes a listing, the
batch read of the records, and a user's sessions. The review queue's orders and counts are in
``orders``."""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from feedback.errors import StoreUnavailable, UnreadableRecord
from feedback.records import Interaction, load_stored
from feedback.stores.base import InteractionFilter, SessionSummary
from feedback.stores.cursor import decode_cursor, encode_cursor
from feedback.stores.dynamodb.schema import (
    EPOCH,
    MICROSECOND,
    SORT_KEY,
    from_micros,
    partitions,
    split_created_key,
    time_key,
)

Call = Callable[..., dict[str, Any]]
log = logging.getLogger(__name__)


def cursor_after(key: str) -> str:
    """The cursor that resumes a listing after the item with this ``created_key``.

    Unlike DynamoDB's own ``LastEvaluatedKey`` it points at the last item *returned*, not the
    last one DynamoDB evaluated, and it works across the merged partitions of a sharded or
    multi-rating listing: every index sorts on ``created_key``.
    """
    return encode_cursor(*split_created_key(key))


def key_after(cursor: str) -> str:
    """The ``created_key`` a cursor resumes after. Raises ValueError for a cursor no store made."""
    return created_key_of(*decode_cursor(cursor))


def created_key_of(created_us: int, interaction_id: str) -> str:
    """The ``created_key`` of a record created at ``created_us`` (microseconds since the epoch)."""
    return f"{time_key(EPOCH + created_us * MICROSECOND)}#{interaction_id}"


def plan(f: InteractionFilter, write_shards: int) -> tuple[str, str, list[str]]:
    """The index to query for a filter, its partition key attribute and the key values to merge."""
    if f.session_id:
        return "by_session", "session_id", [f.session_id]
    if f.user:
        return "by_user", "user", [f.user]
    if f.review_status in ("validated", "rejected"):
        return "by_review", "review_pk", partitions(f.review_status, write_shards)
    ratings: list[str] | None = None
    if f.rated is False:
        ratings = ["unrated"]
    elif f.rated or f.min_rating is not None or f.max_rating is not None:
        low = 1 if f.min_rating is None else max(1, f.min_rating)
        high = 5 if f.max_rating is None else min(5, f.max_rating)
        ratings = [str(r) for r in range(low, high + 1)]  # empty when the range is
    if ratings is not None:
        return "by_rating", "rating_pk", [p for r in ratings for p in partitions(r, write_shards)]
    if f.review_status == "unreviewed":
        return "by_review", "review_pk", partitions("unreviewed", write_shards)
    return "by_time", "time_pk", partitions("ALL", write_shards)


class Expression:
    """Placeholders for the attribute names and values of one request's expressions.

    DynamoDB rejects a request that declares a placeholder no expression uses, so they are
    added only as the expressions are written.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}

    def name(self, attribute: str) -> str:
        placeholder = f"#f_{attribute}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: dict[str, Any]) -> str:
        placeholder = f":f{len(self.values)}"
        self.values[placeholder] = value
        return placeholder


def filter_expression(f: InteractionFilter, *, skip: str, expr: Expression) -> str:
    """The FilterExpression for everything in ``f`` that the key condition does not already decide.

    ``skip`` is the partition key attribute of the index queried (a key attribute may not appear
    in a FilterExpression); since/until are part of the key condition.
    """
    parts: list[str] = []
    for attribute, value in (("user", f.user), ("session_id", f.session_id)):
        if value is None or attribute == skip:
            continue
        if value == "":  # stored without the attribute (see _item)
            parts.append(f"attribute_not_exists({expr.name(attribute)})")
        else:
            parts.append(f"{expr.name(attribute)} = {expr.value({'S': value})}")
    if f.review_status is not None:
        parts.append(f"{expr.name('review_status')} = {expr.value({'S': f.review_status})}")
    if f.min_rating is not None:
        parts.append(f"{expr.name('rating')} >= {expr.value({'N': str(f.min_rating)})}")
    if f.max_rating is not None:
        parts.append(f"{expr.name('rating')} <= {expr.value({'N': str(f.max_rating)})}")
    if f.rated is not None:
        parts.append(("attribute_exists" if f.rated else "attribute_not_exists") + f"({expr.name('rating')})")
    if f.has_correction is not None:
        parts.append(f"{expr.name('has_correction')} = {expr.value({'BOOL': f.has_correction})}")
    if f.judged is not None:
        parts.append(f"{expr.name('judged')} = {expr.value({'BOOL': f.judged})}")
    # judge_score is there only when the judge gave a usable score, so a bound leaves the rest out.
    if f.min_judge_score is not None:
        parts.append(f"{expr.name('judge_score')} >= {expr.value({'N': repr(f.min_judge_score)})}")
    if f.max_judge_score is not None:
        parts.append(f"{expr.name('judge_score')} <= {expr.value({'N': repr(f.max_judge_score)})}")
    if f.judge_unparsable is not None:
        unparsable = f"({expr.name('judged')} = {expr.value({'BOOL': True})} AND attribute_not_exists({expr.name('judge_score')}))"
        parts.append(unparsable if f.judge_unparsable else f"NOT {unparsable}")
    if f.origin == "user":  # items written before origin existed have none: they are users'
        name = expr.name("origin")
        parts.append(f"(attribute_not_exists({name}) OR {name} = {expr.value({'S': 'user'})})")
    elif f.origin is not None:
        parts.append(f"{expr.name('origin')} = {expr.value({'S': f.origin})}")
    prefix = (f.source_prefix or "").rstrip("/")
    if prefix:
        # Exact membership in the set of cited documents and their folders: case-sensitive, no
        # wildcards, and "Design" never matches "Design Extra/…".
        parts.append(f"contains({expr.name('source_prefixes')}, {expr.value({'S': prefix})})")
    return " AND ".join(parts)


def query_index(
    call: Call,
    table_name: str,
    index: str,
    partition: str,
    value: str,
    *,
    lower: str | None = None,
    upper: str | None = None,
    exclude: str | None = None,
    condition: str = "",
    expr: Expression | None = None,
    page_size: int | None,
    projection: tuple[str, ...] | None = None,
    sort_key: str = SORT_KEY,
    forward: bool = False,
) -> Iterator[dict[str, Any]]:
    """The index entries of one partition between ``lower`` and ``upper`` (both inclusive), newest
    first (largest ``sort_key`` first; smallest first with ``forward``).

    ``upper`` (``lower`` with ``forward``) is either the cursor's key, which ``exclude`` then
    drops, or an ``until`` time without an id, which no key equals. ``condition`` is a
    FilterExpression whose placeholders ``expr`` holds. Follows ``LastEvaluatedKey`` lazily, so a
    filter that matches little costs more requests, never a short page. ``page_size`` None lets
    DynamoDB fill each response (1 MB). ``projection`` defaults to the id and the sort key.
    """
    projection = projection or ("id", sort_key)
    expr = expr or Expression()
    names = {"#pk": partition, **expr.names}
    values = {":pk": {"S": value}, **expr.values}
    key_condition = "#pk = :pk"
    if lower is not None and upper is not None:
        if lower > upper:
            return
        key_condition += " AND #ck BETWEEN :lower AND :upper"
        values.update({":lower": {"S": lower}, ":upper": {"S": upper}})
    elif lower is not None:
        key_condition += " AND #ck >= :lower"
        values[":lower"] = {"S": lower}
    elif upper is not None:
        key_condition += " AND #ck <= :upper"
        values[":upper"] = {"S": upper}
    if lower is not None or upper is not None:
        names["#ck"] = sort_key
    wanted = []
    for n, attribute in enumerate(projection):
        names[f"#p{n}"] = attribute
        wanted.append(f"#p{n}")
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": index,
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ProjectionExpression": ", ".join(wanted),
        "ScanIndexForward": forward,
    }
    if page_size is not None:
        # The bounds are inclusive: the cursor's own entry comes back too, and is dropped.
        kwargs["Limit"] = page_size + (exclude is not None)
    if condition:
        kwargs["FilterExpression"] = condition
    while True:
        response = call("query", **kwargs)
        for entry in response.get("Items", []):
            if exclude is None or entry[sort_key]["S"] != exclude:
                yield entry
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def batch_get(
    call: Call, table_name: str, ids: list[str], unreadable: list[str] | None = None
) -> dict[str, Interaction]:
    """The records with these ids (strongly consistent), in no particular order.

    A record that no longer validates is left out, logged, and its id added to ``unreadable``.

    Raises:
        StoreUnavailable: keys stayed unprocessed (throttled) through every retry.
    """
    out: dict[str, Interaction] = {}
    for start in range(0, len(ids), 100):  # BatchGetItem takes at most 100 keys
        request: dict[str, Any] = {
            table_name: {
                "Keys": [{"id": {"S": i}} for i in dict.fromkeys(ids[start : start + 100])],
                "ProjectionExpression": "#id, #r",
                "ExpressionAttributeNames": {"#id": "id", "#r": "record"},
                "ConsistentRead": True,
            }
        }
        for attempt in range(10):
            response = call("batch_get_item", RequestItems=request)
            for entry in response.get("Responses", {}).get(table_name, []):
                try:
                    out[entry["id"]["S"]] = load_stored(entry["record"]["S"], entry["id"]["S"])
                except UnreadableRecord as e:
                    log.warning("%s; left out", e)
                    if unreadable is not None:
                        unreadable.append(entry["id"]["S"])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            # Keys come back unprocessed under throttling or past 16 MB; back off and ask again.
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        else:
            raise StoreUnavailable(f"DynamoDB table {table_name!r}: reads stayed throttled; try again")
    return out


def sessions_of(call: Call, table_name: str, user: str, *, limit: int, shards: int) -> list[SessionSummary]:
    """The user's conversations, the most recently started first (``FeedbackStore.sessions``):
    the user's entries of ``by_user`` (small projected items), then the first records of the
    sessions. An empty user name is not in ``by_user`` (an index key cannot be empty): its
    entries are read from ``by_time``.

    Raises:
        ValueError: ``limit`` is below 1.
        StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
    """
    if limit < 1:
        raise ValueError(f"limit={limit!r} must be 1 or more")
    projection = ("id", SORT_KEY, "session_id", "turn", "created_us")
    expr = Expression()
    if user:
        streams = [query_index(call, table_name, "by_user", "user", user, page_size=1000, projection=projection)]
    else:  # items of an empty user name are not in by_user (an index key cannot be empty)
        condition = "attribute_not_exists(" + expr.name("user") + ")"
        streams = [
            query_index(
                call,
                table_name,
                "by_time",
                "time_pk",
                value,
                condition=condition,
                expr=expr,
                page_size=1000,
                projection=projection,
            )
            for value in partitions("ALL", shards)
        ]
    sessions: dict[str, dict[str, Any]] = {}
    for entry in itertools.chain.from_iterable(streams):
        session_id = entry.get("session_id", {}).get("S", "")
        created_us, turn = int(entry["created_us"]["N"]), int(entry["turn"]["N"])
        first = (turn, created_us, entry["id"]["S"])
        s = sessions.setdefault(session_id, {"started_us": created_us, "turns": 0, "first": first})
        s["started_us"] = min(s["started_us"], created_us)
        s["turns"] += 1
        s["first"] = min(s["first"], first)
    chosen = sorted(sessions.items(), key=lambda kv: (kv[1]["started_us"], kv[0]), reverse=True)[:limit]
    records = batch_get(call, table_name, [s["first"][2] for _, s in chosen])
    return [
        SessionSummary(
            session_id=session_id,
            started_at=from_micros(s["started_us"]),
            first_question=records[s["first"][2]].question if s["first"][2] in records else "",
            turns=s["turns"],
        )
        for session_id, s in chosen
    ]
