"""``SQLiteFeedbackStore``: the embedded feedback store, one SQLite file in WAL mode.

Several app processes (Streamlit workers, the CLI, a judge run) may write to the same file at
once. WAL lets readers run while one writer commits; every write takes the write lock up front
with ``BEGIN IMMEDIATE`` and waits for it (``busy_timeout``), and the rare "database is locked"
that still gets through is retried with a short, bounded backoff. The tables and their
migrations are in ``schema``, the statements in ``queries``.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
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
from feedback.stores.cursor import encode_cursor
from feedback.stores.sqlite import queries, schema

log = logging.getLogger(__name__)

T = TypeVar("T")
JournalMode = Literal["wal", "delete"]


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
                    schema.migrate(conn, self.path)
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

    def put(self, interaction: Interaction) -> None:
        """Insert the interaction, or replace the record with this id (idempotent).

        Feedback, judge score and review already attached are kept when the incoming record
        has none, so a retried or replayed write of the original answer never erases a rating.

        Raises:
            StoreUnavailable: the file cannot be written.
        """

        def write(conn: sqlite3.Connection) -> None:
            row = conn.execute(queries.SELECT_RECORD, (interaction.id,)).fetchone()
            record = interaction
            if row is not None:
                try:
                    record = keep_attachments(load_stored(row[0], interaction.id), interaction)
                except UnreadableRecord as e:  # the incoming record repairs it
                    log.warning("%s; replacing it with the record written now", e)
            conn.execute(schema.UPSERT, schema.row(record))
            conn.execute(queries.DELETE_SOURCES, (interaction.id,))
            conn.executemany(queries.INSERT_SOURCE, [(interaction.id, source) for source in interaction.sources])

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
            row = conn.execute(queries.SELECT_RECORD, (interaction_id,)).fetchone()
            if row is None:
                raise NotFound(f"no interaction has id {interaction_id!r}")
            stored = load_stored(row[0], interaction_id)
            if check is not None:
                check(stored)
            updated = stored.model_copy(update={field: value, "updated_at": now()})
            conn.execute(schema.UPSERT, schema.row(updated))
            return updated

        return self._run(write, write=True)

    # -- reads -------------------------------------------------------------------------------

    def get(self, interaction_id: str) -> Interaction | None:
        """The interaction, or None when no record has that id.

        Raises:
            UnreadableRecord: the stored record no longer validates.
            StoreUnavailable: the file cannot be read.
        """
        row = self._run(lambda conn: conn.execute(queries.SELECT_RECORD, (interaction_id,)).fetchone(), write=False)
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
        sql, params, column = queries.listing(filters or InteractionFilter(), order, cursor, limit)
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall(), write=False)
        items, unreadable = [], []
        for _, interaction_id, record, _key in rows[:limit]:
            try:
                items.append(load_stored(record, interaction_id))
            except UnreadableRecord as e:
                log.warning("%s; left out", e)
                unreadable.append(interaction_id)
        next_cursor = queries.cursor_after(rows[limit - 1], column) if len(rows) > limit else None
        return InteractionPage(items=items, next_cursor=next_cursor, unreadable=unreadable)

    def count_groups(self, filters: InteractionFilter | None = None, *, by: GroupBy) -> dict[str, int]:
        """How many matching interactions fall in each group (see ``FeedbackStore.count_groups``)."""
        sql, params = queries.group_count(filters or InteractionFilter(), by)
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
        rows = self._run(
            lambda conn: conn.execute(queries.SESSIONS, {"user": user, "limit": limit}).fetchall(), write=False
        )
        return [
            SessionSummary(
                session_id=session_id,
                started_at=schema.from_micros(started_us),
                first_question=question if isinstance(question, str) else "",  # "" for a record that is not JSON
                turns=turns,
            )
            for session_id, started_us, turns, question in rows
        ]

    # -- audit log ---------------------------------------------------------------------------

    def record_event(self, event: AuditEvent) -> None:
        """Append an audit event; writing the same event id again changes nothing."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(queries.INSERT_EVENT, (event.id, schema.micros(event.at), event.model_dump_json()))

        self._run(write, write=True)

    def events(self, *, limit: int = 50, cursor: str | None = None) -> AuditPage:
        """Audit events, newest first."""
        sql, params = queries.events(cursor, limit)
        rows = self._run(lambda conn: conn.execute(sql, params).fetchall(), write=False)
        items = [AuditEvent.model_validate_json(event) for _, _, event in rows[:limit]]
        more = len(rows) > limit
        return AuditPage(
            items=items, next_cursor=encode_cursor(rows[limit - 1][0], rows[limit - 1][1]) if more else None
        )
