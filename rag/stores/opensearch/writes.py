"""Replacing and deleting whole documents in the OpenSearch store.

A document's new chunks are bulk-indexed first (``_id`` = chunk id, so a retried write is
idempotent), then its other chunks are deleted by query. Search never sees the document
missing; for a moment it may see old and new chunks side by side.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from rag.errors import StoreError
from rag.records import Chunk
from rag.stores.opensearch.bodies import bulk_actions, prune_query
from rag.stores.opensearch.index import ChunkIndex

log = logging.getLogger(__name__)


class DocumentWriter:
    """Writes of one store: whole documents in, whole documents out.

    Args:
        index: the store's index.
        chunk_size: documents per ``_bulk`` request.
        max_retries, initial_backoff: how often, and after how many seconds (doubling), documents
            rejected with 429 are sent again.
    """

    def __init__(self, index: ChunkIndex, *, chunk_size: int, max_retries: int, initial_backoff: float):
        self.index = index
        self.conn = index.conn
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self._lock = threading.Lock()
        self._unrefreshed: set[str] = set()

    def replace(self, source: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Make ``chunks`` the only chunks of ``source`` (the index exists)."""
        # Deletes only see refreshed chunks: make this document's last write visible first.
        if source in self._unrefreshed:
            self.refresh()
        if self.conn.serverless:
            # Serverless vector collections pick their own _id, so the new chunks cannot be told
            # apart from the old by id: delete first, then write.
            self._delete_chunks(source, [])
            if chunks:
                self._bulk(source, chunks, vectors)
        else:
            if chunks:
                self._bulk(source, chunks, vectors)
            self._delete_chunks(source, [c.id for c in chunks])
        with self._lock:
            self._unrefreshed.add(source)

    def _delete_chunks(self, source: str, keep_ids: Sequence[str]) -> None:
        with self.conn.errors(f"remove the old chunks of {source}"):
            self.conn.client().delete_by_query(
                index=self.index.name, body=prune_query(source, keep_ids), conflicts="proceed"
            )

    def _bulk(self, source: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        from opensearchpy import helpers

        errors = []
        with self.conn.errors(f"index the chunks of {source}"):
            for ok, item in helpers.streaming_bulk(
                self.conn.client(),
                bulk_actions(self.index.name, chunks, vectors, with_ids=not self.conn.serverless),
                chunk_size=self.chunk_size,
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff,
                max_backoff=60,
                raise_on_error=False,
                yield_ok=False,
            ):
                if not ok:
                    errors.append(item)
        if errors:
            # A half-written document would look current to incremental ingestion (its doc_hash
            # is the new one), so take it out whole: the next ingest writes it again.
            try:
                self.refresh()
                self._delete_chunks(source, [])
            except StoreError as e:
                log.warning("could not remove partly written %s: %s", source, e)
            first = next(iter(errors[0].values()))
            error = first.get("error", {})
            reason = f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else str(error)
            raise StoreError(
                f"could not index {len(errors)} of {len(chunks)} chunks of {source} "
                f"(HTTP {first.get('status')}): {reason}"
            )

    def delete(self, sources: Sequence[str]) -> int:
        """Remove every chunk of these documents; returns how many of them were indexed."""
        sources = list(dict.fromkeys(sources))
        if not sources or not self.index.exists():
            return 0
        if self._unrefreshed.intersection(sources):
            self.refresh()
        removed = 0
        for start in range(0, len(sources), 500):
            batch = sources[start : start + 500]
            body = {
                "size": 0,
                "query": {"terms": {"source": batch}},
                "aggs": {"present": {"terms": {"field": "source", "size": len(batch)}}},
            }
            client = self.conn.client()
            response = self.index.read("look up documents to delete", client.search, index=self.index.name, body=body)
            if response is None:
                return removed
            present = [b["key"] for b in response.get("aggregations", {}).get("present", {}).get("buckets", [])]
            if not present:
                continue
            with self.conn.errors(f"delete {len(present)} documents"):
                client.delete_by_query(
                    index=self.index.name, body={"query": {"terms": {"source": present}}}, conflicts="proceed"
                )
            removed += len(present)
        return removed

    def refresh(self) -> None:
        """Make the writes so far searchable (Serverless does it on its own, in its time)."""
        with self._lock:
            self._unrefreshed.clear()
        if self.conn.serverless:  # Serverless refreshes on its own and has no _refresh API
            return
        from opensearchpy.exceptions import NotFoundError

        try:
            with self.conn.errors(f"refresh index '{self.index.name}'"):
                self.conn.client().indices.refresh(index=self.index.name)
        except StoreError as e:
            if not isinstance(e.__cause__, NotFoundError):
                raise
