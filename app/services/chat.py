"""Chat actions: ask, record the answer, rate it, reopen earlier conversations."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from app.services.access import Action, Identity, authorize
from app.wiring import Backends
from feedback.errors import InvalidFeedback, NotFound, StoreUnavailable
from feedback.records import (
    LIKERT_LABELS,
    MAX_CORRECTION_CHARS,
    MAX_NOTE_CHARS,
    CitationRecord,
    Feedback,
    GroundingRecord,
    Interaction,
    SentenceRecord,
    SupportRecord,
)
from feedback.stores.base import InteractionFilter, SessionSummary
from rag.models import Answer, SearchFilters, Turn
from rag.pipeline import StreamEvent
from rag.prompts import format_passages


KEEP = object()
"""Pass as ``correction`` or ``note`` to ``ChatService.rate`` to keep what is stored."""


class ChatService:
    """Chat actions on behalf of one identity; they only ever touch that identity's records."""

    def __init__(self, backends: Backends, identity: Identity):
        self.backends = backends
        self.identity = identity

    def ask(self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None) -> Answer:
        """A cited answer. Raises InvalidQuery, GeneratorError, StoreError."""
        authorize(self.identity, Action.ASK)
        return self.backends.pipeline.ask(question, history, filters)

    def ask_stream(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Iterator[StreamEvent]:
        """A cited answer as events: citations, tokens, then the Answer."""
        authorize(self.identity, Action.ASK)
        return self.backends.pipeline.stream(question, history, filters)

    def record_answer(self, answer: Answer, *, session_id: str, turn: int) -> Interaction:
        """Store an answered question as an interaction (rated or not) and return it."""
        authorize(self.identity, Action.ASK)
        interaction = Interaction(
            session_id=session_id,
            user=self.identity.user,
            role=self.identity.role,
            turn=turn,
            question=answer.question,
            answer=answer.answer,
            found=answer.found,
            citations=[
                CitationRecord(n=c.n, source=c.source, page=c.page, chunk_id=c.chunk_id, score=c.score, text=c.text)
                for c in answer.citations
            ],
            context=answer.context or format_passages(answer.citations),
            model_id=answer.model_id,
            prompt_version=answer.prompt_version,
            latency_ms=answer.latency_ms,
            grounding=_grounding_record(answer),
        )
        self.backends.feedback_store.put(interaction)
        return interaction

    def rate(self, interaction_id: str, rating: int, correction=KEEP, note=KEEP) -> Interaction:
        """Rate one's own answer 1–5 (Likert), optionally with a better answer and a note.

        One call stores the rating at once (a face click). Rating again updates the same record;
        a better answer or note not passed (``KEEP``) stays as it was, ``None`` or blank removes it.
        Raises:
            InvalidFeedback: rating outside 1–5, correction or note too long.
            NotFound: no such interaction, or it is another user's.
        """
        authorize(self.identity, Action.RATE)
        if not isinstance(rating, int) or isinstance(rating, bool) or rating not in LIKERT_LABELS:
            raise InvalidFeedback(f"rating must be a whole number from 1 to 5, not {rating!r}")
        if correction is not KEEP and correction and len(correction) > MAX_CORRECTION_CHARS:
            raise InvalidFeedback(
                f"The better answer is {len(correction)} characters long; the limit is {MAX_CORRECTION_CHARS}."
            )
        if note is not KEEP and note and len(note) > MAX_NOTE_CHARS:
            raise InvalidFeedback(f"The note is {len(note)} characters long; the limit is {MAX_NOTE_CHARS}.")
        store = self.backends.feedback_store
        try:
            existing = store.get(interaction_id)
        except StoreUnavailable:
            # The store is down: check ownership against this process's own copy, so the
            # rating is queued in the outbox instead of lost.
            existing = store.get_local(interaction_id)
        if existing is None or existing.user != self.identity.user:
            raise NotFound(f"no answer with id {interaction_id} for {self.identity.user}")
        before = existing.feedback
        if correction is KEEP:
            correction = before.correction if before else None
        if note is KEEP:
            note = before.note if before else None
        if correction and correction.strip() == existing.answer.strip():
            correction = None  # the pre-filled answer saved unchanged is not a correction
        return store.set_feedback(interaction_id, Feedback(rating=rating, correction=correction, note=note))

    def model_label(self, model_id: str) -> str:
        """How the answer's author is named to the user, with what to expect of it."""
        from pathlib import Path

        backend = self.backends.settings.generator
        if backend == "local":
            name = Path(model_id).name or model_id
            small = "135M" in name or "360M" in name
            return f"{name} (local{', small' if small else ''})"
        return f"{model_id} ({backend})"

    def last_write_queued(self) -> bool:
        """Whether this thread's last feedback write waits in the local outbox (store unreachable)."""
        return self.backends.feedback_store.last_write_queued

    def conversations(self, limit: int = 20) -> list[SessionSummary]:
        """The identity's own conversations, newest first."""
        authorize(self.identity, Action.SEE_OWN)
        return self.backends.feedback_store.sessions(self.identity.user, limit=limit)

    def conversation(self, session_id: str) -> list[Interaction]:
        """The identity's own turns of one conversation, in order."""
        authorize(self.identity, Action.SEE_OWN)
        page = self.backends.feedback_store.list(
            InteractionFilter(user=self.identity.user, session_id=session_id), limit=200
        )
        return sorted(page.items, key=lambda i: i.turn)


def _grounding_record(answer: Answer) -> GroundingRecord | None:
    g = answer.grounding
    if g is None:
        return None
    return GroundingRecord(
        unsupported=g.unsupported,
        sentences=[SentenceRecord(text=s.text, citation=s.citation) for s in g.sentences],
        supporting=[SupportRecord(n=n, text=text) for n, text in sorted(g.supporting.items())],
        repeated=g.repeated,
    )
