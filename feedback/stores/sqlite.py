"""The embedded feedback store: one SQLite file in WAL mode.

Several app processes (Streamlit workers, the CLI, a judge run) may write to the same file at
once. WAL lets readers run while one writer commits; every write takes the write lock up front
with ``BEGIN IMMEDIATE`` and waits for it (``busy_timeout``), and the rare "database is locked"
that still gets through is retried with a short, bounded backoff.

Each interaction is one row: the whole record as JSON (``Interaction.model_dump_json()``) plus
the columns that ``InteractionFilter`` filters on, and one row per cited source in
``interaction_sources`` for the folder filter. The schema carries its version in the
``schema_version`` table; ``MIGRATIONS`` are applied in order when a file is first opened.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar

from feedback.audit import AuditEvent, AuditPage
from feedback.errors import NotFound, StoreUnavailable, UnreadableRecord
from feedback.records import Feedback, Interaction, JudgeScore, Review, load_stored, now
from feedback.stores.base import (
    AttachmentField,
    AttachmentSetters,
    GroupBy,
    InteractionFilter,
    InteractionPage,
    Order,
    SessionSummary,
    keep_attachments,
)
from feedback.stores.cursor import decode_cursor, decode_sorted_cursor, encode_cursor, encode_sorted_cursor

log = logging.getLogger(__name__)

T = TypeVar("T")
JournalMode = Literal["wal", "delete"]

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

# Listing orders: the sort column (None: by time alone) and its direction.
_ORDERS: dict[str, tuple[str | None, str]] = {
    "newest": (None, "DESC"),
    "oldest": (None, "ASC"),
    "judge_asc": ("judge_score", "ASC"),
    "judge_desc": ("judge_score", "DESC"),
    "rating_asc": ("rating", "ASC"),
    "rating_desc": ("rating", "DESC"),
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_UPSERT = """
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


def _micros(value: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


def _from_micros(micros: int) -> datetime:
    """Inverse of ``_micros``, clamped to what a datetime holds (a record stored before times were
    bounded may lie outside it)."""
    try:
        return _EPOCH + micros * _MICROSECOND
    except OverflowError:
        return (datetime.min if micros < 0 else datetime.max).replace(tzinfo=UTC)


def _is_locked(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "database is locked" in message or "database is busy" in message


class SQLiteFeedbackStore(AttachmentSetters):
    """Interactions in a SQLite file, safe to share between threads and processes.

    Connections are opened on first use, one per thread (and per process after a fork), so the
    store can be built once with ``st.cache_resource`` and used from Streamlit's script threads.

    Args:
        path: the database file; it and its folder are created when missing.
        journal_mode: ``"wal"`` (the default: readers never wait for the writer) or
            ``"delete"``, the rollback journal, for file systems without shared memory such as
            network shares, where WAL must not be used.
        busy_timeout_ms: how long a write waits for another connection's write lock.
        retries: how many more times an operation that still found the database locked is
            tried, after a short random backoff that doubles each time.

    Raises:
        StoreUnavailable: from any method, when the file cannot be opened, read or written
            (missing permissions, not a database, disk full, locked past every retry).
    """

    def __init__(
        self, path: Path, *, journal_mode: JournalMode = "wal", busy_timeout_ms: int = 5_000, retries: int = 4
    ) -> None:
        if journal_mode not in ("wal", "delete"):
            raise ValueError(f"journal_mode={journal_mode!r} is not one of 'wal', 'delete'")
        if busy_timeout_ms < 0:
            raise ValueError(f"busy_timeout_ms={busy_timeout_ms!r} must be 0 or more")
        if retries < 0:
            raise ValueError(f"retries={retries!r} must be 0 or more")
        self.path = Path(path)
        self.journal_mode = journal_mode
        self.busy_timeout_ms = busy_timeout_ms
        self.retries = retries
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._migrated = False

    def __repr__(self) -> str:
        return f"SQLiteFeedbackStore({str(self.path)!r}, journal_mode={self.journal_mode!r})"

    # -- connections -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        # A connection inherited through fork() must not be used in the child; open a new one.
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreUnavailable(f"cannot create the folder of the feedback database {self.path}: {e}") from e
        self._create_private()
        # isolation_level=None: no implicit transactions; each write opens its own BEGIN IMMEDIATE.
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            mode = conn.execute(f"PRAGMA journal_mode = {self.journal_mode}").fetchone()[0]
            if mode.lower() != self.journal_mode:
                log.warning("%s: journal_mode is %s, not %s as asked", self.path, mode, self.journal_mode)
            # FULL: a committed rating survives a power cut too, not only a crash of the app.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            with self._lock:
                if not self._migrated:
                    self._migrate(conn)
                    self._migrated = True
        except BaseException:
            conn.close()
            raise
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._connections.append((os.getpid(), conn))
        return conn

    def _create_private(self) -> None:
        """Create a missing database file readable by its owner only.

        It holds every user's questions, answers and notes, like the exports and the outbox
        (0600). SQLite gives the -wal and -shm files the mode of the database file, so they
        follow. An existing file keeps the mode its owner gave it.
        """
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        except OSError as e:
            raise StoreUnavailable(f"cannot create the feedback database {self.path}: {e}") from e
        os.close(fd)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # BEGIN IMMEDIATE: two processes opening a new file at once apply each migration once.
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            if current > len(MIGRATIONS):
                raise StoreUnavailable(
                    f"feedback database {self.path} has schema version {current}, newer than this ragbot "
                    f"understands ({len(MIGRATIONS)}); upgrade ragbot"
                )
            for version in range(current + 1, len(MIGRATIONS) + 1):
                log.info("%s: applying schema migration %d", self.path, version)
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

    def close(self) -> None:
        """Close every connection this store opened in this process; the next call opens new ones.

        Call it when no other thread is in the middle of a call on this store.
        """
        with self._lock:
            connections, self._connections = self._connections, []
        for pid, conn in connections:
            # A connection inherited through fork() belongs to the parent; leave it alone.
            if pid == os.getpid():
                conn.close()
        self._local = threading.local()

    def _run(self, operation: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run ``operation`` (in a ``BEGIN IMMEDIATE`` transaction when ``write``), retrying locks."""
        for attempt in range(self.retries + 1):
            conn = None
            try:
                conn = self._connection()
                if not write:
                    return operation(conn)
                conn.execute("BEGIN IMMEDIATE")
                result = operation(conn)
                conn.execute("COMMIT")
                return result
            except sqlite3.OperationalError as e:
                self._rollback(conn)
                if _is_locked(e) and attempt < self.retries:
                    delay = 0.01 * 2**attempt * (1 + random.random())
                    log.warning(
                        "%s is locked, retrying in %.0f ms (%d/%d)", self.path, delay * 1000, attempt + 1, self.retries
                    )
                    time.sleep(delay)
                    continue
                raise StoreUnavailable(f"feedback database {self.path}: {e}") from e
            except sqlite3.DatabaseError as e:
                self._rollback(conn)
                # IntegrityError, ProgrammingError etc. are bugs here, not an unreachable store.
                if type(e) is not sqlite3.DatabaseError:
                    raise
                raise StoreUnavailable(f"feedback database {self.path}: {e}") from e
            except BaseException:
                self._rollback(conn)
                raise
        raise AssertionError("unreachable")  # the loop returns or raises

    @staticmethod
    def _rollback(conn: sqlite3.Connection | None) -> None:
        if conn is not None and conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.debug("rollback failed", exc_info=True)

    # -- writes ------------------------------------------------------------------------------

    @staticmethod
    def _write_row(conn: sqlite3.Connection, interaction: Interaction) -> None:
        feedback = interaction.feedback
        conn.execute(
            _UPSERT,
            (
                interaction.id,
                _micros(interaction.created_at),
                _micros(interaction.updated_at),
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
            ),
        )

    def put(self, interaction: Interaction) -> None:
        """Insert the interaction, or replace the record with this id (idempotent).

        Feedback, judge score and review already attached are kept when the incoming record
        has none, so a retried or replayed write of the original answer never erases a rating.

        Raises:
            StoreUnavailable: the file cannot be written.
        """

        def write(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT record FROM interactions WHERE id = ?", (interaction.id,)).fetchone()
            record = interaction
            if row is not None:
                try:
                    record = keep_attachments(load_stored(row[0], interaction.id), interaction)
                except UnreadableRecord as e:  # the incoming record repairs it
                    log.warning("%s; replacing it with the record written now", e)
            self._write_row(conn, record)
            conn.execute("DELETE FROM interaction_sources WHERE interaction_id = ?", (interaction.id,))
            conn.executemany(
                "INSERT INTO interaction_sources (interaction_id, source) VALUES (?, ?)",
                [(interaction.id, source) for source in interaction.sources],
            )

        self._run(write, write=True)

    def _attach(
        self,
        interaction_id: str,
        field: AttachmentField,
        value: Feedback | JudgeScore | Review,
        check: Callable[[Interaction], None] | None = None,
    ) -> Interaction:
        """Read, change and write one record inside a single write transaction."""

        def write(conn: sqlite3.Connection) -> Interaction:
            row = conn.execute("SELECT record FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
            if row is None:
                raise NotFound(f"no interaction has id {interaction_id!r}")
            stored = load_stored(row[0], interaction_id)
            if check is not None:
                check(stored)
            updated = stored.model_copy(update={field: value, "updated_at": now()})
            self._write_row(conn, updated)
            return updated

        return self._run(write, write=True)

    # -- reads -------------------------------------------------------------------------------

    def get(self, interaction_id: str) -> Interaction | None:
        """The interaction, or None when no record has that id.

        Raises:
            UnreadableRecord: the stored record no longer validates.
            StoreUnavailable: the file cannot be read.
        """
        row = self._run(
            lambda conn: conn.execute("SELECT record FROM interactions WHERE id = ?", (interaction_id,)).fetchone(),
            write=False,
        )
        return load_stored(row[0], interaction_id) if row else None

    def list(
        self,
        filters: InteractionFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = "newest",
    ) -> InteractionPage:
        """Matching interactions in ``order``, at most ``limit``: by (created_at, id), newest or
        oldest first, or by judge score or rating (then newest first), listing only the records
        that have one.

        ``since`` is inclusive and ``until`` exclusive; naive datetimes are read as UTC.
        ``source_prefix`` matches a cited document exactly, or every document under a folder
        ("Design" and "Design/" match "Design/a.pdf", not "Design Extra/b.pdf"), case-sensitively.

        Returns:
            The page, and ``next_cursor`` to pass back for the next one (None on the last page).
            A stored record that no longer validates is left out of ``items`` and its id put in
            ``unreadable`` (and logged), so one bad record never breaks a listing.

        Raises:
            ValueError: ``limit`` is below 1, ``order`` unknown, or ``cursor`` not one this store
                returned for this order.
            StoreUnavailable: the file cannot be read.
        """
        if limit < 1:
            raise ValueError(f"limit={limit!r} must be 1 or more")
        if order not in _ORDERS:
            raise ValueError(f"order={order!r} is not one of {', '.join(_ORDERS)}")
        column, direction = _ORDERS[order]
        where, params = _where(filters or InteractionFilter())
        if column is None:
            if cursor is not None:
                created_us, last_id = decode_cursor(cursor)
                where.append(f"(created_us, id) {'<' if direction == 'DESC' else '>'} (?, ?)")
                params += [created_us, last_id]
            sort = f"created_us {direction}, id {direction}"
            select = "SELECT created_us, id, record, NULL FROM interactions"
        else:
            where.append(f"{column} IS NOT NULL")
            if cursor is not None:
                key, created_us, last_id = decode_sorted_cursor(cursor)
                beyond = ">" if direction == "ASC" else "<"
                where.append(f"({column} {beyond} ? OR ({column} = ? AND (created_us, id) < (?, ?)))")
                params += [key, key, created_us, last_id]
            sort = f"{column} {direction}, created_us DESC, id DESC"
            select = f"SELECT created_us, id, record, {column} FROM interactions"
        sql = select + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {sort} LIMIT ?"
        rows = self._run(lambda conn: conn.execute(sql, [*params, limit + 1]).fetchall(), write=False)
        items, unreadable = [], []
        for _, interaction_id, record, _key in rows[:limit]:
            try:
                items.append(load_stored(record, interaction_id))
            except UnreadableRecord as e:
                log.warning("%s; left out", e)
                unreadable.append(interaction_id)
        next_cursor = None
        if len(rows) > limit:
            created_us, last_id, _, key = rows[limit - 1]
            next_cursor = (
                encode_cursor(created_us, last_id) if column is None else encode_sorted_cursor(key, created_us, last_id)
            )
        return InteractionPage(items=items, next_cursor=next_cursor, unreadable=unreadable)

    def count_groups(self, filters: InteractionFilter | None = None, *, by: GroupBy) -> dict[str, int]:
        """How many matching interactions fall in each group (see ``FeedbackStore.count_groups``)."""
        where, params = _where(filters or InteractionFilter())
        condition = " WHERE " + " AND ".join(where) if where else ""
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
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall(), write=False)
        return {str(group): count for group, count in rows}

    def sessions(self, user: str, *, limit: int = 20) -> list[SessionSummary]:
        """The user's conversations, the most recently started first.

        ``started_at`` is the earliest ``created_at`` of the session, ``first_question`` the
        question of its lowest turn, ``turns`` how many interactions it holds.

        Raises:
            ValueError: ``limit`` is below 1.
            StoreUnavailable: the file cannot be read.
        """
        if limit < 1:
            raise ValueError(f"limit={limit!r} must be 1 or more")
        sql = """
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
        rows = self._run(lambda conn: conn.execute(sql, {"user": user, "limit": limit}).fetchall(), write=False)
        return [
            SessionSummary(
                session_id=session_id,
                started_at=_from_micros(started_us),
                first_question=question if isinstance(question, str) else "",  # "" for a record that is not JSON
                turns=turns,
            )
            for session_id, started_us, turns, question in rows
        ]

    # -- audit log ---------------------------------------------------------------------------

    def record_event(self, event: AuditEvent) -> None:
        """Append an audit event; writing the same event id again changes nothing."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO audit_log (id, at_us, event) VALUES (?, ?, ?)",
                (event.id, _micros(event.at), event.model_dump_json()),
            )

        self._run(write, write=True)

    def events(self, *, limit: int = 50, cursor: str | None = None) -> AuditPage:
        """Audit events, newest first."""
        after = decode_cursor(cursor) if cursor else None

        def read(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
            if after is None:
                sql, args = "SELECT at_us, id, event FROM audit_log", ()
            else:
                sql, args = "SELECT at_us, id, event FROM audit_log WHERE (at_us, id) < (?, ?)", after
            return conn.execute(f"{sql} ORDER BY at_us DESC, id DESC LIMIT ?", (*args, limit + 1)).fetchall()

        rows = self._run(read, write=False)
        items = [AuditEvent.model_validate_json(event) for _, _, event in rows[:limit]]
        more = len(rows) > limit
        return AuditPage(
            items=items, next_cursor=encode_cursor(rows[limit - 1][0], rows[limit - 1][1]) if more else None
        )


def _where(f: InteractionFilter) -> tuple[list[str], list]:
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
        params.append(_micros(f.since))
    if f.until is not None:
        where.append("created_us < ?")
        params.append(_micros(f.until))
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
