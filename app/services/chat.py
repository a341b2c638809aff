"""Chat actions: ask, record the answer, rate it, reopen earlier conversations."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence

from app.services.audit import AuditService
from app.services.records import citation_records, interaction_for
from app.services.verified import VerifiedService
from app.services.access import Action, Identity, authorize
from app.wiring.backends import Backends
from feedback.errors import FeedbackError, InvalidFeedback, NotFound, StoreUnavailable
from feedback.records import (
    LIKERT_LABELS,
    MAX_CORRECTION_CHARS,
    MAX_NOTE_CHARS,
    Feedback,
    GroundingRecord,
    Interaction,
    SentenceRecord,
    SupportRecord,
)
from feedback.stores.base import InteractionFilter, SessionSummary
from rag.models import Answer, Citation, SearchFilters, Turn
from rag.pipeline import StreamEvent
from rag.prompts import PROMPT_VERSION, format_passages

log = logging.getLogger(__name__)

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

    def check_question(self, question: str) -> str:
        """The question as it will be asked (stripped). Raises InvalidQuery: empty, too long, or
        holding control characters; checked before a verified answer is looked for or stored."""
        from rag.retrieval import validate_question

        authorize(self.identity, Action.ASK)
        return validate_question(question)

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
    ) -> Interaction:
        """Store a question whose answer was cut short (Stop, or another question asked while it
        streamed) with what had been written, marked ``stopped``: the conversation and its export
        keep the turn, and nothing downstream mistakes the fragment for a whole answer.
        Unchecked against its passages (the check reads whole sentences). Raises FeedbackError."""
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
            model_id=getattr(self.backends.generator, "model_id", None) or "unknown",
            prompt_version=PROMPT_VERSION,
            latency_ms=min(max(latency_ms, 0), 7 * 24 * 3600 * 1000 - 1),
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
        rated = store.set_feedback(interaction_id, Feedback(rating=rating, correction=correction, note=note))
        if rated.verified is not None:
            self._count_against_verified(rated)
        return rated

    def _count_against_verified(self, rated: Interaction) -> None:
        # The rating of a served verified answer counts for or against it. The rating itself is
        # saved already: a failure here is logged, not reported as a lost rating.
        try:
            VerifiedService(self.backends, self.identity, AuditService(self.backends, self.identity)).after_rating(
                rated
            )
        except FeedbackError:
            log.warning("the rating of %s was not counted against its verified answer", rated.id, exc_info=True)

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


# Headings that name no subject a question could ask about.
_GENERIC_HEADINGS = {
    "contents", "table of contents", "index", "preface", "foreword", "introduction", "appendix",
    "appendices", "references", "bibliography", "glossary", "abstract", "summary", "notes",
    "acknowledgements", "acknowledgments", "about this document", "revision history", "general",
}  # fmt: skip
_NUMBERING = re.compile(r"^(?:(?:chapter|section|part|annex|appendix)\s+)?[A-Z]?[\dIVXivx]+(?:[.\s-]\d+)*[.:)]?\s+")
_CONTEXT_SEPARATOR = " · "  # rag.ingest.chunking.CONTEXT_SEPARATOR
_MAX_NAME = 60


def _subject(heading: str) -> str | None:
    """The subject of a heading ("7 Diodes › 7.2 Diode Model (D)" → "Diode Model (D)"), or None."""
    last = heading.rsplit("›", 1)[-1]
    last = " ".join(_NUMBERING.sub("", last.strip()).split()).strip(" .:;-–")
    if not 4 <= len(last) <= _MAX_NAME or sum(ch.isalpha() for ch in last) < 3:
        return None
    if last.lower() in _GENERIC_HEADINGS:
        return None
    return last


def question_from_headings(source: str, chunks: Sequence) -> str | None:
    """One question about a document from its passages' context (title · folder · heading):
    the section heading most passages fall under, or the document itself when it has none. A
    document with no title of its own is named by its file name."""
    name = source.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    title = name
    counts: dict[str, int] = {}
    for chunk in chunks:
        parts = [p.strip() for p in (chunk.context or "").split(_CONTEXT_SEPARATOR) if p.strip()]
        if not parts:
            continue
        own = parts[0].lower() not in (stem.lower(), stem.replace("_", " ").lower(), name.lower())
        if own and len(parts[0]) <= _MAX_NAME and sum(ch.isalpha() for ch in parts[0]) >= 3:
            title = parts[0].rstrip(" .:;")
        folder = chunk.folder.replace("/", " / ")
        # After the title and folder comes the heading, then perhaps a table's header ("A | B").
        tail = next((p for p in reversed(parts[1:]) if p != folder and "|" not in p), None)
        subject = _subject(tail) if tail else None
        if subject and subject.lower() != title.lower():
            counts[subject] = counts.get(subject, 0) + 1
    if not counts:
        return f"What does {title} cover?" if chunks else None
    subject = max(counts, key=lambda k: (counts[k], -len(k)))
    first, *rest = subject.split()
    if first.isalpha() and first[1:].islower() and not any(w[:1].isupper() for w in rest):
        subject = subject[0].lower() + subject[1:]  # "Sprinkler storage tank" is words; "Diode Model (D)" a name
    return f"What does {title} say about {subject}?"
