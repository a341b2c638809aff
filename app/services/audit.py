"""The audit trail of the actions that change or take out data: ingest, export, import, review,
rescoring; the refusals (who was refused what, and why); the bulk actions that began and were
cut short (how far they got). Recorded by the service functions themselves, so every page and
command is covered, and by the command line for the refusals it reports."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from app.services.access import Action, Identity, authorize
from app.wiring.backends import Backends
from feedback.audit import AuditEvent, AuditPage, Outcome
from feedback.errors import FeedbackError

log = logging.getLogger(__name__)


class AuditService:
    """Writes and reads the audit log on behalf of one identity."""

    def __init__(self, backends: Backends, identity: Identity):
        self.backends = backends
        self.identity = identity

    def record(self, action: str, target: str | None = None, *, outcome: Outcome = "done", **detail: Any) -> None:
        """Append an event for an action that has just been done (or refused, begun, cut short).

        The store's outbox keeps it through an outage; if even that fails the action is not
        undone, and the failure is logged loudly."""
        record_event(
            self.backends,
            AuditEvent(
                actor=self.identity.user,
                role=self.identity.role,
                how=self.identity.how,
                action=action,
                target=target,
                detail=_jsonable(detail),
                outcome=outcome,
            ),
        )

    def refused(self, action: str, reason: str, target: str | None = None, **detail: Any) -> None:
        """Record that the identity was refused ``action`` (a role check, a bad request), and why."""
        self.record(action[:64] or "?", target=target, outcome="refused", reason=reason[:2000], **detail)

    @contextmanager
    def bulk(self, action: str, target: str | None = None, **detail: Any) -> Iterator[dict[str, Any]]:
        """Around a long action that writes or takes out data (import, export): a ``started`` event
        first, so a process killed mid-way still leaves a trace; then ``interrupted`` or ``failed``
        with how far it got when it stops early. The body fills the yielded dict with its progress
        (``done``, ``total``) and records its own ``done`` event when it succeeds."""
        progress: dict[str, Any] = {}
        self.record(action, target=target, outcome="started", **detail)
        try:
            yield progress
        except (KeyboardInterrupt, SystemExit, GeneratorExit) as e:
            self.record(action, target=target, outcome="interrupted", stopped_by=type(e).__name__, **progress, **detail)
            raise
        except Exception as e:
            reason = f"{type(e).__name__}: {e}"[:2000]
            self.record(action, target=target, outcome="failed", reason=reason, **progress, **detail)
            raise

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


def record_event(backends: Backends, event: AuditEvent) -> None:
    """Write one event; a failure is logged, never raised (the action itself stands)."""
    try:
        backends.feedback_store.record_event(event)
    except FeedbackError:
        log.error("the audit event %s could not be written", event.model_dump_json(), exc_info=True)


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    """Details as plain JSON values (paths and filters become strings and dicts)."""
    return json.loads(json.dumps(detail, default=str))
