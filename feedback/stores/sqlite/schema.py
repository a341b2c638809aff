"""The SQLite feedback file's schema: its tables and migrations, and the row of a record.

Each interaction is one row of ``interactions``: the whole record as JSON
(``Interaction.model_dump_json()``) plus the columns that ``InteractionFilter`` filters on, and
one row per cited source in ``interaction_sources`` for the folder filter. The audit log is the
``audit_log`` table. The schema carries its version in the ``schema_version`` table;
``MIGRATIONS`` are applied in order when a file is first opened (``migrate``).
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feedback.errors import StoreUnavailable
from feedback.records import Interaction, now

log = logging.getLogger(__name__)

# Version n is MIGRATIONS[n - 1]; append, never edit a released one. Statements are split on ";",
# so none may contain one (no triggers, no string literals with semicolons).
MIGRATIONS: list[str] = [
    """
    CREATE TABLE interactions (
        id             TEXT PRIMARY KEY,
        created_us     INTEGER NOT NULL,   -- created_at, microseconds since the epoch, UTC
        updated_us     INTEGER NOT NULL,
        user           TEXT NOT NULL,
        session_id     TEXT NOT NULL,
        turn           INTEGER NOT NULL,
        rating         INTEGER,            -- NULL while unrated
        has_correction INTEGER NOT NULL,
        review_status  TEXT NOT NULL,
        record         TEXT NOT NULL       -- Interaction.model_dump_json()
    );
    CREATE INDEX interactions_created ON interactions (created_us DESC, id DESC);
    CREATE INDEX interactions_user ON interactions (user, created_us DESC, id DESC);
    CREATE INDEX interactions_session ON interactions (user, session_id, turn);
    CREATE INDEX interactions_rating ON interactions (rating, created_us DESC);
    CREATE INDEX interactions_review ON interactions (review_status, created_us DESC);
    CREATE TABLE interaction_sources (
        interaction_id TEXT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
        source         TEXT NOT NULL,
        PRIMARY KEY (interaction_id, source)
    ) WITHOUT ROWID;
    CREATE INDEX interaction_sources_source ON interaction_sources (source, interaction_id);
    """,
    # 2: the audit log.
    """
    CREATE TABLE audit_log (
        id      TEXT PRIMARY KEY,
        at_us   INTEGER NOT NULL,          -- microseconds since the epoch, UTC
        event   TEXT NOT NULL              -- AuditEvent.model_dump_json()
    );
    CREATE INDEX audit_log_at ON audit_log (at_us DESC, id DESC)
    """,
    # 3: whether the AI judge has been asked, so a judge run lists only what is left to score.
    """
    ALTER TABLE interactions ADD COLUMN judged INTEGER NOT NULL DEFAULT 0;
    UPDATE interactions SET judged = 1 WHERE json_extract(record, '$.judge') IS NOT NULL;
    CREATE INDEX interactions_judged ON interactions (judged, created_us DESC, id DESC);
    """,
    # 4: the judge's score, for the review queue's filters and its sort by AI score.
    """
    ALTER TABLE interactions ADD COLUMN judge_score REAL;
    UPDATE interactions SET judge_score = json_extract(record, '$.judge.score');
    CREATE INDEX interactions_judge_score ON interactions (judge_score, created_us DESC, id DESC);
    CREATE INDEX interactions_rating_order ON interactions (rating, created_us DESC, id DESC)
    """,
    # 5: where the question came from, so statistics count users' questions only and the review
    # queue shows generated pairs under their own filter.
    """
    ALTER TABLE interactions ADD COLUMN origin TEXT NOT NULL DEFAULT 'user';
    UPDATE interactions SET origin = 'synthetic'
     WHERE CASE WHEN json_valid(record) THEN json_extract(record, '$.origin') END = 'synthetic';
    CREATE INDEX interactions_origin ON interactions (origin, created_us DESC, id DESC)
    """,
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

UPSERT = """
INSERT INTO interactions
    (id, created_us, updated_us, user, session_id, turn, rating, has_correction, review_status, judged,
     judge_score, origin, record)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    created_us = excluded.created_us, updated_us = excluded.updated_us, user = excluded.user,
    session_id = excluded.session_id, turn = excluded.turn, rating = excluded.rating,
    has_correction = excluded.has_correction, review_status = excluded.review_status,
    judged = excluded.judged, judge_score = excluded.judge_score, origin = excluded.origin,
    record = excluded.record
"""
"""Insert or replace the row of one record; its parameters are ``row(record)``."""


def micros(value: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """Inverse of ``micros``, clamped to what a datetime holds (a record stored before times were
    bounded may lie outside it)."""
    try:
        return EPOCH + value * _MICROSECOND
    except OverflowError:
        return (datetime.min if value < 0 else datetime.max).replace(tzinfo=UTC)


def row(interaction: Interaction) -> tuple[Any, ...]:
    """The parameters of ``UPSERT`` for one record: its filter columns and the record itself."""
    feedback = interaction.feedback
    return (
        interaction.id,
        micros(interaction.created_at),
        micros(interaction.updated_at),
        interaction.user,
        interaction.session_id,
        interaction.turn,
        feedback.rating if feedback else None,
        int(bool(feedback and feedback.correction)),
        interaction.review.status,
        int(interaction.judge is not None),
        interaction.judge.score if interaction.judge else None,
        interaction.origin,
        interaction.model_dump_json(),
    )


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the file open on ``conn`` to the latest schema version, applying each missing
    migration once, in order.

    Raises:
        StoreUnavailable: the file has a newer schema than this ragbot knows.
        sqlite3.Error: a statement failed (nothing of this call is kept).
    """
    # BEGIN IMMEDIATE: two processes opening a new file at once apply each migration once.
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
        if current > len(MIGRATIONS):
            raise StoreUnavailable(
                f"feedback database {path} has schema version {current}, newer than this ragbot "
                f"understands ({len(MIGRATIONS)}); upgrade ragbot"
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            log.info("%s: applying schema migration %d", path, version)
            # executescript() would commit the open transaction; run the statements one by one.
            for statement in MIGRATIONS[version - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, now().isoformat()))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
