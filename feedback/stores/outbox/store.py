"""``OutboxFeedbackStore``: any ``FeedbackStore`` with a local outbox for the writes it cannot
take now, replayed in order; how it behaves is told in the package's docstring
(``feedback.stores.outbox``)."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from feedback.audit import AuditEvent, AuditPage
from feedback.errors import Conflict, FeedbackError, NotFound, StoreUnavailable, WriteQueued
from feedback.records import Feedback, Interaction, JudgeScore, Review, now
from feedback.stores.base import (
    UNSET,
    AttachmentField,
    AttachmentSetters,
    FeedbackStore,
    GroupBy,
    InteractionFilter,
    InteractionPage,
    Order,
    SessionSummary,
    keep_attachments,
)
from feedback.stores.outbox.file import EVENT, FIELDS, MODELS, Outbox, apply_locally, new_entry

log = logging.getLogger(__name__)

T = TypeVar("T")


class OutboxFeedbackStore(AttachmentSetters):
    """A ``FeedbackStore`` that keeps the writes its inner store cannot take, and replays them.

    Args:
        inner: the store that holds the records (DynamoDB, SQLite).
        outbox_dir: a local folder for the outbox, its lock and the rejected entries; the app
            processes of one machine should share it (under ``RAGBOT_HOME``).
        retry_after: seconds after a failure during which writes go straight to the outbox
            without trying the store, so that during an outage a user's click does not wait
            for the SDK's retries every time; 0 tries the store on every write.
        cache_size: how many recently written or read records this process remembers to
            answer a queued ``set_*`` with the updated record.

    Raises:
        StoreUnavailable: from reads, when the inner store cannot be reached.
        WriteQueued: from ``set_*``, when the change was queued and this process has no copy of
            the record to return (nothing is lost; do not retry).
        FeedbackError: from writes, when the outbox itself cannot be written (disk full); the
            write is then lost, and the caller must be told.
    """

    def __init__(self, inner: FeedbackStore, outbox_dir: Path, *, retry_after: float = 5.0, cache_size: int = 1024):
        if retry_after < 0:
            raise ValueError(f"retry_after={retry_after!r} must be 0 or more")
        if cache_size < 0:
            raise ValueError(f"cache_size={cache_size!r} must be 0 or more")
        self.inner = inner
        self.outbox = Outbox(Path(outbox_dir))
        self.retry_after = retry_after
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Interaction] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._local = threading.local()
        self._down_until = 0.0
        self._outage = False  # logged once per outage, not once per write

    def __repr__(self) -> str:
        return f"OutboxFeedbackStore({self.inner!r}, {str(self.outbox.directory)!r})"

    # -- what the caller can ask -------------------------------------------------------------

    @property
    def last_write_queued(self) -> bool:
        """True when this thread's last write went to the outbox instead of the store."""
        return getattr(self._local, "queued", False)

    def pending(self) -> int:
        """How many writes wait in the outbox, from every process that shares it."""
        return self.outbox.count()

    @property
    def rejected_path(self) -> Path:
        """Where entries the store refused for good are kept, one JSON object a line."""
        return self.outbox.rejected_path

    def flush(self) -> tuple[int, int]:
        """Replay the outbox now, in order, until it is empty or the store fails again.

        Returns:
            (how many entries were replayed, how many still wait).
        """
        with self.outbox.locked():
            replayed, remaining = self._replay()
        if replayed:
            log.info("replayed %d queued feedback writes; %d still wait", replayed, len(remaining))
        return replayed, len(remaining)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()

    def init_table(self) -> str:
        """Create the inner store's table, or bring one made by an older ragbot up to date
        (``ragbot feedback init-table``); returns what was done.

        Raises:
            FeedbackError: the inner store has no table to create (SQLite makes its file itself).
            StoreUnavailable: from the inner store.
        """
        init_table = getattr(self.inner, "init_table", None)
        if init_table is None:
            raise FeedbackError(f"{self.inner!r} has no table to create")
        return init_table()

    # -- writes ------------------------------------------------------------------------------

    def put(self, interaction: Interaction) -> None:
        """Write the interaction, or queue it when the store cannot be reached (see ``last_write_queued``)."""
        entry = new_entry("put", interaction.id, interaction.model_dump(mode="json"))
        self._write(entry, partial(self.inner.put, interaction))
        # Remembered even when only queued: another process may replay the queue (and empty it)
        # before this one rates the answer, and the rating must still find the record.
        with self._cache_lock:
            cached = self._cache.get(interaction.id)
        self._remember(interaction if cached is None else keep_attachments(cached, interaction))

    def record_event(self, event: AuditEvent) -> None:
        """Append an audit event, or queue it when the store cannot be reached."""
        self._write(new_entry(EVENT, event.id, event.model_dump(mode="json")), partial(self.inner.record_event, event))

    def _attach(
        self,
        interaction_id: str,
        field: AttachmentField,
        value: Feedback | JudgeScore | Review,
        check: Callable[[Interaction], None] | None = None,
    ) -> Interaction:
        """Attach through the store; when queued, return the record as it will be, or raise WriteQueued
        (a StoreUnavailable) when this process has no copy of the record. NotFound only comes from a
        reachable store."""
        op = f"set_{field}"
        return self._update(op, interaction_id, value, partial(getattr(self.inner, op), interaction_id, value))

    def set_review(self, interaction_id: str, review: Review, *, expected_reviewed_at: Any = UNSET) -> Interaction:
        """Attach the review; a conditional one (``expected_reviewed_at``) is checked by the store, or,
        while the store is unreachable, against this process's copy: the best that can be known then."""
        if expected_reviewed_at is UNSET:
            return self._attach(interaction_id, "review", review)
        with self._cache_lock:
            known = self._cache.get(interaction_id)
        if self._store_is_down() and known is not None:
            stored = self._overlay(known, interaction_id)
            if stored is not None and stored.review.reviewed_at != expected_reviewed_at:
                raise Conflict(
                    f"{stored.review.reviewer or 'someone'} changed the review of this answer since you opened it "
                    f"({stored.review.status}); reload it to see their change"
                )
        direct = partial(self.inner.set_review, interaction_id, review, expected_reviewed_at=expected_reviewed_at)
        return self._update("set_review", interaction_id, review, direct)

    def _update(self, op: str, interaction_id: str, value: Any, direct: Callable[[], Interaction]) -> Interaction:
        entry = new_entry(op, interaction_id, value.model_dump(mode="json"))
        try:
            result = self._write(entry, direct)
        except NotFound:
            # The store has no such record, yet this process wrote (or read) it: its put was
            # set aside by a replay, or the store lost it. The answer exists for the user who
            # rates it, so the change goes in with the record rather than being refused.
            with self._cache_lock:
                known = self._cache.get(interaction_id)
            if known is None:
                raise
            record = known.model_copy(update={FIELDS[op]: value, "updated_at": now()})
            log.warning("feedback store has no %s; writing it again from this process's copy", interaction_id)
            self.put(record)
            return record
        if result is _QUEUED:
            # The record as the store will have it: this process's last copy, plus the queue.
            # Entries already in the copy are applied again, which changes nothing: a put keeps
            # the attachments and a set_* replaces.
            with self._cache_lock:
                known = self._cache.get(interaction_id)
            record = self._overlay(known, interaction_id)
            if record is None:
                # Still kept: the replay applies it if the store has the record by then.
                raise WriteQueued(
                    f"the {FIELDS[op]} for interaction {interaction_id!r} is saved locally and will be sent "
                    "when the feedback store is reachable again"
                )
            self._remember(record)
            return record
        self._remember(result)
        return result

    def _write(self, entry: dict[str, Any], direct: Callable[[], T]) -> T | object:
        """Apply a write through the store, replaying the outbox first, or queue it."""
        self._local.queued = False
        failed = self._store_is_down()
        if not failed and self.outbox.is_empty():
            # Nothing waits, so nothing can be overtaken: write without taking the lock.
            try:
                return direct()
            except StoreUnavailable as e:
                self._went_down(e)
                failed = True
        with self.outbox.locked():
            if not failed:
                _, remaining = self._replay()
                if not remaining and not self._store_is_down():
                    try:
                        return direct()
                    except StoreUnavailable as e:
                        self._went_down(e)
            try:
                self.outbox.append(entry)
            except OSError as e:  # the last line of defence failed too: say so, never pretend
                raise FeedbackError(
                    f"The store is unreachable and the local outbox cannot be written ({e}); the change was not saved."
                ) from e
        self._local.queued = True
        log.debug("%s of %s kept in the outbox", entry["op"], entry["id"])
        return _QUEUED

    def _replay(self) -> tuple[int, list[dict[str, Any]]]:
        """Replay the outbox in order (under the lock); returns (replayed, entries left)."""
        entries, bad = self.outbox.read()
        for line in bad:
            log.error("feedback outbox: a line that is not an entry moved to %s", self.outbox.rejected_path)
            self.outbox.reject(line, "not a complete outbox entry (a write cut short?)")
        replayed = done = 0
        for entry in entries:
            try:
                self._apply(entry)
            except StoreUnavailable as e:
                self._went_down(e)
                break
            except (FeedbackError, ValidationError, KeyError, TypeError, ValueError) as e:
                log.error(
                    "feedback outbox: %s of %s refused (%s); moved to %s",
                    entry.get("op"),
                    entry.get("id"),
                    e,
                    self.outbox.rejected_path,
                )
                self.outbox.reject(entry, f"{type(e).__name__}: {e}")
            else:
                replayed += 1
            done += 1
        if done or bad:
            self.outbox.rewrite(entries[done:])
        if done == len(entries):
            self._down_until = 0.0
            if self._outage:
                log.warning("feedback store reachable again; the outbox is empty")
                self._outage = False
        return replayed, entries[done:]

    def _apply(self, entry: dict[str, Any]) -> None:
        op, interaction_id = entry["op"], entry["id"]
        if op == EVENT:
            self.inner.record_event(AuditEvent.model_validate(entry["data"]))
        elif op == "put":
            self.inner.put(Interaction.model_validate(entry["data"]))
        else:
            value = MODELS[op].model_validate(entry["data"])
            try:
                getattr(self.inner, op)(interaction_id, value)
            except NotFound:
                # As in _update: a record this process knows but the store lost goes in again
                # with the change; one it never saw is set aside (see _replay).
                with self._cache_lock:
                    known = self._cache.get(interaction_id)
                if known is None:
                    raise
                changed = datetime.fromisoformat(entry["queued_at"])
                self.inner.put(known.model_copy(update={FIELDS[op]: value, "updated_at": changed}))

    def _store_is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _went_down(self, error: StoreUnavailable) -> None:
        if not self._outage:
            log.warning("feedback store unavailable (%s); writes go to the outbox in %s", error, self.outbox.path)
            self._outage = True
        self._down_until = time.monotonic() + self.retry_after

    # -- local copies ------------------------------------------------------------------------

    def _remember(self, record: Interaction | None) -> None:
        if record is None or self.cache_size == 0:
            return
        with self._cache_lock:
            self._cache[record.id] = record
            self._cache.move_to_end(record.id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _overlay(self, record: Interaction | None, interaction_id: str) -> Interaction | None:
        """``record`` with the writes for the id that wait in the outbox applied, in order."""
        return apply_locally(record, self._waiting(interaction_id))

    def _waiting(self, interaction_id: str) -> list[dict[str, Any]]:
        """The outbox's entries for the id, in order."""
        if self.outbox.is_empty():
            return []
        return [entry for entry in self.outbox.read()[0] if entry.get("id") == interaction_id]

    # -- reads -------------------------------------------------------------------------------

    def get(self, interaction_id: str) -> Interaction | None:
        """The interaction from the store, with any writes still waiting in the outbox applied.

        Raises:
            StoreUnavailable: the store cannot be reached (at once, without waiting for the SDK's
                retries, while a recent write found it down).
        """
        if self._store_is_down():
            raise StoreUnavailable("the feedback store was unreachable moments ago")
        # Read before the store: another process may replay the outbox (and empty it) between
        # the store's answer and the look at the outbox, and a record whose put was queued
        # must not vanish in that gap (a rating of it would be refused as unknown).
        before = self._waiting(interaction_id)
        record = self.inner.get(interaction_id)
        self._remember(record)
        after = self._waiting(interaction_id)
        if record is None:
            waiting = before + [entry for entry in after if entry not in before]
            if not any(entry["op"] == "put" for entry in waiting):
                # Not in the store and no put waits, yet this process wrote or read it: the
                # store lost it, or a replay set its put aside; the local copy stands in and
                # the next change writes it again (_update).
                with self._cache_lock:
                    record = self._cache.get(interaction_id)
            return apply_locally(record, waiting)
        return apply_locally(record, after)

    def get_local(self, interaction_id: str) -> Interaction | None:
        """The record as this process last wrote or read it, with the writes still queued applied.

        Never contacts the store: for a check that must not fail during an outage (is this the
        user's own answer?) before a rating is queued. None when this process has no copy.
        """
        with self._cache_lock:
            known = self._cache.get(interaction_id)
        return self._overlay(known, interaction_id)

    def list(
        self,
        filters: InteractionFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = "newest",
    ) -> InteractionPage:
        """The store's listing; writes still in the outbox are not in it. Raises StoreUnavailable."""
        return self.inner.list(filters, limit=limit, cursor=cursor, order=order)

    def count_groups(self, filters: InteractionFilter | None = None, *, by: GroupBy) -> dict[str, int]:
        """The store's group counts; writes still in the outbox are not in them. Raises StoreUnavailable."""
        return self.inner.count_groups(filters, by=by)

    def sessions(self, user: str, *, limit: int = 20) -> list[SessionSummary]:
        """The store's sessions of the user. Raises StoreUnavailable."""
        return self.inner.sessions(user, limit=limit)

    def events(self, *, limit: int = 50, cursor: str | None = None) -> AuditPage:
        """The store's audit events; events still in the outbox are not in it. Raises StoreUnavailable."""
        return self.inner.events(limit=limit, cursor=cursor)


_QUEUED = object()
