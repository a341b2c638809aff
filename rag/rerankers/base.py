"""The re-ranker protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rag.records import ScoredChunk


class Reranker(Protocol):
    """Reorders a query's candidates by reading each passage with the query.

    ``model_id`` names the model (for logs and benchmark tables).
    """

    model_id: str

    def rerank(self, query: str, candidates: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """The candidates, best first, each with ``score`` set to the re-ranker's score.

        ``similarity`` and ``keyword_score`` are kept as the first stage set them. Raises
        RagError when the model cannot be loaded.
        """
        ...
