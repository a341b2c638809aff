"""Feedback actions: statistics, export, import, and keeping the store healthy."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from app.services.access import Action, Forbidden, authorize
from app.services.base import AuditedService
from app.errors import ConfigError
from feedback.records import Interaction
from feedback.stores.base import InteractionFilter


class FeedbackService(AuditedService):
    """Feedback actions on behalf of one identity."""

    @property
    def store(self):
        return self.backends.feedback_store

    def scope(self, filters: InteractionFilter | None) -> InteractionFilter:
        """``filters`` narrowed to what the identity may see: engineers only their own records.

        Raises Forbidden when an engineer asks for another user's records."""
        filters = filters or InteractionFilter()
        if self.identity.may(Action.SEE_ALL):
            return filters
        authorize(self.identity, Action.SEE_OWN)
        if filters.user not in (None, self.identity.user):
            raise Forbidden(self.identity, Action.SEE_ALL, f"they see their own questions only, not {filters.user}'s")
        return filters.model_copy(update={"user": self.identity.user})

    def stats(self, filters: InteractionFilter | None = None):
        """Rating distribution, negative share, trend, the documents behind bad answers and the judge's
        scores; engineers get the figures of their own questions only. Raises Forbidden, FeedbackError."""
        from feedback.stats import feedback_stats

        return feedback_stats(self.store, self.scope(filters))

    def recent_rated(self, limit: int = 25, filters: InteractionFilter | None = None):
        """The newest rated answers with their correction and note (engineers: their own).
        Raises Forbidden, FeedbackError."""
        scoped = self.scope(filters).model_copy(update={"rated": True})
        return self.store.list(scoped, limit=limit, order="newest")

    def export(
        self,
        out: Path | str | IO[bytes],
        fmt: str,
        filters: InteractionFilter | None = None,
        progress=None,
        unreadable: list[str] | None = None,
        *,
        redact: bool = False,
        target: str | None = None,
    ) -> int:
        """Stream the interactions matching ``filters`` to ``out`` as csv, jsonl or parquet; returns the
        count. Stored records that no longer validate are left out, their ids appended to ``unreadable``.
        ``redact`` masks e-mail addresses, phone numbers and user ids with stable pseudonyms.
        ``target`` is what the audit log names as the destination (default: the path, or "a stream").
        Raises Forbidden (admins only), FeedbackError, OSError."""
        from feedback.export import export

        authorize(self.identity, Action.EXPORT)
        transform = self.redactor() if redact else None
        target = target or (str(out) if isinstance(out, (str, Path)) else "a stream")
        with self.audit.bulk("export", target=target, format=fmt, filters=_filters_json(filters)) as state:

            def tick(count: int) -> None:
                state["exported"] = count
                if progress is not None:
                    progress(count)

            count = export(self.store, out, fmt, filters, progress=tick, transform=transform, unreadable=unreadable)
        self.audit.record(
            "export", target=target, format=fmt, count=count, redacted=redact, filters=_filters_json(filters)
        )
        return count

    def interactions(
        self, filters: InteractionFilter | None = None, unreadable: list[str] | None = None
    ) -> list[Interaction]:
        """The interactions matching ``filters``, for building a training dataset: an export by
        another name, so admins only, and audited as one. Stored records that no longer validate
        are left out, their ids appended to ``unreadable``. Raises Forbidden, FeedbackError."""
        from feedback.stores.paging import iter_interactions

        authorize(self.identity, Action.EXPORT)
        records = list(iter_interactions(self.store, filters, unreadable=unreadable))
        self.audit.record("dataset", count=len(records), filters=_filters_json(filters))
        return records

    def interactions_from_file(self, path: Path, filters: InteractionFilter | None = None) -> list[Interaction]:
        """The interactions of a JSONL or Parquet export that match ``filters``, with the same
        checks as an import (a CSV export, another file or a bad record is refused whole) and the
        same filter semantics as the store: the file is loaded into a scratch SQLite store, which
        is removed afterwards. Raises InvalidExportFile, FeedbackError, OSError."""
        import tempfile

        from feedback.importing import import_records
        from feedback.stores.paging import iter_interactions
        from feedback.stores.sqlite import SQLiteFeedbackStore

        with tempfile.TemporaryDirectory(prefix="ragbot-dataset-") as tmp:
            scratch = SQLiteFeedbackStore(Path(tmp) / "records.db", journal_mode="delete")
            try:
                import_records(scratch, path)
                return list(iter_interactions(scratch, filters))
            finally:
                scratch.close()

    def redactor(self):
        """The redactor with this installation's pseudonym key (made once, kept 0600 in RAGBOT_HOME)."""
        import os
        import secrets

        from feedback.redact import Redactor

        path = self.backends.settings.home_dir / "redact-key"
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                key = path.read_bytes()
            else:
                key = secrets.token_bytes(32)
                with os.fdopen(fd, "wb") as f:
                    f.write(key)
        return Redactor(key, self.backends.settings.phone_region)

    def import_file(self, path: Path, progress=None) -> int:
        """Load a JSONL or Parquet export; returns the count. Audited when it starts, ends, fails or
        is interrupted (with how many records were written). Raises Forbidden (admins only),
        InvalidExportFile (nothing written), FeedbackError, OSError."""
        from feedback.importing import import_records

        authorize(self.identity, Action.IMPORT)
        # A started event first: an import killed mid-way (some records written) leaves a trace.
        with self.audit.bulk("import", target=str(path)) as state:
            state["imported"] = 0
            count = import_records(_Counting(self.store, state, "imported"), path, progress=progress)
        self.audit.record("import", target=str(path), count=count)
        return count

    def pending(self) -> int:
        """Feedback writes waiting in the local outbox for the store to come back."""
        return self.store.pending()

    def flush(self) -> tuple[int, int]:
        """Replay the outbox; returns (replayed, still waiting). Raises Forbidden (admins only)."""
        authorize(self.identity, Action.MANAGE_STORE)
        replayed, remaining = self.store.flush()
        self.audit.record("flush", replayed=replayed, remaining=remaining)
        return replayed, remaining

    def init_table(self) -> str:
        """Create the DynamoDB feedback table; returns what was done. Raises Forbidden (admins only),
        ConfigError when the store is not DynamoDB."""
        authorize(self.identity, Action.MANAGE_STORE)
        if self.backends.settings.feedback_store != "dynamodb":
            raise ConfigError("init-table is for the DynamoDB store: set RAGBOT_FEEDBACK_STORE=dynamodb")
        done = self.store.init_table()
        self.audit.record("init-table", target=self.backends.settings.dynamodb_table, result=done)
        return done


class _Counting:
    """The store, counting the records ``put`` into it in ``state[key]`` (how far an import got)."""

    def __init__(self, store, state: dict, key: str):
        self._store, self._state, self._key = store, state, key

    def put(self, interaction: Interaction) -> None:
        self._store.put(interaction)
        self._state[self._key] += 1

    def __getattr__(self, name: str):
        return getattr(self._store, name)


def _filters_json(filters: InteractionFilter | None) -> dict:
    return filters.model_dump(mode="json", exclude_none=True) if filters else {}
