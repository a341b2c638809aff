"""The feedback store protocol.

Every store keeps whole ``Interaction`` records keyed by their client-generated id. Writes are
idempotent upserts, so a retried write never duplicates. Listing is newest first, filtered and
paginated with an opaque cursor, which maps onto SQLite (keyset pagination) and DynamoDB
(query on a GSI with ``ExclusiveStartKey``) alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import BaseModel

from feedback.audit import AuditEvent, AuditPage
from feedback.records import Feedback, Interaction, JudgeScore, Review, ReviewStatus


def keep_attachments(stored: Interaction, incoming: Interaction) -> Interaction:
    """``incoming``, keeping each attachment of ``stored`` that is newer or that it lacks.

    A write of the original answer can be retried or replayed after the user has rated it, and
    an old export can be imported after ratings and reviews changed; neither may roll a newer
    feedback, judge score or review back.
    """
    update = {}
    if stored.feedback is not None and (incoming.feedback is None or stored.feedback.updated_at > incoming.feedback.updated_at):
        update["feedback"] = stored.feedback
    if stored.judge is not None and (incoming.judge is None or stored.judge.scored_at > incoming.judge.scored_at):
        update["judge"] = stored.judge
    if stored.review != Review() and (incoming.review == Review() or _reviewed_at(stored.review) > _reviewed_at(incoming.review)):
        update["review"] = stored.review
    return incoming.model_copy(update=update) if update else incoming


def _reviewed_at(review: Review) -> datetime:
    return review.reviewed_at or datetime.min.replace(tzinfo=UTC)


class InteractionFilter(BaseModel):
    """All set fields must match.

    ``since`` is inclusive and ``until`` exclusive (UTC); ``source_prefix`` matches a cited
    document or a folder and everything below it, case-sensitively. ``judged`` is whether the AI
    judge has been asked (a reply without a usable score counts: it is kept raw, so it is judged).
    """

    user: str | None = None
    session_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_rating: int | None = None
    max_rating: int | None = None
    rated: bool | None = None
    has_correction: bool | None = None
    review_status: ReviewStatus | None = None
    source_prefix: str | None = None
    judged: bool | None = None


class InteractionPage(BaseModel):
    """One page of a listing. ``unreadable``: ids of stored records on this page that no longer
    validate; they are left out of ``items`` (see ``feedback.records.load_stored``)."""

    items: list[Interaction]
    next_cursor: str | None = None
    unreadable: list[str] = []


class SessionSummary(BaseModel):
    session_id: str
    started_at: datetime
    first_question: str
    turns: int


AttachmentField = Literal["feedback", "judge", "review"]


class AttachmentSetters:
    """``set_feedback``, ``set_judge`` and ``set_review`` written once for every store.

    A store inherits them and implements ``_attach(interaction_id, field, value)``: replace that
    one attachment of the stored record, set its ``updated_at`` to now, and return the record.
    """

    def _attach(
        self, interaction_id: str, field: AttachmentField, value: Feedback | JudgeScore | Review
    ) -> Interaction:
        raise NotImplementedError

    def set_feedback(self, interaction_id: str, feedback: Feedback) -> Interaction:
        """Attach the user's feedback, replacing any earlier rating; returns the updated record.

        Raises:
            NotFound: no interaction has that id.
            StoreUnavailable: the store cannot be reached or written.
        """
        return self._attach(interaction_id, "feedback", feedback)

    def set_judge(self, interaction_id: str, judge: JudgeScore) -> Interaction:
        """Attach or replace the AI judge's score; returns the updated record.

        Raises:
            NotFound: no interaction has that id.
            StoreUnavailable: the store cannot be reached or written.
        """
        return self._attach(interaction_id, "judge", judge)

    def set_review(self, interaction_id: str, review: Review) -> Interaction:
        """Attach or replace the SME review; returns the updated record.

        Raises:
            NotFound: no interaction has that id.
            StoreUnavailable: the store cannot be reached or written.
        """
        return self._attach(interaction_id, "review", review)


class FeedbackStore(Protocol):
    """Where interactions and their feedback live."""

    def put(self, interaction: Interaction) -> None:
        """Insert or replace the interaction with this id (idempotent).

        Feedback, judge score and review already stored are kept where the incoming record has
        none (see ``keep_attachments``). Raises StoreUnavailable.
        """
        ...

    def get(self, interaction_id: str) -> Interaction | None:
        """The interaction, or None when no record has that id."""
        ...

    def set_feedback(self, interaction_id: str, feedback: Feedback) -> Interaction:
        """Attach or replace the feedback of an interaction. Raises NotFound."""
        ...

    def set_judge(self, interaction_id: str, judge: JudgeScore) -> Interaction:
        """Attach or replace the AI judge's score. Raises NotFound."""
        ...

    def set_review(self, interaction_id: str, review: Review) -> Interaction:
        """Attach or replace the SME review. Raises NotFound."""
        ...

    def list(self, filters: InteractionFilter | None = None, *, limit: int = 50, cursor: str | None = None) -> InteractionPage:
        """Matching interactions, newest first; pass ``next_cursor`` back for the next page."""
        ...

    def sessions(self, user: str, *, limit: int = 20) -> list[SessionSummary]:
        """The user's conversations, most recent first."""
        ...

    def record_event(self, event: AuditEvent) -> None:
        """Append an audit event (idempotent by ``event.id``). Raises StoreUnavailable."""
        ...

    def events(self, *, limit: int = 50, cursor: str | None = None) -> AuditPage:
        """Audit events, newest first; pass ``next_cursor`` back for the next page."""
        ...
