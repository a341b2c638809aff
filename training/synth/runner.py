"""A synth run: sample passages, ask the model for pairs about each, keep the pairs that pass
every check, store each as an unreviewed synthetic interaction.

Model requests run with bounded concurrency (``common.bounded_run``, as the judge's runs: a
thread pool, at most ``2 × concurrency`` passages queued, throttled requests retried with backoff,
a stop after ``max_consecutive_failures`` in a row); the checks, the store
writes and the ledger run in the calling thread, one reply at a time, so the near-duplicate check
sees every pair accepted before it. Each finished passage goes to the ledger
(``training.synth.ledger``), so a second run sends no request for it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel

from common.bounded_run import RetryPolicy, Stopped, retry_call, run_bounded
from feedback.errors import WriteQueued
from feedback.records import CitationRecord, GroundingRecord, Interaction, Review, SupportRecord
from feedback.stores.base import FeedbackStore, InteractionFilter
from rag.embedders.base import Embedder
from rag.errors import GeneratorError, RagError, ThrottledError
from rag.generators.base import GenerationParams, Generator
from rag.grounding import DEFAULT_THRESHOLD
from rag.records import Chunk, Citation, SearchFilters
from rag.prompts import format_passages
from rag.retrieval import Retriever
from rag.stores.base import VectorStore
from training.synth.checks import leaks, unsupported
from training.synth.ledger import LedgerEntry, PairOutcome, SynthLedger
from training.synth.parser import SynthPair, parse_reply
from training.synth.prompt import KINDS, SYNTH_PROMPT_VERSION, build_synth_messages
from training.synth.sampling import sample

Progress = Callable[[int, int], None]
"""Called with (passages finished, passages selected)."""

SYNTH_USER = "synth"
REASONS = ("malformed", "wrong_kind", "leak", "unsupported", "duplicate", "unreachable")
"""Why a pair is dropped: the reply or the pair is not valid JSON of the asked shape; a kind that
was not asked for; the question contains the answer; the passage does not support the answer;
a question too close to one already kept; the retriever does not find the passage for it."""


class SynthRunSummary(BaseModel):
    """What one run did. ``passages`` were selected and ``asked`` got a reply (``failed``: no
    reply, nothing recorded, asked again next run); ``skipped`` counts the passages left out
    (already done, boilerplate pages, too short); ``generated`` pairs were read from the replies
    (plus ``rejected["malformed"]`` that could not be), ``stored`` kept; ``rejected`` counts the
    dropped ones by reason (``REASONS``)."""

    synth_model: str
    prompt_version: str = SYNTH_PROMPT_VERSION
    passages: int = 0
    asked: int = 0
    failed: int = 0
    skipped: dict[str, int] = {}
    generated: int = 0
    stored: int = 0
    rejected: dict[str, int] = {}
    stored_ids: list[str] = []
    errors: list[str] = []
    stopped: str | None = None
    seconds: float = 0.0


def interaction_id(chunk_id: str, question: str) -> str:
    """The same question about the same passage is the same record: a re-run updates, never duplicates."""
    return hashlib.sha256(f"synth\x1f{chunk_id}\x1f{question}".encode()).hexdigest()[:32]


class Synthesizer:
    """Generates grounded question–answer pairs from the indexed passages.

    Args:
        store: the vector store the passages are read from (``supports_listing``).
        retriever: answers "can this question reach its passage?" (the chat's own retriever).
        embedder: for the grounding check and near-duplicate questions.
        feedback: where the pairs are stored, as interactions with ``origin="synthetic"``.
        generator: the model that writes the pairs; ``model_id`` is stored with each.
        ledger: what was done (resumability).
        k: a pair is kept only when its passage (or its page) is among the ``k`` best results.
        concurrency: requests in flight at most.
        params: generation parameters (a little temperature gives varied questions).
        duplicate_similarity: cosine similarity of two questions' embeddings at or above which the
            later is a near-duplicate.
        grounding_threshold: as the chat's grounding check.
        max_consecutive_failures: a run stops after this many failed requests in a row.
    """

    def __init__(
        self,
        store: VectorStore,
        retriever: Retriever,
        embedder: Embedder,
        feedback: FeedbackStore,
        generator: Generator,
        ledger: SynthLedger,
        *,
        k: int = 5,
        concurrency: int = 4,
        params: GenerationParams | None = None,
        retry: RetryPolicy | None = None,
        duplicate_similarity: float = 0.92,
        grounding_threshold: float = DEFAULT_THRESHOLD,
        max_consecutive_failures: int = 10,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency={concurrency!r} must be 1 or more")
        if k < 1:
            raise ValueError(f"k={k!r} must be 1 or more")
        self.store, self.retriever, self.embedder, self.feedback = store, retriever, embedder, feedback
        self.generator, self.ledger, self.k, self.concurrency = generator, ledger, k, concurrency
        self.params = params or GenerationParams(max_new_tokens=1024, temperature=0.3)
        self.retry = retry or RetryPolicy()
        self.duplicate_similarity = duplicate_similarity
        self.grounding_threshold = grounding_threshold
        self.max_consecutive_failures = max_consecutive_failures

    # -- the model ---------------------------------------------------------------------------

    def _ask(self, chunk: Chunk, per_page: int, kinds: Sequence[str], stop: threading.Event) -> str:
        if stop.is_set():
            raise Stopped
        messages = build_synth_messages(
            chunk.text, source=chunk.source, page=chunk.page, title=chunk.context, count=per_page, kinds=kinds
        )
        return retry_call(
            lambda: self.generator.generate(messages, self.params),
            retryable=ThrottledError,
            policy=self.retry,
            stop=stop,
            what="synth model",
        )

    # -- the checks --------------------------------------------------------------------------

    def _reaches(self, question: str, chunk: Chunk) -> bool:
        results = self.retriever.search(question, k=self.k)
        return any(
            r.chunk.id == chunk.id
            or (chunk.page is not None and (r.chunk.source, r.chunk.page) == (chunk.source, chunk.page))
            for r in results
        )

    def _judge_pair(
        self, pair: SynthPair, chunk: Chunk, kinds: Sequence[str], kept: list[np.ndarray]
    ) -> tuple[str | None, str | None, np.ndarray | None]:
        """(reason, detail, question vector): reason None when the pair is kept."""
        if pair.kind not in kinds:
            return "wrong_kind", pair.kind, None
        if leaks(pair):
            return "leak", pair.answer[:80], None
        why = unsupported(pair, chunk, self.embedder, threshold=self.grounding_threshold)
        if why:
            return "unsupported", why, None
        vector = self.embedder.embed_query(pair.question)
        if kept:
            best = float(np.max(np.stack(kept) @ vector))
            if best >= self.duplicate_similarity:
                return "duplicate", f"similarity {best:.2f}", None
        if pair.kind != "unanswerable":
            try:
                reached = self._reaches(pair.question, chunk)
            except RagError as e:
                return "unreachable", str(e), None
            if not reached:
                return "unreachable", f"not in the top {self.k}", None
        return None, None, vector

    # -- storing -----------------------------------------------------------------------------

    def _record(self, pair: SynthPair, chunk: Chunk) -> Interaction:
        citation = Citation(n=1, source=chunk.source, page=chunk.page, chunk_id=chunk.id, score=1.0, text=chunk.text)
        found = pair.kind != "unanswerable"
        return Interaction(
            id=interaction_id(chunk.id, pair.question),
            session_id=f"synth-{chunk.id[:16]}",
            user=SYNTH_USER,
            role="synthetic",
            turn=1,
            question=pair.question,
            answer=pair.answer,
            found=found,
            citations=[
                CitationRecord(n=1, source=chunk.source, page=chunk.page, chunk_id=chunk.id, score=1.0, text=chunk.text)
            ],
            context=format_passages([citation]),
            model_id=self.generator.model_id,
            prompt_version=SYNTH_PROMPT_VERSION,
            grounding=GroundingRecord(supporting=[SupportRecord(n=1, text=pair.supporting_sentence)] if found else []),
            review=Review(status="unreviewed", reference_answer=pair.answer),
            origin="synthetic",
        )

    def _existing_questions(self) -> list[np.ndarray]:
        """Embeddings of the synthetic questions already stored, so a resumed run adds no near-duplicates."""
        questions, cursor = [], None
        while True:
            page = self.feedback.list(InteractionFilter(origin="synthetic"), limit=500, cursor=cursor)
            questions += [i.question for i in page.items if i.review.status != "rejected"]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if not questions:
            return []
        return list(self.embedder.embed_documents(questions))

    def _finish(
        self,
        chunk: Chunk,
        reply: str,
        kinds: Sequence[str],
        kept: list[np.ndarray],
        summary: SynthRunSummary,
        rejected: Counter,
    ) -> None:
        parsed = parse_reply(reply)
        entry = LedgerEntry(
            chunk_id=chunk.id, source=chunk.source, page=chunk.page, synth_model=self.generator.model_id,
            prompt_version=SYNTH_PROMPT_VERSION, reply_issue=parsed.issue,
        )  # fmt: skip
        if parsed.issue:
            rejected["malformed"] += 1
        rejected["malformed"] += len(parsed.invalid)
        summary.generated += len(parsed.pairs)
        for pair in parsed.pairs:
            reason, detail, vector = self._judge_pair(pair, chunk, kinds, kept)
            if reason is not None:
                rejected[reason] += 1
                entry.pairs.append(PairOutcome(kind=pair.kind, question=pair.question, rejected=reason, detail=detail))
                continue
            record = self._record(pair, chunk)
            try:
                self.feedback.put(record)
            except WriteQueued:
                pass  # kept in the local outbox and sent when the store is back
            kept.append(vector)
            summary.stored += 1
            summary.stored_ids.append(record.id)
            entry.pairs.append(PairOutcome(kind=pair.kind, question=pair.question, interaction_id=record.id))
        self.ledger.append(entry)

    # -- a run -------------------------------------------------------------------------------

    def run(
        self,
        filters: SearchFilters | None = None,
        *,
        per_page: int = 2,
        limit: int | None = None,
        kinds: Sequence[str] = KINDS,
        progress: Progress | None = None,
    ) -> SynthRunSummary:
        """Ask about up to ``limit`` passages not done yet (``per_page`` pairs of ``kinds`` each),
        storing every pair that passes the checks. Returns the summary.

        Raises:
            ValueError: ``per_page`` or ``limit`` below 1, or an unknown kind.
            RagError: the vector store cannot list its passages.
            StoreUnavailable: the feedback store cannot be read or written (and no outbox kept it).
        """
        if per_page < 1:
            raise ValueError(f"per_page={per_page!r} must be 1 or more")
        if limit is not None and limit < 1:
            raise ValueError(f"limit={limit!r} must be 1 or more")
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"unknown kinds {', '.join(unknown) or '(none given)'}; use {', '.join(KINDS)}")
        if not getattr(self.store, "supports_listing", False):
            raise RagError("this vector store cannot list its passages; run ragbot synth on the embedded store")
        started = time.perf_counter()
        summary = SynthRunSummary(synth_model=self.generator.model_id)
        skipped: Counter[str] = Counter()
        chosen = sample(self.store.chunks(filters), done=self.ledger.done(), limit=limit, skipped=skipped)
        summary.passages, summary.skipped = len(chosen), dict(skipped)
        if progress:
            progress(0, len(chosen))
        kept = self._existing_questions() if chosen else []
        rejected: Counter[str] = Counter()

        def finish(chunk: Chunk, reply: str) -> None:
            summary.asked += 1
            self._finish(chunk, reply, kinds, kept, summary, rejected)

        try:
            report = run_bounded(
                chosen,
                lambda chunk, stop: self._ask(chunk, per_page, kinds, stop),
                finish,
                concurrency=self.concurrency,
                failures=GeneratorError,
                max_consecutive_failures=self.max_consecutive_failures,
                describe=lambda chunk, e: f"{chunk.source} page {chunk.page}: {e}",
                progress=(lambda done: progress(done, len(chosen))) if progress else None,
                name="synth",
            )
            summary.failed, summary.errors, summary.stopped = report.failed, report.errors, report.stopped
        finally:
            summary.rejected = {r: rejected[r] for r in REASONS if rejected[r]}
            summary.seconds = round(time.perf_counter() - started, 3)
        return summary
