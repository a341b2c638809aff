"""SME review: the queue of answers, one answer's review, bulk actions.

Every review writes the reviewer and the time, and is conditional on the review the SME opened
(``opened``: its ``reviewed_at``), so two SMEs on the same answer never overwrite each other
silently: the second gets ``Conflict`` ("… changed the review of this answer since you opened
it"). Validating the AI score stores it as the SME's score (``Review.sme_score``), which is what
``ragbot judge agreement`` compares the judge with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from app.services.access import Action, authorize
from app.services.base import AuditedService
from feedback.errors import Conflict, InvalidFeedback, NotFound
from feedback.records import MAX_CORRECTION_CHARS, Interaction, Review, ReviewStatus, now
from feedback.stores.base import GroupBy, InteractionFilter, InteractionPage, Order


class BulkResult(BaseModel):
    """What a bulk action did: ``done`` changed, ``skipped`` left alone (changed by someone meanwhile)."""

    done: int = 0
    skipped: int = 0


class ReviewService(AuditedService):
    """Review actions on behalf of one identity (SMEs and admins)."""

    @property
    def store(self):
        return self.backends.feedback_store

    def queue(
        self,
        filters: InteractionFilter | None = None,
        *,
        order: Order = "newest",
        limit: int = 20,
        cursor: str | None = None,
    ) -> InteractionPage:
        """One page of the answers to review. Raises Forbidden (SMEs and admins), ValueError, FeedbackError."""
        authorize(self.identity, Action.SEE_ALL)
        return self.store.list(filters, limit=limit, cursor=cursor, order=order)

    def count(self, filters: InteractionFilter | None = None, *, order: Order = "newest") -> int:
        """How many answers ``queue(filters, order=order)`` lists over all its pages: the judge
        and rating orders list only the answers that have a score or a rating. Raises Forbidden,
        FeedbackError."""
        authorize(self.identity, Action.SEE_ALL)
        if order in ("judge_asc", "judge_desc"):
            bands = self.store.count_groups(filters, by="judge_band")
            return sum(n for band, n in bands.items() if band not in ("unparsable", "not judged"))
        if order in ("rating_asc", "rating_desc"):
            return sum(n for rating, n in self.store.count_groups(filters, by="rating").items() if rating != "unrated")
        return sum(self.store.count_groups(filters, by="review_status").values())

    def groups(self, filters: InteractionFilter | None = None, *, by: GroupBy) -> dict[str, int]:
        """How many of the filtered answers fall in each group (document, judge_band, rating, review_status)."""
        authorize(self.identity, Action.SEE_ALL)
        return self.store.count_groups(filters, by=by)

    def open(self, interaction_id: str) -> Interaction:
        """One answer with everything attached. Raises Forbidden, NotFound."""
        authorize(self.identity, Action.SEE_ALL)
        record = self.store.get(interaction_id)
        if record is None:
            raise NotFound(f"no interaction has id {interaction_id!r}")
        return record

    def review(
        self,
        interaction_id: str,
        *,
        opened: datetime | None,
        status: ReviewStatus,
        sme_score: float | None = None,
        reference_answer: str | None = None,
    ) -> Interaction:
        """Record the SME's verdict on one answer.

        Args:
            opened: ``reviewed_at`` of the review as the SME saw it (None: it was unreviewed).
            status: validated (the answer and its score stand) or rejected.
            sme_score: the score the SME stands by, 0.0–5.0 (the AI's when they validate it);
                None when they gave none (nothing is made up for them, in the record or the audit).
            reference_answer: the answer the model should have given (kept when None).

        Raises:
            Forbidden: the identity may not review.
            Conflict: someone reviewed it since it was opened.
            InvalidFeedback: a score outside 0–5 or an oversized reference answer.
            NotFound, FeedbackError.
        """
        authorize(self.identity, Action.REVIEW)
        if sme_score is not None and not 0.0 <= sme_score <= 5.0:
            raise InvalidFeedback(f"the score must be from 0.0 to 5.0, not {sme_score!r}")
        if reference_answer is not None and len(reference_answer) > MAX_CORRECTION_CHARS:
            raise InvalidFeedback(
                f"The reference answer is {len(reference_answer)} characters long; the limit is {MAX_CORRECTION_CHARS}."
            )
        current = self.store.get(interaction_id)
        if current is None:
            raise NotFound(f"no interaction has id {interaction_id!r}")
        reference = reference_answer.strip() if reference_answer else None
        if reference_answer is None:
            reference = current.review.reference_answer
        review = Review(
            status=status,
            reviewer=self.identity.user,
            reference_answer=reference or None,
            reviewed_at=now(),
            sme_score=sme_score,
        )
        updated = self.store.set_review(interaction_id, review, expected_reviewed_at=opened)
        self.backends.verified_changed()  # a reference answer validated here is served from now on
        score = {} if sme_score is None else {"sme_score": sme_score}
        self.audit.record("review", target=interaction_id, status=status, **score)
        return updated

    def validate_ai(
        self, interaction_id: str, *, opened: datetime | None, reference_answer: str | None = None
    ) -> Interaction:
        """Validate the AI score as it stands (it becomes the SME's score)."""
        record = self.open(interaction_id)
        score = record.judge.score if record.judge else None
        if score is None:
            raise InvalidFeedback("this answer has no AI score to validate: give your own score instead")
        return self.review(
            interaction_id, opened=opened, status="validated", sme_score=score, reference_answer=reference_answer
        )

    def validate_high_scores(self, filters: InteractionFilter | None = None, *, min_score: float = 4.0) -> BulkResult:
        """Validate the AI score of every unreviewed answer in ``filters`` scored ``min_score`` or more.

        Answers someone reviewed meanwhile are skipped (conditional writes), never overwritten."""
        authorize(self.identity, Action.REVIEW)
        base = (filters or InteractionFilter()).model_copy(
            update={
                "review_status": "unreviewed",
                "min_judge_score": max(min_score, (filters or InteractionFilter()).min_judge_score or 0.0),
            }
        )
        return self._validate_each(
            base,
            lambda record: None
            if record.judge is None or record.judge.score is None
            else Review(
                status="validated",
                reviewer=self.identity.user,
                reviewed_at=now(),
                sme_score=record.judge.score,
                reference_answer=record.review.reference_answer,
            ),
            "validate AI scores",
            min_score=min_score,
        )

    def validate_pairs(self, filters: InteractionFilter | None = None) -> BulkResult:
        """Validate every unreviewed synthetic pair in ``filters`` as it stands: its question, its
        answer (kept as the reference answer) and its evidence. For an SME who has read the
        filtered list; pairs someone reviewed meanwhile are skipped, never overwritten."""
        authorize(self.identity, Action.REVIEW)
        base = (filters or InteractionFilter()).model_copy(
            update={"review_status": "unreviewed", "origin": "synthetic"}
        )
        return self._validate_each(
            base,
            lambda record: Review(
                status="validated",
                reviewer=self.identity.user,
                reviewed_at=now(),
                reference_answer=record.review.reference_answer or record.answer,
            ),
            "validate synthetic pairs",
        )

    def _validate_each(
        self, base: InteractionFilter, review_for: Callable[[Interaction], Review | None], target: str, **detail
    ) -> BulkResult:
        """Write ``review_for(record)`` on every record of ``base`` (None: skip it), each only if
        nobody reviewed it meanwhile; the bulk action goes to the audit log."""
        ids, cursor = [], None
        while True:  # collect first: every write takes the record out of the unreviewed listing
            page = self.store.list(base, limit=200, cursor=cursor)
            ids += [i.id for i in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        result = BulkResult()
        for interaction_id in ids:
            record = self.store.get(interaction_id)
            review = review_for(record) if record is not None else None
            if review is None:
                result.skipped += 1
                continue
            try:
                self.store.set_review(interaction_id, review, expected_reviewed_at=None)
                result.done += 1
                self.backends.verified_changed()
            except Conflict:
                result.skipped += 1
        self.audit.record(
            "review-bulk",
            target=target,
            **detail,
            validated=result.done,
            skipped=result.skipped,
            filters=base.model_dump(mode="json", exclude_none=True),
        )
        return result
