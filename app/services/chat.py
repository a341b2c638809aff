"""Chat actions: answer a question and record it as a turn, rate it, reopen earlier conversations."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Generator, Iterator, Sequence
from functools import cached_property
from itertools import chain

from pydantic import ValidationError

from app.config import Settings
from app.services.access import Action, Identity, authorize
from app.services.audit import AuditService
from app.services.records import citation_records, interaction_for
from app.services.suggestions import question_from_headings
from app.services.verified import MODEL_ID as VERIFIED_MODEL_ID
from app.services.verified import VerifiedService
from app.wiring.backends import Backends
from feedback.errors import FeedbackError, InvalidFeedback, NotFound, StoreUnavailable
from feedback.records import (
    MAX_CORRECTION_CHARS,
    MAX_NOTE_CHARS,
    Feedback,
    GroundingRecord,
    InjectionRecord,
    Interaction,
    SentenceRecord,
    SupportRecord,
    describe,
)
from feedback.stores.base import InteractionFilter, SessionSummary
from rag.errors import RagError
from rag.generators.base import GenerationParams
from rag.records import Answer, Citation, FlaggedPassage, SearchFilters, Turn
from rag.pipeline import StreamEvent
from rag.prompts import PROMPT_VERSION, format_passages

log = logging.getLogger(__name__)

KEEP = object()
"""Pass as ``correction`` or ``note`` to ``ChatService.rate`` to keep what is stored."""


class AnswerRun:
    """One question being answered as a turn of a conversation (``ChatService.answer``).

    ``served`` is the verified answer recorded for it, when one was served: nothing streams then.
    Otherwise iterating gives the pipeline's events (status, citations, tokens, the answer) and
    records the answer as it arrives (``recorded``). ``close()`` ends the run, however it ended.
    """

    def __init__(
        self, chat: ChatService, first: StreamEvent, events: Generator[StreamEvent], *, session_id: str, turn: int
    ):
        self.question = first.question or ""
        self.session_id, self.turn = session_id, turn
        self.served: Interaction | None = None
        self.recorded: Interaction | None = None
        self.answer: Answer | None = None
        self.citations: list[Citation] = []
        self.injection: list[FlaggedPassage] = []
        """The flagged passages the model reads, known as it starts writing: a stopped turn warns too."""
        self.written: list[str] = []
        self.notice: str | None = None
        """Why a verified answer was found but not served (the model answers instead)."""
        self._chat, self._first, self._events, self._iterating = chat, first, events, None
        self.model_id: str | None = None
        """The model of the conversation's A/B arm, named on a turn cut short."""
        self._failed = False
        self._started = time.perf_counter()

    def __iter__(self) -> Iterator[StreamEvent]:
        self._iterating = self._stream()
        return self._iterating

    def _stream(self) -> Iterator[StreamEvent]:
        if self.served is not None:
            return
        try:
            for event in chain([self._first], self._events):
                if event.kind == "citations":
                    self.citations = event.citations
                elif event.kind == "status" and event.injection:
                    self.injection = event.injection
                elif event.kind == "token":
                    self.written.append(event.token)
                elif event.kind == "answer":
                    self.answer = event.answer
                    self.recorded = self._chat.record_answer(event.answer, session_id=self.session_id, turn=self.turn)
                yield event
        except (RagError, FeedbackError):
            self._failed = True  # reported by the caller; there is no stopped answer to keep
            raise

    def close(self) -> Interaction | None:
        """End the run and return the turn it recorded: the served verified answer, the whole
        answer, or, for a run cut short (Stop, another question, any click), what had been written,
        marked stopped. The model stops writing at once. None when the answer failed (the error
        was raised while iterating). Raises FeedbackError when the stopped turn cannot be stored."""
        if self._iterating is not None:
            self._iterating.close()
        self._events.close()  # ends the model's generation when the run was cut short
        if self.served is not None:
            return self.served
        if self.recorded is None and not self._failed:
            self.recorded = self._chat.record_stopped(
                self.question,
                "".join(self.written),
                self.citations,
                session_id=self.session_id,
                turn=self.turn,
                latency_ms=int((time.perf_counter() - self._started) * 1000),
                model_id=self.model_id,
                injection=self.injection,
            )
        return self.recorded


class ChatService:
    """Chat actions on behalf of one identity; they only ever touch that identity's records."""

    def __init__(self, backends: Backends, identity: Identity):
        self.backends = backends
        self.identity = identity

    @cached_property
    def _verified(self) -> VerifiedService:
        return VerifiedService(self.backends, self.identity, AuditService(self.backends, self.identity))

    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        session_id: str,
        turn: int,
        filters: SearchFilters | None = None,
        verified: bool = True,
        regenerate: bool = False,
    ) -> AnswerRun:
        """Answer ``question`` as turn ``turn`` of conversation ``session_id`` and record it: the
        SME-verified answer it asks for (when ``verified`` and one is found; nothing is searched
        then), else the model's answer, streamed by iterating the run and recorded as it ends.
        ``regenerate`` samples (``regenerate_params``) where a first answer decodes greedily.

        The pipeline checks the question, once, before anything else: a bad one raises here.
        Raises:
            InvalidQuery: the question is empty, too long or holds control characters.
            GeneratorError, StoreError (while iterating): the answer could not be written.
            FeedbackError (while iterating): the answer could not be recorded.
        """
        authorize(self.identity, Action.ASK)
        route = self.backends.ab.route(session_id, lambda: self._answered_by(session_id))
        pipeline = route.pipeline
        params = regenerate_params(pipeline.params, self.backends.settings, session_id, turn) if regenerate else None
        events = pipeline.stream(question, history, filters, params=params)
        first = next(events)  # the question checked and stripped; nothing searched yet
        checked = first.question
        run = AnswerRun(self, first, events, session_id=session_id, turn=turn)
        run.model_id = route.candidate  # the served arm: the model its stream took, read at close
        match = self._verified.find(checked, filters) if verified else None
        if match is not None:
            try:
                run.served = self._verified.record_served(match, checked, session_id=session_id, turn=turn)
            except FeedbackError as e:
                run.notice = f"The verified answer could not be recorded, so the model answers: {e}"
            else:
                events.close()
        return run

    def ask(self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None) -> Answer:
        """A cited answer. Raises InvalidQuery, GeneratorError, StoreError."""
        authorize(self.identity, Action.ASK)
        return self.backends.pipeline.ask(question, history, filters)

    def suggested_questions(self, limit: int = 4) -> list[str]:
        """Questions to start an empty chat with, written from the indexed documents' titles and
        section headings (the largest documents first, one question each); no model is asked.
        Empty when the store cannot list its passages or holds nothing."""
        authorize(self.identity, Action.ASK)
        store = self.backends.store
        if not getattr(store, "supports_listing", False):
            return []
        documents = sorted(store.documents().values(), key=lambda d: (-d.chunks, d.source))
        out: list[str] = []
        for doc in documents[: limit * 3]:
            question = question_from_headings(doc.source, store.chunks(SearchFilters(source=doc.source)))
            if question and question not in out:
                out.append(question)
            if len(out) >= limit:
                break
        return out

    def ask_stream(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Iterator[StreamEvent]:
        """A cited answer as events: citations, tokens, then the Answer."""
        authorize(self.identity, Action.ASK)
        return self.backends.pipeline.stream(question, history, filters)

    def record_answer(self, answer: Answer, *, session_id: str, turn: int) -> Interaction:
        """Store an answered question as an interaction (rated or not) and return it."""
        authorize(self.identity, Action.ASK)
        interaction = interaction_for(
            self.identity,
            session_id=session_id,
            turn=turn,
            question=answer.question,
            answer=answer.answer,
            found=answer.found,
            citations=citation_records(answer.citations),
            context=answer.context or format_passages(answer.citations),
            model_id=answer.model_id,
            prompt_version=answer.prompt_version,
            latency_ms=answer.latency_ms,
            grounding=_grounding_record(answer),
            injection=_injection_records(answer.injection),
        )
        self.backends.feedback_store.put(interaction)
        return interaction

    def record_stopped(
        self,
        question: str,
        text: str,
        citations: Sequence[Citation],
        *,
        session_id: str,
        turn: int,
        latency_ms: int = 0,
        model_id: str | None = None,
        injection: Sequence[FlaggedPassage] = (),
    ) -> Interaction:
        """Store a question whose answer was cut short (Stop, or another question asked while it
        streamed) with what had been written, marked ``stopped``: the conversation and its export
        keep the turn, and nothing downstream mistakes the fragment for a whole answer.
        Unchecked against its passages (the check reads whole sentences); ``injection``, the
        flagged passages the model was reading, warns as on a whole answer. Raises FeedbackError."""
        authorize(self.identity, Action.ASK)
        interaction = interaction_for(
            self.identity,
            session_id=session_id,
            turn=turn,
            question=question,
            answer=text.strip(),
            found=bool(text.strip()),
            citations=citation_records(citations),
            context=format_passages(citations),
            model_id=model_id or getattr(self.backends.generator, "model_id", None) or "unknown",
            prompt_version=PROMPT_VERSION,
            latency_ms=min(max(latency_ms, 0), 7 * 24 * 3600 * 1000 - 1),
            injection=_injection_records(injection),
            stopped=True,
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
        # The record's own rules are the check, made once and before the store is read; what is
        # kept (KEEP) was checked when it was stored.
        given = _feedback(rating, None if correction is KEEP else correction, None if note is KEEP else note)
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
        kept = {}
        if correction is KEEP:
            kept["correction"] = before.correction if before else None
        if note is KEEP:
            kept["note"] = before.note if before else None
        feedback = given.model_copy(update=kept)
        if feedback.correction and feedback.correction == existing.answer.strip():
            feedback = feedback.model_copy(update={"correction": None})  # the pre-filled answer saved unchanged
        rated = store.set_feedback(interaction_id, feedback)
        if rated.verified is not None:
            self._count_against_verified(rated)
        return rated

    def _count_against_verified(self, rated: Interaction) -> None:
        # The rating of a served verified answer counts for or against it. The rating itself is
        # saved already: a failure here is logged, not reported as a lost rating.
        try:
            self._verified.after_rating(rated)
        except FeedbackError:
            log.warning("the rating of %s was not counted against its verified answer", rated.id, exc_info=True)

    def model_label(self, model_id: str) -> str:
        """How the answer's author is named to the user, with what to expect of it."""
        from pathlib import Path

        backend = self.backends.settings.generator
        if self.backends.ab.blinded(model_id):  # a blind A/B test: both arms look the same
            return f"the answer model ({backend})"
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

    def _answered_by(self, session_id: str) -> list[str]:
        # The models that answered this conversation so far (its A/B arm), oldest first; none
        # when the store cannot say, and the conversation's id decides.
        try:
            turns = self.conversation(session_id)
        except FeedbackError:
            return []
        return [t.model_id for t in turns if t.model_id != VERIFIED_MODEL_ID]

    def conversation(self, session_id: str) -> list[Interaction]:
        """The identity's own turns of one conversation, in order."""
        authorize(self.identity, Action.SEE_OWN)
        page = self.backends.feedback_store.list(
            InteractionFilter(user=self.identity.user, session_id=session_id), limit=200
        )
        return sorted(page.items, key=lambda i: i.turn)


def regenerate_params(base: GenerationParams, settings: Settings, session_id: str, turn: int) -> GenerationParams:
    """The decoding of a regenerated answer: the first answer's, sampled at the settings'
    ``regenerate_temperature`` and ``regenerate_top_p`` (greedy measured best on SmolLM2-135M, but
    greedy gives the same text again) from a seed of its own: each regeneration is a new turn, so
    two differ, and the same turn of the same conversation draws the same sample again."""
    digest = hashlib.blake2b(f"{session_id}:{turn}".encode(), digest_size=4).digest()
    return base.model_copy(
        update={
            "temperature": settings.regenerate_temperature,
            "top_p": settings.regenerate_top_p,
            "seed": int.from_bytes(digest) % 2**31,
        }
    )


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


def _injection_records(flagged: Sequence[FlaggedPassage]) -> list[InjectionRecord]:
    return [InjectionRecord(**f.model_dump(exclude={"chunk_id"})) for f in flagged]


def _feedback(rating: object, correction: str | None, note: str | None) -> Feedback:
    """The feedback as ``feedback.records.Feedback`` checks it, a refusal said in the person's
    terms. Raises InvalidFeedback: rating not a whole number from 1 to 5, correction or note too long."""
    try:
        return Feedback(rating=rating, correction=correction, note=note)
    except ValidationError as e:
        field = e.errors()[0]["loc"][0]
        if field == "rating":
            message = f"rating must be a whole number from 1 to 5, not {rating!r}"
        elif field == "correction" and isinstance(correction, str) and len(correction) > MAX_CORRECTION_CHARS:
            message = f"The better answer is {len(correction)} characters long; the limit is {MAX_CORRECTION_CHARS}."
        elif field == "note" and isinstance(note, str) and len(note) > MAX_NOTE_CHARS:
            message = f"The note is {len(note)} characters long; the limit is {MAX_NOTE_CHARS}."
        else:
            message = describe(e)
        raise InvalidFeedback(message) from None
