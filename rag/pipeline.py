"""The answer pipeline: retrieve, build the prompt, generate, and return a cited answer."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from rag import grounding, injection
from rag.trimming import ContextTrimmer
from rag.generators.base import GenerationParams, Generator
from rag.generators import repetition
from rag.records import Answer, Citation, FlaggedPassage, Grounding, ScoredChunk, SearchFilters, Turn
from rag.prompts import NOT_FOUND, PROMPT_VERSION, build_messages, format_passages, says_not_found, standalone_question
from rag.retrieval import Retriever, validate_question


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


# A run of this many words shared with an earlier answer and found in no passage is copied text.
COPY_WORDS = 8
_COPY_WORD = re.compile(r"[^\W_]+(?:[.,/][^\W_]+)*")


def _shingles(text: str, n: int = COPY_WORDS) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _COPY_WORD.findall(grounding.MARKER.sub(" ", text))]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def copied_sentences(sentences: Sequence[str], history: Sequence[Turn], sources: Sequence[str]) -> list[str]:
    """The sentences of an answer that repeat an earlier answer of the conversation, unsupported.

    A sentence is copied when it shares a run of ``COPY_WORDS`` words with an earlier answer
    and that run is in none of ``sources`` (the passages of this answer): the same fact quoted
    again from a passage cited now is not a copy, a paragraph about the fire pump carried into
    an answer about GLPK is.
    """
    earlier: set[tuple[str, ...]] = set()
    for turn in history:
        earlier |= _shingles(turn.answer)
    if not earlier:
        return []
    cited: set[tuple[str, ...]] = set()
    for text in sources:
        cited |= _shingles(text)
    return [s for s in sentences if (_shingles(s) & earlier) - cited]


def flag_copies(checked: Grounding | None, history: Sequence[Turn], citations: Sequence[Citation]) -> Grounding | None:
    """The grounding check with copied sentences (``copied_sentences``) listed in ``repeated`` and
    stripped of the passage the similarity check gave them, so they show as having no source."""
    if checked is None or not history:
        return checked
    copied = set(copied_sentences([s.text for s in checked.sentences], history, [c.text for c in citations]))
    if not copied:
        return checked
    sentences = [
        s.model_copy(update={"citation": None, "similarity": None, "explicit": False}) if s.text in copied else s
        for s in checked.sentences
    ]
    still = {s.citation for s in sentences if s.citation is not None}
    supporting = {n: text for n, text in checked.supporting.items() if n in still}
    repeated = [s.text for s in checked.sentences if s.text in copied]
    return checked.model_copy(update={"sentences": sentences, "supporting": supporting, "repeated": repeated})


@dataclass
class StreamEvent:
    """One step of a streamed answer, in order: ``status`` (what is happening now, in ``token``),
    ``citations`` (as soon as retrieval is done, before any text), ``token``s, then ``answer``.
    The first event, before any search, carries the question as it will be answered (checked and
    stripped) in ``question``; the status that the model starts writing carries, in ``injection``,
    the flagged passages it reads (the answer's ``injection``, known before a Stop can cut it short)."""

    kind: str
    citations: list[Citation] = field(default_factory=list)
    token: str = ""
    answer: Answer | None = None
    question: str | None = None
    injection: list[FlaggedPassage] = field(default_factory=list)


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
        context: trims the passages the model reads (rag/trimming.py); None gives them whole.
            The citations keep the full text either way.
        stop_repeats: end the model's reply at its first repeated sentence (or run of words)
            and keep the text before it (rag/generators/repetition.py); a small model
            decoding greedily otherwise loops until the token limit.
        passage_guard: what the model reads of the passages that address it ("ignore previous
            instructions…", rag/injection.py): by default their flagged sentences are withheld
            (bench/injection_answers.py); None gives them as they are. The citations keep the
            full text, and the answer lists the flagged passages the model read in ``injection``.
    """

    retriever: Retriever
    generator: Generator
    k: int = 5
    min_similarity: float = 0.22
    history_turns: int = 3
    params: GenerationParams = field(default_factory=GenerationParams)
    context: ContextTrimmer | None = field(default_factory=ContextTrimmer)
    grounding_threshold: float = grounding.DEFAULT_THRESHOLD
    stop_repeats: bool = True
    passage_guard: Callable[[Sequence[Citation]], list[Citation]] | None = injection.withhold_citations

    def ask(self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None) -> Answer:
        """Answer a question. Raises InvalidQuery for a bad question, GeneratorError, StoreError."""
        for event in self.stream(question, history, filters):
            if event.kind == "answer":
                return event.answer
        raise AssertionError("stream ended without an answer")

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
        *,
        params: GenerationParams | None = None,
    ) -> Iterator[StreamEvent]:
        """Answer a question as events: the citations, the answer's tokens, the final Answer. The
        question is checked here, once (``validate_question``: InvalidQuery on the first event); a
        caller that stops after the first event has searched nothing. ``params`` replaces the
        pipeline's decoding for this answer (a regeneration samples)."""
        started = time.perf_counter()
        question = validate_question(question)
        yield StreamEvent("status", token="Searching the documents…", question=question)
        history = list(history)[-self.history_turns :] if self.history_turns else []
        # A follow-up is answered from the passages of its own standalone question; earlier
        # turns only say what "it" refers to (and earlier answers never reach the model).
        standalone = standalone_question(question, history)
        # The standalone question is the checked one, or it with earlier (stored, so checked)
        # questions before it, cut to the limit: it is not checked again.
        results = self.retriever.search(standalone, k=self.k, filters=filters, checked=True)
        retrieval_ms = int((time.perf_counter() - started) * 1000)
        citations = to_citations(results)
        yield StreamEvent("citations", citations=citations)
        flagged = injection.flag_citations(citations)
        guarded = self.passage_guard(citations) if self.passage_guard and flagged else citations

        read: list[Citation] = []
        warned: list[FlaggedPassage] = []  # the flagged passages the model reads (what was left of them)
        checked = None
        if not self.relevant(standalone, results):
            text, found = NOT_FOUND, False
            yield StreamEvent("token", token=text)
        else:
            read = self.context.select(standalone, guarded, results) if self.context else guarded
            warned = [f for f in flagged if f.n in {c.n for c in read}]
            yield StreamEvent("status", token=f"Writing the answer from {len(read)} passages…", injection=warned)
            pieces = []
            guard = repetition.RepetitionGuard() if self.stop_repeats else None
            reply = self.generator.stream(build_messages(question, read, history), params or self.params)
            for piece in repetition.stop_repeats(reply, guard) if guard else reply:
                pieces.append(piece)
                yield StreamEvent("token", token=piece)
            # A stopped reply's text is the guard's: what was shown of the repeat is dropped.
            text = (guard.text if guard and guard.stopped else "".join(pieces)).strip()
            found = bool(text) and not says_not_found(text)
            if not text:
                text = NOT_FOUND
            if found:
                # Against the full passages the user can open, not only the trimmed text the model
                # read: a number the user can find in a cited passage is not an invention. Withheld
                # sentences are no support: a number an injected sentence dictated is flagged.
                checked = grounding.check(
                    text, standalone, guarded, self.retriever.embedder, threshold=self.grounding_threshold
                )
                checked = flag_copies(checked, history, citations)
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
            injection=warned,
        )
        yield StreamEvent("answer", answer=answer)

    def relevant(self, question: str, results: Sequence[ScoredChunk]) -> bool:
        """Whether the passages could hold the answer, judged before asking the model.

        Semantic similarity separates off-topic questions (below ``min_similarity``) from
        on-topic ones; a keyword match only counts for questions with a number or code in
        them, where the embedding is weak and the exact match is the evidence. ``question`` is
        the standalone question the passages were searched with, so a question that does not
        lean on the conversation is judged on its own.
        """
        if not results:
            return False
        best = max((r.similarity for r in results if r.similarity is not None), default=None)
        if best is None or best >= self.min_similarity:
            return True
        has_identifier = any(ch.isdigit() for ch in question)
        return has_identifier and any(r.keyword_score for r in results)
