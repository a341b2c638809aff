"""Feedback actions: statistics, export, import, and keeping the store healthy."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from app.services.access import Action, Forbidden, Identity, authorize
from app.wiring import Backends, ConfigError
from feedback.stores.base import InteractionFilter


class FeedbackService:
    """Feedback actions on behalf of one identity."""

    def __init__(self, backends: Backends, identity: Identity):
        self.backends = backends
        self.identity = identity

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

    def export(
        self,
        out: Path | str | IO[bytes],
        fmt: str,
        filters: InteractionFilter | None = None,
        progress=None,
        unreadable: list[str] | None = None,
    ) -> int:
        """Stream the interactions matching ``filters`` to ``out`` as csv, jsonl or parquet; returns the
        count. Stored records that no longer validate are left out, their ids appended to ``unreadable``.
        Raises Forbidden (admins only), FeedbackError, OSError."""
        from feedback.export import export

        authorize(self.identity, Action.EXPORT)
        return export(self.store, out, fmt, filters, progress=progress, unreadable=unreadable)

    def import_file(self, path: Path, progress=None) -> int:
        """Load a JSONL or Parquet export; returns the count. Raises Forbidden (admins only),
        InvalidExportFile (nothing written), FeedbackError, OSError."""
        from feedback.export import import_records

        authorize(self.identity, Action.IMPORT)
        return import_records(self.store, path, progress=progress)

    def pending(self) -> int:
        """Feedback writes waiting in the local outbox for the store to come back."""
        return self.store.pending()

    def flush(self) -> tuple[int, int]:
        """Replay the outbox; returns (replayed, still waiting). Raises Forbidden (admins only)."""
        authorize(self.identity, Action.MANAGE_STORE)
        return self.store.flush()

    def init_table(self) -> str:
        """Create the DynamoDB feedback table; returns what was done. Raises Forbidden (admins only),
        ConfigError when the store is not DynamoDB."""
        from feedback.stores.dynamodb import init_table

        authorize(self.identity, Action.MANAGE_STORE)
        if self.backends.settings.feedback_store != "dynamodb":
            raise ConfigError("init-table is for the DynamoDB store: set RAGBOT_FEEDBACK_STORE=dynamodb")
        return init_table(self.store.inner)
