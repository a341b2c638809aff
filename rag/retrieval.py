"""Retrieval: embed the query, search the store, route to named documents, optionally re-rank,
cite each page once.

Hybrid fusion itself happens in the store (``rag.stores.fusion`` for the embedded store), where
both scores of every candidate are at hand. In hybrid mode the candidates of the documents the
question names are then lifted (``rag.routing``); the re-ranker, when one is set, reorders the
best ``rerank_candidates`` of that order (blending its order with it, ``rag.rerankers.blend``);
passages that ratings endorsed for questions like this one gain a
bounded boost (``rag.passage_feedback``); then pages are de-duplicated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.embedders.base import Embedder
from rag.errors import InvalidQuery
from rag.records import ScoredChunk, SearchFilters, SearchMode
from rag.passage_feedback import PassageFeedback
from rag.rerankers.base import Reranker
from rag.routing import RouterCache, lift
from rag.stores.base import VectorStore

MAX_QUESTION_CHARS = 2000


@dataclass
class Retriever:
    """Embeds a query and searches the store.

    Args:
        store: the vector store.
        embedder: embeds the query (the model the index was built with).
        mode: default search mode.
        distinct_pages: cite each page once (see ``one_per_page``).
        reranker: a second stage over the first ``rerank_candidates`` results (None: off).
        rerank_candidates: how many first-stage results the re-ranker reads.
        route_weight: in hybrid mode, how much a candidate gains when its document's path
            matches the question (``rag.routing``), on the fused score's 0-1 scale; 0 is off.
            0.5 against 0.3 and 0.7 on the dev questions of bench/real_retrieval.py: filings
            dev hit@5 0.625 -> 0.725 (0.700 at both), manuals and LaTeX News unchanged. With a
            re-ranker, routing comes first: the re-ranker reads the routed order.
        passage_feedback: in hybrid mode, passages endorsed by ratings and reviews of questions
            close to this one gain a bounded boost, discredited ones lose it
            (``rag.passage_feedback``); None is off.
    """

    store: VectorStore
    embedder: Embedder
    mode: SearchMode = "hybrid"
    distinct_pages: bool = True
    reranker: Reranker | None = None
    rerank_candidates: int = 20
    route_weight: float = 0.5
    passage_feedback: PassageFeedback | None = None
    _model_checked: bool = field(default=False, init=False, repr=False)
    routers: RouterCache = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.routers = RouterCache(self.store)

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        filters: SearchFilters | None = None,
        mode: SearchMode | None = None,
        checked: bool = False,
    ) -> list[ScoredChunk]:
        """The ``k`` best passages. ``checked``: ``query`` already passed ``validate_question`` (the
        answer pipeline checks its question once, before anything else). Raises InvalidQuery, and
        EmbeddingModelMismatch when the index was built with another embedding model than the one
        configured."""
        if not checked:
            query = validate_question(query)
        mode = mode or self.mode
        if not self._model_checked and mode != "keyword" and self.store.count() > 0:
            # Vectors from another model would rank at random: refuse instead of answering badly.
            self.store.check_embedding_model(self.embedder.model_id, self.embedder.dimension)
            self._model_checked = True
        vector = None if mode == "keyword" else self.embedder.embed_query(query)
        wanted = k * 3 if self.distinct_pages else k
        if self.reranker is not None:
            wanted = max(wanted, self.rerank_candidates)
        results = self.store.search(query, vector, k=wanted, mode=mode, filters=filters)
        if mode == "hybrid" and self.route_weight > 0:
            results = self._route(query, results)
        if self.reranker is not None:
            # Blended re-rankers keep part of this order (routing included): it is the first stage.
            top = results[: self.rerank_candidates]
            head = self.reranker.rerank(query, top)
            # The new order takes the first stage's scores by position: the tail and the feedback
            # boosts below stay on the same 0-1 scale instead of meeting a model's logits.
            head = [r.model_copy(update={"score": c.score}) for r, c in zip(head, top, strict=True)]
            results = head + list(results[self.rerank_candidates :])
        if self.passage_feedback is not None and mode == "hybrid":
            results = self.passage_feedback.adjust(vector, results)
        if not self.distinct_pages:
            return list(results[:k])
        return one_per_page(results, k)

    def _route(self, query: str, results: list[ScoredChunk]) -> list[ScoredChunk]:
        """``results`` (scores 0-1) re-scored with their documents' match to the query, best first."""
        passages = [(r.chunk.source, r.chunk.text) for r in results]
        router = self.routers.get([source for source, _ in passages])
        matches = router.route(query, passages) if router is not None else {}
        if not matches:
            return results
        rescored = [
            r.model_copy(update={"score": lift(r.score, matches.get(r.chunk.source, 0.0), self.route_weight)})
            for r in results
        ]
        return sorted(rescored, key=lambda r: -r.score)


def one_per_page(results: Sequence[ScoredChunk], k: int) -> list[ScoredChunk]:
    """The best chunk of each page, in rank order, until ``k``.

    Citations point at pages: five chunks of one page would cite that page five times and
    hide the next-best pages, where the answer often is.
    """
    seen: set[tuple[str, int | None, str]] = set()
    kept = []
    for r in results:
        # Page-less documents have one "page"; keep their distinct chunks apart by id.
        key = (r.chunk.source, r.chunk.page, "" if r.chunk.page is not None else r.chunk.id)
        if key in seen:
            continue
        seen.add(key)
        kept.append(r)
        if len(kept) == k:
            break
    return kept


def validate_question(question: str) -> str:
    """The question stripped; raises InvalidQuery when empty or too long."""
    question = (question or "").strip()
    if not question:
        raise InvalidQuery("The question is empty: type a question.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQuery(f"The question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}.")
    # The same rule as the stored record's (feedback.records): refused here, before any work.
    bad = next(
        (c for c in question if (c < " " or "\x7f" <= c <= "\x9f" or "\ud800" <= c <= "\udfff") and c not in "\n\t\r"),
        None,
    )
    if bad is not None:
        raise InvalidQuery(f"The question holds the control character {bad!r}; remove it and ask again.")
    return question
