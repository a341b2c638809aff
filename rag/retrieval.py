"""Retrieval: embed the query, search the store, optionally re-rank, cite each page once.

Hybrid fusion itself happens in the store (``rag.stores.fusion`` for the embedded store), where
both scores of every candidate are at hand; the re-ranker, when one is set, reorders the
store's best ``rerank_candidates`` before pages are de-duplicated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.embedders.base import Embedder
from rag.errors import InvalidQuery
from rag.models import ScoredChunk, SearchFilters, SearchMode
from rag.rerankers.base import Reranker
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
    """

    store: VectorStore
    embedder: Embedder
    mode: SearchMode = "hybrid"
    distinct_pages: bool = True
    reranker: Reranker | None = None
    rerank_candidates: int = 20
    _model_checked: bool = field(default=False, init=False, repr=False)

    def search(
        self, query: str, *, k: int = 5, filters: SearchFilters | None = None, mode: SearchMode | None = None
    ) -> list[ScoredChunk]:
        """The ``k`` best passages. Raises InvalidQuery, and EmbeddingModelMismatch when the index
        was built with another embedding model than the one configured."""
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
        if self.reranker is not None:
            results = self.reranker.rerank(query, results[: self.rerank_candidates]) + list(
                results[self.rerank_candidates :]
            )
        if not self.distinct_pages:
            return list(results[:k])
        return one_per_page(results, k)


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
    return question
