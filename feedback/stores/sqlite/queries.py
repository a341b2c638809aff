"""The SQL of the SQLite feedback store: listings in every ``Order`` with their filters and
cursors, group counts, sessions and the audit log. Each function returns the statement and its
parameters; ``store`` runs them."""

from __future__ import annotations

from feedback.stores.base import GroupBy, InteractionFilter, Order
from feedback.stores.cursor import decode_cursor, decode_sorted_cursor, encode_cursor, encode_sorted_cursor
from feedback.stores.sqlite.schema import micros

SELECT_RECORD = "SELECT record FROM interactions WHERE id = ?"
DELETE_SOURCES = "DELETE FROM interaction_sources WHERE interaction_id = ?"
INSERT_SOURCE = "INSERT INTO interaction_sources (interaction_id, source) VALUES (?, ?)"
INSERT_EVENT = "INSERT OR IGNORE INTO audit_log (id, at_us, event) VALUES (?, ?, ?)"

# Listing orders: the sort column (None: by time alone) and its direction.
ORDERS: dict[str, tuple[str | None, str]] = {
    "newest": (None, "DESC"),
    "oldest": (None, "ASC"),
    "judge_asc": ("judge_score", "ASC"),
    "judge_desc": ("judge_score", "DESC"),
    "rating_asc": ("rating", "ASC"),
    "rating_desc": ("rating", "DESC"),
}


def listing(filters: InteractionFilter, order: Order, cursor: str | None, limit: int) -> tuple[str, list, str | None]:
    """The query of one page: rows ``(created_us, id, record, sort key)``, ``limit`` of them and
    one more when a next page follows; its parameters; and the sort column (None: by time).

    Raises:
        ValueError: ``order`` unknown, or ``cursor`` not one this store returned for this order.
    """
    if order not in ORDERS:
        raise ValueError(f"order={order!r} is not one of {', '.join(ORDERS)}")
    column, direction = ORDERS[order]
    conditions, params = where(filters)
    if column is None:
        if cursor is not None:
            created_us, last_id = decode_cursor(cursor)
            conditions.append(f"(created_us, id) {'<' if direction == 'DESC' else '>'} (?, ?)")
            params += [created_us, last_id]
        sort = f"created_us {direction}, id {direction}"
        select = "SELECT created_us, id, record, NULL FROM interactions"
    else:
        conditions.append(f"{column} IS NOT NULL")
        if cursor is not None:
            key, created_us, last_id = decode_sorted_cursor(cursor)
            beyond = ">" if direction == "ASC" else "<"
            conditions.append(f"({column} {beyond} ? OR ({column} = ? AND (created_us, id) < (?, ?)))")
            params += [key, key, created_us, last_id]
        sort = f"{column} {direction}, created_us DESC, id DESC"
        select = f"SELECT created_us, id, record, {column} FROM interactions"
    sql = select + (" WHERE " + " AND ".join(conditions) if conditions else "") + f" ORDER BY {sort} LIMIT ?"
    return sql, [*params, limit + 1], column


def cursor_after(last_row: tuple, column: str | None) -> str:
    """The cursor of the page that follows ``last_row`` (a row of ``listing``)."""
    created_us, last_id, _, key = last_row
    return encode_cursor(created_us, last_id) if column is None else encode_sorted_cursor(key, created_us, last_id)


def group_count(filters: InteractionFilter, by: GroupBy) -> tuple[str, list]:
    """The query of ``count_groups``: rows ``(group, count)``.

    Raises:
        ValueError: ``by`` is not a grouping.
    """
    conditions, params = where(filters)
    condition = " WHERE " + " AND ".join(conditions) if conditions else ""
    if by == "document":
        sql = (
            "SELECT s.source, COUNT(*) FROM interactions JOIN interaction_sources s"
            f" ON s.interaction_id = interactions.id{condition} GROUP BY s.source"
        )
    elif by == "judge_band":
        band = (
            "CASE WHEN judged = 0 THEN 'not judged' WHEN judge_score IS NULL THEN 'unparsable' "
            "WHEN judge_score < 1 THEN '0–1' WHEN judge_score < 2 THEN '1–2' WHEN judge_score < 3 THEN '2–3' "
            "WHEN judge_score < 4 THEN '3–4' ELSE '4–5' END"
        )
        sql = f"SELECT {band} AS g, COUNT(*) FROM interactions{condition} GROUP BY g"
    elif by == "rating":
        sql = f"SELECT COALESCE(CAST(rating AS TEXT), 'unrated') AS g, COUNT(*) FROM interactions{condition} GROUP BY g"
    elif by == "review_status":
        sql = f"SELECT review_status, COUNT(*) FROM interactions{condition} GROUP BY review_status"
    else:
        raise ValueError(f"by={by!r} is not one of document, judge_band, rating, review_status")
    return sql, params


SESSIONS = """
    SELECT s.session_id, s.started_us, s.turns,
           (SELECT CASE WHEN json_valid(i.record) THEN json_extract(i.record, '$.question') END
              FROM interactions i
             WHERE i.user = :user AND i.session_id = s.session_id
             ORDER BY i.turn, i.created_us, i.id LIMIT 1)
      FROM (SELECT session_id, MIN(created_us) AS started_us, COUNT(*) AS turns
              FROM interactions WHERE user = :user GROUP BY session_id) s
     ORDER BY s.started_us DESC, s.session_id DESC
     LIMIT :limit
"""
"""A user's sessions, the most recently started first: rows ``(session_id, started_us, turns,
first question)``; parameters ``user`` and ``limit``."""


def events(cursor: str | None, limit: int) -> tuple[str, tuple]:
    """The query of a page of audit events, newest first: rows ``(at_us, id, event)``, ``limit``
    of them and one more when a next page follows.

    Raises:
        ValueError: ``cursor`` is not one this store returned.
    """
    if not cursor:
        sql, args = "SELECT at_us, id, event FROM audit_log", ()
    else:
        sql, args = "SELECT at_us, id, event FROM audit_log WHERE (at_us, id) < (?, ?)", decode_cursor(cursor)
    return f"{sql} ORDER BY at_us DESC, id DESC LIMIT ?", (*args, limit + 1)


def where(f: InteractionFilter) -> tuple[list[str], list]:
    """SQL conditions (joined with AND) and their parameters for a filter."""
    where: list[str] = []
    params: list = []
    for column, value in (
        ("user", f.user),
        ("session_id", f.session_id),
        ("review_status", f.review_status),
        ("origin", f.origin),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if f.since is not None:
        where.append("created_us >= ?")
        params.append(micros(f.since))
    if f.until is not None:
        where.append("created_us < ?")
        params.append(micros(f.until))
    if f.min_rating is not None:
        where.append("rating >= ?")
        params.append(f.min_rating)
    if f.max_rating is not None:
        where.append("rating <= ?")
        params.append(f.max_rating)
    if f.rated is not None:
        where.append("rating IS NOT NULL" if f.rated else "rating IS NULL")
    if f.has_correction is not None:
        where.append("has_correction = ?")
        params.append(int(f.has_correction))
    if f.judged is not None:
        where.append("judged = ?")
        params.append(int(f.judged))
    if f.min_judge_score is not None:
        where.append("judge_score >= ?")
        params.append(f.min_judge_score)
    if f.max_judge_score is not None:
        where.append("judge_score <= ?")
        params.append(f.max_judge_score)
    if f.judge_unparsable is not None:
        where.append(
            "(judged = 1 AND judge_score IS NULL)" if f.judge_unparsable else "NOT (judged = 1 AND judge_score IS NULL)"
        )
    prefix = (f.source_prefix or "").rstrip("/")
    if prefix:
        # Everything under "p/" sorts between "p/" and "p0" ('0' follows '/'), byte for byte:
        # unlike LIKE, which SQLite compares case-insensitively, this is exact, needs no escaping
        # of % and _, and uses the index on source.
        where.append(
            "EXISTS (SELECT 1 FROM interaction_sources s WHERE s.interaction_id = interactions.id"
            " AND (s.source = ? OR (s.source >= ? AND s.source < ?)))"
        )
        params += [prefix, prefix + "/", prefix + "0"]
    return where, params
