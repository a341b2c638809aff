"""The feedback store protocol.

Every store keeps whole ``Interaction`` records keyed by their client-generated id. Writes are
idempotent upserts, so a retried write never duplicates. Listing is newest first, filtered and
paginated with an opaque cursor, which maps onto SQLite (keyset pagination) and DynamoDB
(query on a GSI with ``ExclusiveStartKey``) alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from feedback.audit import AuditEvent, AuditPage
from feedback.errors import Conflict
from feedback.records import Feedback, Interaction, JudgeScore, Origin, Review, ReviewStatus


def keep_attachments(stored: Interaction, incoming: Interaction) -> Interaction:
    """``incoming``, keeping each attachment of ``stored`` that is newer or that it lacks.

    A write of the original answer can be retried or replayed after the user has rated it, and
    an old export can be imported after ratings and reviews changed; neither may roll a newer
    feedback, judge score or review back.
    """
    update = {}
    if stored.feedback is not None and (
        incoming.feedback is None or stored.feedback.updated_at > incoming.feedback.updated_at
    ):
        update["feedback"] = stored.feedback
    if stored.judge is not None and (incoming.judge is None or stored.judge.scored_at > incoming.judge.scored_at):
        update["judge"] = stored.judge
    if stored.review != Review() and (
        incoming.review == Review() or _reviewed_at(stored.review) > _reviewed_at(incoming.review)
    ):
        update["review"] = stored.review
    return incoming.model_copy(update=update) if update else incoming


def _reviewed_at(review: Review) -> datetime:
    return review.reviewed_at or datetime.min.replace(tzinfo=UTC)


class InteractionFilter(BaseModel):
    """All set fields must match.

    ``since`` is inclusive and ``until`` exclusive (UTC); ``source_prefix`` matches a cited
    document or a folder and everything below it, case-sensitively. ``judged`` is whether the AI
    judge has been asked (a reply without a usable score counts: it is kept raw, so it is judged);
    ``min_judge_score``/``max_judge_score`` bound the judge's score (inclusive; records without a
    score never match them); ``judge_unparsable`` selects judged records whose reply had no usable
    score (True) or excludes them (False). ``origin`` selects users' questions ("user") or
    generated question–answer pairs ("synthetic", see ``ragbot synth``); None: both.
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
    min_judge_score: float | None = Field(default=None, ge=0.0, le=5.0)
    max_judge_score: float | None = Field(default=None, ge=0.0, le=5.0)
    judge_unparsable: bool | None = None
    origin: Origin | None = None


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

Order = Literal["newest", "oldest", "judge_asc", "judge_desc", "rating_asc", "rating_desc"]
"""How a listing is sorted. Every order breaks ties newest first (by created_at, then id). The
judge and rating orders list only the records that have a judge score or a rating."""
ORDERS: tuple[Order, ...] = ("newest", "oldest", "judge_asc", "judge_desc", "rating_asc", "rating_desc")

GroupBy = Literal["document", "judge_band", "rating", "review_status"]
JUDGE_BANDS: tuple[str, ...] = ("0–1", "1–2", "2–3", "3–4", "4–5", "unparsable", "not judged")
"""``count_groups(by="judge_band")`` groups: [0, 1), [1, 2), [2, 3), [3, 4), [4, 5] (each with its
lower edge, the last also 5.0), judged without a usable score, and never judged."""


def judge_band(judge: JudgeScore | None) -> str:
    if judge is None:
        return "not judged"
    if judge.score is None:
        return "unparsable"
    return JUDGE_BANDS[min(int(judge.score), 4)]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class AttachmentSetters:
    """``set_feedback``, ``set_judge`` and ``set_review`` written once for every store.

    A store inherits them and implements ``_attach(interaction_id, field, value)``: replace that
    one attachment of the stored record, set its ``updated_at`` to now, and return the record.
    """

    def _attach(
        self,
        interaction_id: str,
        field: AttachmentField,
        value: Feedback | JudgeScore | Review,
        check: Callable[[Interaction], None] | None = None,
    ) -> Interaction:
        """``check`` (when given) is called with the stored record inside the same read-modify-write,
        before anything is written, and may raise to refuse the write."""
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

    def set_review(self, interaction_id: str, review: Review, *, expected_reviewed_at: Any = UNSET) -> Interaction:
        """Attach or replace the SME review; returns the updated record.

        ``expected_reviewed_at`` makes the write conditional: the ``reviewed_at`` of the review the
        reviewer opened (None for an unreviewed record). When someone else reviewed it since, the
        write is refused, so concurrent reviewers never overwrite each other silently.

        Raises:
            NotFound: no interaction has that id.
            Conflict: the stored review is not the one the reviewer opened.
            StoreUnavailable: the store cannot be reached or written.
        """
        check = None
        if expected_reviewed_at is not UNSET:

            def check(stored: Interaction) -> None:
                if stored.review.reviewed_at != expected_reviewed_at:
                    who = stored.review.reviewer or "someone"
                    raise Conflict(
                        f"{who} changed the review of this answer since you opened it "
                        f"({stored.review.status}); reload it to see their change"
                    )

        return self._attach(interaction_id, "review", review, check)


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

    def list(
        self,
        filters: InteractionFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = "newest",
    ) -> InteractionPage:
        """Matching interactions in ``order`` (see ``Order``); pass ``next_cursor`` back, with the
        same filters and order, for the next page. Raises ValueError for a bad limit, cursor or order."""
        ...

    def count_groups(self, filters: InteractionFilter | None = None, *, by: GroupBy) -> dict[str, int]:
        """How many matching interactions fall in each group, for grouping a review queue:
        ``document`` (each cited document; an answer citing two counts in both), ``judge_band``
        (``JUDGE_BANDS``), ``rating`` ("1"–"5", "unrated") or ``review_status``. Groups with no
        interaction are left out. Raises StoreUnavailable."""
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
