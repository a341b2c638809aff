"""Verified answers: find the one a question asks for, record it served, list, retire, dispute.

An SME makes a verified answer by validating a reference answer on the Review page (or a user's
better answer, which the reference is pre-filled with). ``find`` is asked before the model; a
served verified answer is recorded like any answer (``Interaction.verified`` names it) and rated
like any answer, and ``RAGBOT_VERIFIED_DISPUTES`` ratings of 1–2 send it back to the queue.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from app.services.access import Action, authorize
from app.services.base import AuditedService
from app.services.records import citation_records, interaction_for
from app.verified_source import validated
from feedback.errors import Conflict, FeedbackError, InvalidFeedback, NotFound
from feedback.records import Interaction, ServedVerified, now
from rag.errors import RagError
from rag.records import SearchFilters
from rag.verified import VerifiedMatch

log = logging.getLogger(__name__)

MODEL_ID = "verified-answer"
"""The ``model_id`` of an interaction answered with a verified answer: no model wrote it."""

Status = Literal["served", "stale", "retired", "disputed"]


class VerifiedStatus(BaseModel):
    """One verified answer as the Review page lists it."""

    id: str
    question: str
    answer: str
    reviewer: str | None
    reviewed_at: datetime | None
    status: Status
    disputes: int
    missing: list[str] = []


class VerifiedService(AuditedService):
    """Verified answers on behalf of one identity."""

    @property
    def enabled(self) -> bool:
        return self.backends.settings.verified_answers

    def find(self, question: str, filters: SearchFilters | None = None) -> VerifiedMatch | None:
        """The verified answer ``question`` asks for (decided on the question alone), or None.

        Never raises for a store or model problem: the model's answer is the fallback, so a
        failure is logged and no verified answer is served."""
        authorize(self.identity, Action.ASK)
        if not self.enabled or not question.strip():
            return None
        try:
            return self.backends.verified.match(question, filters)
        except (FeedbackError, RagError, OSError, ValueError):
            log.warning("verified answers could not be searched; the model answers", exc_info=True)
            return None

    def record_served(self, match: VerifiedMatch, question: str, *, session_id: str, turn: int) -> Interaction:
        """Store a question answered with a verified answer, as an interaction of its own."""
        authorize(self.identity, Action.ASK)
        entry = match.entry
        interaction = interaction_for(
            self.identity,
            session_id=session_id,
            turn=turn,
            question=question,
            answer=entry.answer,
            citations=citation_records(entry.citations),
            model_id=MODEL_ID,
            prompt_version=MODEL_ID,
            verified=served(match),
        )
        self.backends.feedback_store.put(interaction)
        return interaction

    def after_rating(self, rated: Interaction) -> None:
        """Count a rating of a served verified answer against it (1–2) or take it back (3–5).

        The verified answer's record keeps the ids of the disputing records; at
        ``RAGBOT_VERIFIED_DISPUTES`` its review goes back to "unreviewed", so it leaves the
        verified answers and enters the review queue. Concurrent disputes are re-read and retried.
        """
        if rated.verified is None or rated.feedback is None:
            return
        store = self.backends.feedback_store
        for _ in range(3):
            source = store.get(rated.verified.id)
            if source is None or source.review.status != "validated":
                return
            review = source.review
            disputes = [d for d in review.disputes if d != rated.id]
            if rated.feedback.negative:
                disputes.append(rated.id)
            if disputes == review.disputes:
                return
            update: dict = {"disputes": disputes}
            back = len(disputes) >= self.backends.settings.verified_disputes
            if back:
                update |= {"status": "unreviewed", "reviewed_at": now()}
            try:
                store.set_review(source.id, review.model_copy(update=update), expected_reviewed_at=review.reviewed_at)
            except Conflict:
                continue
            if back:
                self.backends.verified_changed()
                self.audit.record(
                    "verified-disputed", target=source.id, disputes=len(disputes), last=rated.id, by=rated.user
                )
            return
        log.warning("the dispute of %s against %s was not counted: the record kept changing", rated.id, source.id)

    def listing(self, limit: int = 500) -> list[VerifiedStatus]:
        """Every validated answer with a reference answer, with what serving it depends on.

        ``served``: served to questions that ask the same thing; ``stale``: a passage it rests
        on changed or left the index (``missing`` names them); ``retired`` by an SME; a record
        sent back by disputes is unreviewed and no longer listed here (it is in the queue)."""
        authorize(self.identity, Action.SEE_ALL)
        stale = self.backends.verified.stale()
        rows = []
        for record in validated(self.backends.feedback_store):
            review = record.review
            if not review.reference_answer or record.verified is not None:
                continue
            status: Status = "retired" if review.retired else "stale" if record.id in stale else "served"
            rows.append(
                VerifiedStatus(
                    id=record.id,
                    question=record.question,
                    answer=review.reference_answer,
                    reviewer=review.reviewer,
                    reviewed_at=review.reviewed_at,
                    status=status,
                    disputes=len(review.disputes),
                    missing=stale.get(record.id, []),
                )
            )
            if len(rows) >= limit:
                break
        return rows

    def retire(self, interaction_id: str, *, retired: bool = True) -> Interaction:
        """Stop serving a verified answer (or serve it again). Raises Forbidden, NotFound, InvalidFeedback."""
        authorize(self.identity, Action.REVIEW)
        store = self.backends.feedback_store
        record = store.get(interaction_id)
        if record is None:
            raise NotFound(f"no interaction has id {interaction_id!r}")
        if record.review.status != "validated" or not record.review.reference_answer:
            raise InvalidFeedback("only a validated answer with a reference answer is a verified answer")
        review = record.review.model_copy(update={"retired": retired})
        updated = store.set_review(interaction_id, review, expected_reviewed_at=record.review.reviewed_at)
        self.backends.verified_changed()
        self.audit.record("verified-retire" if retired else "verified-reinstate", target=interaction_id)
        return updated


def served(match: VerifiedMatch) -> ServedVerified:
    entry = match.entry
    return ServedVerified(
        id=entry.id,
        question=entry.question,
        reviewer=entry.reviewer,
        reviewed_at=entry.reviewed_at,
        similarity=max(-1.0, min(1.0, match.similarity)),
    )
