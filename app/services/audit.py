"""The audit trail of the actions that change or take out data: ingest, export, import, review,
rescoring. Recorded by the service functions themselves, so every page and command is covered."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import IO, Any

from app.services.access import Action, Identity, authorize
from app.wiring import Backends
from feedback.audit import AuditEvent, AuditPage
from feedback.errors import FeedbackError

log = logging.getLogger(__name__)


class AuditService:
    """Writes and reads the audit log on behalf of one identity."""

    def __init__(self, backends: Backends, identity: Identity):
        self.backends = backends
        self.identity = identity

    def record(self, action: str, target: str | None = None, **detail: Any) -> None:
        """Append an event for an action that has just been done.

        The store's outbox keeps it through an outage; if even that fails the action is not
        undone, and the failure is logged loudly."""
        event = AuditEvent(
            actor=self.identity.user, role=self.identity.role, action=action, target=target, detail=_jsonable(detail)
        )
        try:
            self.backends.feedback_store.record_event(event)
        except FeedbackError:
            log.error("the audit event %s could not be written", event.model_dump_json(), exc_info=True)

    def events(self, *, limit: int = 50, cursor: str | None = None) -> AuditPage:
        """The newest events. Raises Forbidden (admins only), FeedbackError."""
        authorize(self.identity, Action.SEE_AUDIT)
        return self.backends.feedback_store.events(limit=limit, cursor=cursor)

    def export(self, out: Path | IO[bytes]) -> int:
        """Every event as JSON lines, newest first; returns the count. Raises Forbidden, FeedbackError, OSError."""
        authorize(self.identity, Action.SEE_AUDIT)
        if isinstance(out, (str, Path)):
            with open(out, "wb") as f:
                return self.export(f)
        count, cursor = 0, None
        while True:
            page = self.backends.feedback_store.events(limit=500, cursor=cursor)
            for event in page.items:
                out.write(event.model_dump_json().encode() + b"\n")
            count += len(page.items)
            if page.next_cursor is None:
                return count
            cursor = page.next_cursor


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    """Details as plain JSON values (paths and filters become strings and dicts)."""
    return json.loads(json.dumps(detail, default=str))
