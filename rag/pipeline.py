"""The answer pipeline: retrieve, build the prompt, generate, and return a cited answer."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from rag.context import ContextTrimmer
from rag.generators.base import GenerationParams, Generator
from rag.models import Answer, Citation, ScoredChunk, SearchFilters, Turn
from rag.prompts import NOT_FOUND, PROMPT_VERSION, build_messages, format_passages, says_not_found

# The Retriever lives in rag.retrieval; re-exported here for the callers that import it from here.
from rag.retrieval import MAX_QUESTION_CHARS, Retriever, one_per_page, validate_question  # noqa: F401


def to_citations(results: Sequence[ScoredChunk]) -> list[Citation]:
    return [
        Citation(n=i, source=r.chunk.source, page=r.chunk.page, chunk_id=r.chunk.id, score=round(r.score, 6), text=r.chunk.text)
        for i, r in enumerate(results, start=1)
    ]


@dataclass
class StreamEvent:
    """One step of a streamed answer: ``citations`` first, then ``token``s, then ``answer``."""

    kind: str
    citations: list[Citation] = field(default_factory=list)
    token: str = ""
    answer: Answer | None = None


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

    def ask(self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None) -> Answer:
        """Answer a question. Raises InvalidQuery for a bad question, GeneratorError, StoreError."""
        for event in self.stream(question, history, filters):
            if event.kind == "answer":
                return event.answer
        raise AssertionError("stream ended without an answer")

    def stream(self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None) -> Iterator[StreamEvent]:
        """Answer a question as events: the citations, the answer's tokens, the final Answer."""
        started = time.perf_counter()
        question = validate_question(question)
        history = list(history)[-self.history_turns :] if self.history_turns else []
        results = self.retriever.search(self.search_query(question, history), k=self.k, filters=filters)
        retrieval_ms = int((time.perf_counter() - started) * 1000)
        citations = to_citations(results)
        yield StreamEvent("citations", citations=citations)

        read: list[Citation] = []
        if not self.relevant(question, results):
            text, found = NOT_FOUND, False
            yield StreamEvent("token", token=text)
        else:
            read = self.context.select(question, citations, results) if self.context else citations
            pieces = []
            for piece in self.generator.stream(build_messages(question, read, history), self.params):
                pieces.append(piece)
                yield StreamEvent("token", token=piece)
            text = "".join(pieces).strip()
            found = bool(text) and not says_not_found(text)
            if not text:
                text = NOT_FOUND
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

    def relevant(self, question: str, results: Sequence[ScoredChunk]) -> bool:
        """Whether the passages could hold the answer, judged before asking the model.

        Semantic similarity separates off-topic questions (below ``min_similarity``) from
        on-topic ones; a keyword match only counts for questions with a number or code in
        them, where the embedding is weak and the exact match is the evidence.
        """
        if not results:
            return False
        best = max((r.similarity for r in results if r.similarity is not None), default=None)
        if best is None or best >= self.min_similarity:
            return True
        has_identifier = any(ch.isdigit() for ch in question)
        return has_identifier and any(r.keyword_score for r in results)
