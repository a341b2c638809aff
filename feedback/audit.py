"""The audit log: who ingested, exported, imported, reviewed or rescored, and when; who was
refused what, and which bulk actions began and did not finish.

Events are appended and never changed or deleted by ragbot; they live in the feedback store
beside the interactions (``FeedbackStore.record_event`` / ``events``), are shown on the Admin
page and can be exported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from feedback.records import new_id, now


Outcome = Literal["done", "refused", "started", "interrupted", "failed"]


class AuditEvent(BaseModel):
    """One thing someone did. ``detail`` holds what is needed to understand it later (paths,
    filters, counts), never document text or answers."""

    id: str = Field(default_factory=new_id, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    at: datetime = Field(default_factory=now)
    actor: str = Field(min_length=1, max_length=320)
    role: str
    action: str = Field(min_length=1, max_length=64)
    target: str | None = Field(
        default=None, max_length=2000, description="What it acted on: a folder, a file, a record id."
    )
    detail: dict[str, Any] = Field(default_factory=dict)
    outcome: Outcome = Field(
        default="done",
        description="done; refused (``detail.reason`` says why); started (a bulk action begun: without a "
        "later event for it, the process died mid-way); interrupted or failed (``detail`` says how far it got).",
    )
    how: str | None = Field(
        default=None, max_length=64, description="How the actor was identified (settings, oidc, proxy, os-account)."
    )


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: str | None = None
