"""The answer pipeline: retrieve, build the prompt, generate, and return a cited answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from rag import grounding
from rag.context import ContextTrimmer
from rag.generators.base import GenerationParams, Generator
from rag.models import Answer, Citation, ScoredChunk, SearchFilters, Turn
from rag.prompts import NOT_FOUND, PROMPT_VERSION, build_messages, format_passages, says_not_found

# The Retriever lives in rag.retrieval; re-exported here for the callers that import it from here.
from rag.retrieval import MAX_QUESTION_CHARS, Retriever, one_per_page, validate_question  # noqa: F401


def to_citations(results: Sequence[ScoredChunk]) -> list[Citation]:
    return [
        Citation(
            n=i,
            source=r.chunk.source,
            page=r.chunk.page,
            chunk_id=r.chunk.id,
            score=round(r.score, 6),
            text=r.chunk.text,
        )
        for i, r in enumerate(results, start=1)
    ]


@dataclass
class StreamEvent:
    """One step of a streamed answer, in order: ``status`` (what is happening now, in ``token``),
    ``citations`` (as soon as retrieval is done, before any text), ``token``s, then ``answer``."""

    kind: str
    citations: list[Citation] = field(default_factory=list)
    token: str = ""
    answer: Answer | None = None


# Words that make a question lean on the one before it ("and the trailers?", "what about its
# height?"); a question without them is judged on its own, so an off-topic question in the
# middle of a conversation still gets "not found".
_FOLLOW_UP_START = re.compile(r"^\s*(and|or|but|also|what about|how about|then|so|same for|and what about)\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|they|them|their|that|those|these|this|there|same|ones?|former|latter)\b", re.I)


def leans_on_history(question: str) -> bool:
    """Whether a question reads as a follow-up that needs the question before it."""
    words = question.split()
    return bool(_FOLLOW_UP_START.search(question)) or (len(words) <= 8 and bool(_ANAPHORA.search(question)))


@dataclass
class AnswerPipeline:
    """Answers questions from the store's documents.

    Args:
        retriever: finds passages.
        generator: writes the answer.
        k: passages given to the model.
        min_similarity: when the best passage's cosine similarity is below this (and no number
            or code in the question matched by keyword), the model is not asked and the answer
            is "not found". 0.22 sits below every question of the sample set (lowest 0.27) and
            above plainly off-topic ones (0.15–0.19).
        history_turns: earlier turns of the conversation passed to the model.
        context: trims the passages the model reads (rag/context.py); None gives them whole.
            The citations keep the full text either way.
    """

    retriever: Retriever
    generator: Generator
    k: int = 5
    min_similarity: float = 0.22
    history_turns: int = 3
    params: GenerationParams = field(default_factory=GenerationParams)
    context: ContextTrimmer | None = field(default_factory=ContextTrimmer)
    grounding_threshold: float = grounding.DEFAULT_THRESHOLD

    def ask(self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None) -> Answer:
        """Answer a question. Raises InvalidQuery for a bad question, GeneratorError, StoreError."""
        for event in self.stream(question, history, filters):
            if event.kind == "answer":
                return event.answer
        raise AssertionError("stream ended without an answer")

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Iterator[StreamEvent]:
        """Answer a question as events: the citations, the answer's tokens, the final Answer."""
        started = time.perf_counter()
        question = validate_question(question)
        history = list(history)[-self.history_turns :] if self.history_turns else []
        yield StreamEvent("status", token="Searching the documents…")
        results = self.retriever.search(self.search_query(question, history), k=self.k, filters=filters)
        retrieval_ms = int((time.perf_counter() - started) * 1000)
        citations = to_citations(results)
        yield StreamEvent("citations", citations=citations)

        read: list[Citation] = []
        checked = None
        if not self.relevant(question, results, filters, follow_up=bool(history)):
            text, found = NOT_FOUND, False
            yield StreamEvent("token", token=text)
        else:
            read = self.context.select(question, citations, results) if self.context else citations
            yield StreamEvent("status", token=f"Writing the answer from {len(read)} passages…")
            pieces = []
            for piece in self.generator.stream(build_messages(question, read, history), self.params):
                pieces.append(piece)
                yield StreamEvent("token", token=piece)
            text = "".join(pieces).strip()
            found = bool(text) and not says_not_found(text)
            if not text:
                text = NOT_FOUND
            if found:
                # Against the full passages the user can open, not only the trimmed text the model
                # read: a number the user can find in a cited passage is not an invention.
                checked = grounding.check(
                    text, question, citations, self.retriever.embedder, threshold=self.grounding_threshold
                )
        answer = Answer(
            question=question,
            answer=text,
            found=found,
            citations=citations,
            model_id=self.generator.model_id,
            prompt_version=PROMPT_VERSION,
            latency_ms=int((time.perf_counter() - started) * 1000),
            retrieval_ms=retrieval_ms,
            context=format_passages(read),
            grounding=checked,
        )
        yield StreamEvent("answer", answer=answer)

    @staticmethod
    def search_query(question: str, history: Sequence[Turn]) -> str:
        """A follow-up ("and for trailers?") is searched together with the question before it."""
        if not history:
            return question
        room = MAX_QUESTION_CHARS - len(question) - 1
        earlier = history[-1].question[-room:] if room > 0 else ""
        return f"{earlier} {question}".strip()

    def relevant(
        self,
        question: str,
        results: Sequence[ScoredChunk],
        filters: SearchFilters | None = None,
        *,
        follow_up: bool = False,
    ) -> bool:
        """Whether the passages could hold the answer, judged before asking the model.

        Semantic similarity separates off-topic questions (below ``min_similarity``) from
        on-topic ones; a keyword match only counts for questions with a number or code in
        them, where the embedding is weak and the exact match is the evidence. Inside a
        conversation the passages were searched with the previous question too; unless the new
        question reads as a follow-up (``leans_on_history``), it must also be on topic alone.
        """
        if not results:
            return False
        if follow_up and not leans_on_history(question):
            own = self.retriever.search(question, k=self.k, filters=filters, mode="vector")
            return self._on_topic(question, own)
        return self._on_topic(question, results)

    def _on_topic(self, question: str, results: Sequence[ScoredChunk]) -> bool:
        if not results:
            return False
        best = max((r.similarity for r in results if r.similarity is not None), default=None)
        if best is None or best >= self.min_similarity:
            return True
        has_identifier = any(ch.isdigit() for ch in question)
        return has_identifier and any(r.keyword_score for r in results)
