"""The review queue on DynamoDB: listings in every ``Order`` and the group counts.

``newest``/``oldest``
    the index ``plan`` picks for the filter (every one but ``by_judge`` sorts on ``created_key``),
    read backwards or forwards, its shards merged.
``rating_asc``/``rating_desc``
    ``by_rating``, one rating at a time (1 to 5 or 5 to 1, only those the filter allows), each
    newest first with its shards merged: five known partitions, no new index.
``judge_asc``/``judge_desc``
    ``by_judge``: only records with a usable judge score are in it, sorted on
    ``<score>#<created_key>`` (``schema.judge_sort``). The queue sorts by score and then newest
    first in both directions, which no single read of one sort key gives for ``judge_asc``
    (score up, time down), so the listing goes one score at a time: a ``Limit: 1`` query per
    shard finds the next score present (the lowest above the last for ``judge_asc``, the highest
    below for ``judge_desc``; ``min_judge_score``/``max_judge_score`` bound where it starts and
    stops), then that score's entries are read newest first, with ``since``/``until`` and the
    cursor in the key condition. A page costs two requests per shard per distinct score it
    crosses (judges score in steps such as 0.5, so a handful), never a read of the other scores.
    ``judge_desc`` alone could be one backward read; one path serves both directions instead.

Every other filter is a FilterExpression on the projected attributes, as in
``DynamoDBFeedbackStore.list`` (the score range of a judge order needs none: it is kept by the
scores chosen).

``count_groups`` reads the matching entries of one index (the one ``plan`` picks, so a filter
on user, session, rating or review status narrows the read by key) with a projection of the
grouped attribute only, and counts them here. DynamoDB has no GROUP BY and a ``Select: COUNT``
query per group would read the same entries (it is billed per entry evaluated, not returned),
so one pass is no dearer and needs no list of groups (documents are not known in advance). It
never reads the records; on an unfiltered queue it reads the whole ``by_time`` index, 1 MB of
small projected entries (~360 B each) per request: at 100k interactions about 36 sequential
requests (bench/review_queue.py counts them; moto cannot time them at that size, see RESULTS).
Counts are the part of the queue that grows with the table: the page should not recount on
every click, and a counter item per group is the next step if that is ever too slow.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from typing import Any

from feedback.stores.base import JUDGE_BANDS, GroupBy, InteractionFilter, Order
from feedback.stores.cursor import decode_sorted_cursor
from feedback.stores.dynamodb.queries import (
    Call,
    Expression,
    created_key_of,
    filter_expression,
    key_after,
    plan,
    query_index,
)
from feedback.stores.dynamodb.schema import JUDGE_KEY, SORT_KEY, judge_score_of, judge_sort, partitions, time_key

# (the order's key of the entry: a score or rating, None for newest/oldest; created_key; id)
Entry = tuple[float | None, str, str]

GROUPED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "document": ("sources",),
    "judge_band": ("judged", "judge_score"),
    "rating": ("rating",),
    "review_status": ("review_status",),
}


Page = tuple[int, int]
"""(limit, read_ahead): a listing's page size, and how many entries to evaluate per request when a
FilterExpression applies (``DynamoDBFeedbackStore.read_ahead``)."""


def _page_size(condition: str, page: Page) -> int:
    """Without a filter every evaluated entry counts; with one, read ahead more per request."""
    limit, read_ahead = page
    return limit + 1 if not condition else min(1000, max(read_ahead, limit + 1))


def _time_bounds(f: InteractionFilter) -> tuple[str | None, str | None]:
    """``since`` (inclusive) and ``until`` (exclusive) as bounds of ``created_key``: a key is
    ``<time>#<id>``, so one at exactly ``until`` sorts above the bare time and falls outside."""
    return (time_key(f.since) if f.since is not None else None, time_key(f.until) if f.until is not None else None)


def ordered(
    call: Call, table: str, f: InteractionFilter, order: Order, cursor: str | None, *, shards: int, page: Page
) -> Iterator[Entry]:
    """The matching index entries in ``order``, from just after ``cursor``, read lazily.

    Raises ValueError (at once, not when iterated) for a cursor no listing of this order made.
    """
    if order in ("newest", "oldest"):
        return _by_time(
            call, table, f, order == "oldest", key_after(cursor) if cursor is not None else None, shards, page
        )
    resume = decode_sorted_cursor(cursor) if cursor is not None else None
    if order in ("rating_asc", "rating_desc"):
        return _by_rating(call, table, f, order == "rating_asc", resume, shards, page)
    return _by_judge(call, table, f, order == "judge_asc", resume, shards, page)


def _by_time(
    call: Call, table: str, f: InteractionFilter, forward: bool, after: str | None, shards: int, page: Page
) -> Iterator[Entry]:
    index, partition, values = plan(f, shards)
    expr = Expression()
    condition = filter_expression(f, skip=partition, expr=expr)
    lower, upper = _time_bounds(f)
    if after is not None and forward and (lower is None or after > lower):
        lower = after
    if after is not None and not forward and (upper is None or after < upper):
        upper = after
    streams = [
        query_index(
            call,
            table,
            index,
            partition,
            value,
            lower=lower,
            upper=upper,
            exclude=after,
            condition=condition,
            expr=expr,
            page_size=_page_size(condition, page),
            forward=forward,
        )
        for value in values
    ]
    merged = heapq.merge(*streams, key=lambda entry: entry[SORT_KEY]["S"], reverse=not forward)
    return ((None, entry[SORT_KEY]["S"], entry["id"]["S"]) for entry in merged)


def _by_rating(
    call: Call,
    table: str,
    f: InteractionFilter,
    ascending: bool,
    resume: tuple[float, int, str] | None,
    shards: int,
    page: Page,
) -> Iterator[Entry]:
    expr = Expression()
    condition = filter_expression(f, skip="rating_pk", expr=expr)
    if f.rated is False:
        return
    low = 1 if f.min_rating is None else max(1, f.min_rating)
    high = 5 if f.max_rating is None else min(5, f.max_rating)
    ratings = range(low, high + 1) if ascending else range(high, low - 1, -1)
    since, until = _time_bounds(f)
    for rating in ratings:
        after = None
        if resume is not None:
            key, created_us, last_id = resume
            if (rating < key) if ascending else (rating > key):
                continue  # a rating the previous pages finished
            if rating == key:
                after = created_key_of(created_us, last_id)
        upper = after if after is not None and (until is None or after < until) else until
        streams = [
            query_index(
                call,
                table,
                "by_rating",
                "rating_pk",
                value,
                lower=since,
                upper=upper,
                exclude=after,
                condition=condition,
                expr=expr,
                page_size=_page_size(condition, page),
            )
            for value in partitions(str(rating), shards)
        ]
        for entry in heapq.merge(*streams, key=lambda e: e[SORT_KEY]["S"], reverse=True):
            yield rating, entry[SORT_KEY]["S"], entry["id"]["S"]


def _by_judge(
    call: Call,
    table: str,
    f: InteractionFilter,
    ascending: bool,
    resume: tuple[float, int, str] | None,
    shards: int,
    page: Page,
) -> Iterator[Entry]:
    if f.judge_unparsable or f.judged is False:
        return  # neither has a score, and only scored records are in by_judge
    # Scores are 0-5 (JudgeScore), so a hand-made cursor outside that range is before or past it.
    low = 0.0 if f.min_judge_score is None else f.min_judge_score
    high = 5.0 if f.max_judge_score is None else f.max_judge_score
    expr = Expression()
    # The score range is kept by choosing the scores read, so it needs no FilterExpression, and
    # without one a page reads limit + 1 entries instead of reading ahead.
    unbounded = f.model_copy(update={"min_judge_score": None, "max_judge_score": None})
    condition = filter_expression(unbounded, skip="judge_pk", expr=expr)
    values = partitions("JUDGED", shards)

    def outside(score: float) -> bool:
        return not low <= score <= high

    since, until = _time_bounds(f)

    def group(score: str, after: str | None) -> Iterator[Entry]:
        """One score's entries, newest first, below ``after`` (a judge_key) when given."""
        lower = f"{score}#{since or ''}"
        upper = f"{score}#{until}" if until is not None else f"{score}$"  # '$' follows '#'
        if after is not None and after < upper:
            upper = after
        streams = [
            query_index(
                call,
                table,
                "by_judge",
                "judge_pk",
                value,
                lower=lower,
                upper=upper,
                exclude=after,
                condition=condition,
                expr=expr,
                page_size=_page_size(condition, page),
                sort_key=JUDGE_KEY,
            )
            for value in values
        ]
        for entry in heapq.merge(*streams, key=lambda e: e[JUDGE_KEY]["S"], reverse=True):
            yield judge_score_of(score), entry[JUDGE_KEY]["S"].split("#", 1)[1], entry["id"]["S"]

    start, inclusive = judge_sort(low if ascending else high), True
    if resume is not None:
        key, created_us, last_id = resume
        if not (key < low if ascending else key > high):  # one before the range: from its edge
            if outside(key):
                return
            current = judge_sort(key)
            yield from group(current, f"{current}#{created_key_of(created_us, last_id)}")
            start, inclusive = current, False
    while True:
        current = _next_score(call, table, values, start, inclusive=inclusive, ascending=ascending)
        if current is None:
            return
        if outside(judge_score_of(current)):
            return  # the first score past the range: every later one is further out
        yield from group(current, None)
        start, inclusive = current, False


# (ascending, inclusive) -> the key condition's operator and what follows the score text.
_STEP = {(True, True): (">=", "#"), (True, False): (">", "$"), (False, True): ("<=", "$"), (False, False): ("<", "#")}


def _next_score(
    call: Call, table: str, values: list[str], start: str, *, inclusive: bool, ascending: bool
) -> str | None:
    """The ``judge_sort`` text of the next score present in by_judge after ``start`` (or at it,
    when ``inclusive``), up or down; None past the last. One ``Limit: 1`` query per shard."""
    found = []
    for value in values:
        names = {"#pk": "judge_pk", "#k": JUDGE_KEY}
        attribute_values: dict[str, Any] = {":pk": {"S": value}}
        # Keys are "<score>#<created_key>": "<score>#" is below every key of the score and
        # "<score>$" above them.
        op, edge = _STEP[ascending, inclusive]
        condition = f"#pk = :pk AND #k {op} :start"
        attribute_values[":start"] = {"S": start + edge}
        response = call(
            "query",
            TableName=table,
            IndexName="by_judge",
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attribute_values,
            ProjectionExpression="#k",
            ScanIndexForward=ascending,
            Limit=1,
        )
        found += [entry[JUDGE_KEY]["S"].split("#", 1)[0] for entry in response.get("Items", [])]
    if not found:
        return None
    return min(found) if ascending else max(found)


def relies_on(f: InteractionFilter, order: Order | None, by: GroupBy | None, shards: int) -> tuple[str, set[str]]:
    """The index a listing in ``order`` (or a count ``by``) reads, and the projected attributes
    its FilterExpression and grouping read there, for checking a table made by an older ragbot."""
    if order in ("judge_asc", "judge_desc"):
        return "by_judge", set()  # made with every attribute it has ever projected
    if order in ("rating_asc", "rating_desc"):
        index, partition = "by_rating", "rating_pk"
    else:
        index, partition, _ = plan(f, shards)
    expr = Expression()
    filter_expression(f, skip=partition, expr=expr)
    return index, set(expr.names.values()) | set(GROUPED_ATTRIBUTES.get(by or "", ()))


def count_entries(call: Call, table: str, f: InteractionFilter, by: GroupBy, *, shards: int) -> dict[str, int]:
    """How many matching interactions fall in each group (see ``FeedbackStore.count_groups``)."""
    if by not in GROUPED_ATTRIBUTES:
        raise ValueError(f"by={by!r} is not one of {', '.join(GROUPED_ATTRIBUTES)}")
    index, partition, values = plan(f, shards)
    expr = Expression()
    condition = filter_expression(f, skip=partition, expr=expr)
    lower, upper = _time_bounds(f)
    counts: Counter[str] = Counter()
    for value in values:
        for entry in query_index(
            call,
            table,
            index,
            partition,
            value,
            lower=lower,
            upper=upper,
            condition=condition,
            expr=expr,
            page_size=None,
            projection=("id", *GROUPED_ATTRIBUTES[by]),
        ):
            counts.update(_groups(entry, by))
    return dict(counts)


def _groups(entry: dict[str, Any], by: str) -> list[str]:
    if by == "document":
        return entry.get("sources", {}).get("SS", [])
    if by == "judge_band":
        if not entry.get("judged", {}).get("BOOL", False):
            return ["not judged"]
        if "judge_score" not in entry:
            return ["unparsable"]
        return [JUDGE_BANDS[min(int(float(entry["judge_score"]["N"])), 4)]]
    if by == "rating":
        return [str(int(entry["rating"]["N"])) if "rating" in entry else "unrated"]
    return [entry["review_status"]["S"]]
