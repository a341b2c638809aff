"""The vector store protocol that every retrieval backend implements.

A store holds chunks with their vectors, grouped by document (``source``). Writes replace a
whole document at a time, which is what incremental ingestion needs and what both LanceDB
(delete + add) and OpenSearch (delete_by_query + bulk) do natively.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from pydantic import BaseModel

from rag.records import Chunk, ScoredChunk, SearchFilters, SearchMode


class DocumentInfo(BaseModel):
    """What the store knows of one indexed document."""

    source: str
    doc_hash: str
    chunks: int
    pages: int


class VectorStore(Protocol):
    """Chunks with vectors, searchable by vector, keyword, or both fused.

    Capabilities are attributes: ``supports_hybrid`` is True when ``search(mode="hybrid")``
    fuses vector and keyword rankings inside the store; ``supports_listing`` when ``chunks``
    lists the indexed passages (what ``ragbot synth`` samples from).
    """

    supports_hybrid: bool
    supports_listing: bool

    def check_embedding_model(self, model_id: str, dimension: int) -> None:
        """Bind the store to an embedding model on first use, and check it afterwards.

        Raises:
            EmbeddingModelMismatch: the index was built with another model or dimension.
        """
        ...

    def write_document(self, source: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> int:
        """Replace every chunk of ``source`` with ``chunks`` (row i of ``vectors`` is chunk i).

        Returns the number of chunks written. Raises StoreError on failure.
        """
        ...

    def delete_documents(self, sources: Sequence[str]) -> int:
        """Remove every chunk of the given documents. Returns how many documents were removed."""
        ...

    def documents(self) -> dict[str, DocumentInfo]:
        """Every indexed document by source."""
        ...

    def count(self) -> int:
        """Number of chunks in the store."""
        ...

    def chunks(self, filters: SearchFilters | None = None) -> list[Chunk]:
        """Every indexed chunk of the documents ``filters`` select (all when None), ordered by
        source, page and position. Only where ``supports_listing``."""
        ...

    def refresh(self) -> None:
        """Make recent writes searchable and keep indexes current; call after a batch of writes."""
        ...

    def search(
        self,
        text: str,
        vector: np.ndarray | None,
        *,
        k: int = 5,
        mode: SearchMode = "hybrid",
        filters: SearchFilters | None = None,
    ) -> list[ScoredChunk]:
        """The ``k`` best chunks for a query, best first.

        Args:
            text: the query text, used by keyword search.
            vector: the query embedding, used by vector search (required unless mode is keyword).
            mode: ``hybrid`` fuses vector and keyword scores with weights chosen per query
                (``rag.stores.fusion``; OpenSearch's ``pipeline`` mode: one fixed weight).
            filters: restrict to a folder (and below) or a single document.
        """
        ...
