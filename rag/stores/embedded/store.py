"""``LanceDBVectorStore``: the embedded vector store, LanceDB on local disk, put together from its
table (``schema``) and what it asks LanceDB (``queries``)."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from rag.errors import EmbeddingModelMismatch, StoreError
from rag.records import Chunk, ScoredChunk, SearchFilters, SearchMode
from rag.stores.base import DocumentInfo
from rag.stores.embedded.queries import (
    boost_identifiers,
    filter_sql,
    keyword_search,
    quote,
    replace_document,
    run_queries,
    vector_search,
)
from rag.stores.embedded.schema import (
    KEYWORD_COLUMN,
    META_FILE,
    RESULT_COLUMNS,
    TABLE,
    index_keywords,
    table_rows,
    table_schema,
    upgrade_table,
)
from rag.stores.fusion import DEFAULT_FUSION, Fusion, FusionWeights, fuse

log = logging.getLogger(__name__)


class LanceDBVectorStore:
    """Chunks in a LanceDB table under ``path``.

    Args:
        path: folder of the database (created when missing).
        ann_min_rows: build the ANN index once the table holds this many chunks; below it,
            exact search is fast enough and needs no training data.
        candidates: how many results each side of a hybrid query contributes before fusion,
            and how many keyword candidates ``boost_identifiers`` reorders. 30 against 50: the
            same hit@5 on the real-document questions, one manuals question first -> second,
            and hybrid p95 at 100k chunks 20.4 -> 17.1 ms (bench/RESULTS.md).
        fusion: how hybrid mode fuses its two sides (``rag.stores.fusion``; ``FusionWeights``: the
            per-query fusion with those weights).
    """

    supports_hybrid = True
    supports_listing = True

    def __init__(
        self,
        path: Path,
        *,
        ann_min_rows: int = 20_000,
        candidates: int = 30,
        fusion: Fusion | FusionWeights | None = None,
    ):
        self.path = Path(path)
        self.ann_min_rows = ann_min_rows
        self.candidates = candidates
        self.fusion = fusion or DEFAULT_FUSION
        self._db = None
        self._table = None
        self._lock = threading.Lock()

    # -- connection -----------------------------------------------------------------------

    def _connect(self):
        if self._db is None:
            import lancedb

            self.path.mkdir(parents=True, exist_ok=True)
            self._db = lancedb.connect(str(self.path))
        return self._db

    def _open(self, dimension: int | None = None):
        """The chunks table; created with ``dimension`` when it does not exist yet."""
        if self._table is not None:
            return self._table
        with self._lock:
            if self._table is None:
                db = self._connect()
                if TABLE in db.list_tables().tables:
                    table = db.open_table(TABLE)
                    upgrade_table(table)
                    self._table = table
                elif dimension is not None:
                    self._table = db.create_table(TABLE, schema=table_schema(dimension), exist_ok=True)
        return self._table

    # -- embedding model binding --------------------------------------------------------------

    def _meta_path(self) -> Path:
        return self.path / META_FILE

    def embedding_model(self) -> dict | None:
        """The embedding model the index was built with, or None for a new index."""
        try:
            return json.loads(self._meta_path().read_text())
        except FileNotFoundError:
            return None

    def check_embedding_model(self, model_id: str, dimension: int) -> None:
        meta = self.embedding_model()
        if meta is None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._meta_path().write_text(json.dumps({"embedding_model": model_id, "dimension": dimension}))
            return
        if meta["embedding_model"] != model_id or meta["dimension"] != dimension:
            raise EmbeddingModelMismatch(
                f"The index at {self.path} was built with embedding model '{meta['embedding_model']}' "
                f"({meta['dimension']} dimensions) but the configured model is '{model_id}' "
                f"({dimension} dimensions). Set RAGBOT_EMBEDDING_MODEL={meta['embedding_model']}, "
                f"or re-index into a new RAGBOT_HOME."
            )

    # -- writes ---------------------------------------------------------------------------------

    def write_document(self, source: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> int:
        if len(chunks) != len(vectors):
            raise StoreError(f"{len(chunks)} chunks but {len(vectors)} vectors for {source}")
        table = self._open(dimension=int(vectors.shape[1]) if len(vectors) else None)
        if table is None:
            return 0
        if not chunks:
            table.delete(f"source = {quote(source)}")
            return 0
        rows = table_rows(chunks, vectors)
        try:
            if table.count_rows(f"source = {quote(source)}") == 0:
                # A new document: one append. The merge below joins the rows against the whole
                # table, so its cost grows with the index (bench/write_cost.py: 70 ms a document
                # at 30k chunks, 250 ms at 100k, against 12 ms for the check and the append).
                table.add(rows)
            else:
                replace_document(table, source, rows)
        except Exception as e:
            raise StoreError(f"could not write {source}: {e}") from e
        return len(rows)

    def delete_documents(self, sources: Sequence[str]) -> int:
        table = self._open()
        if table is None or not sources:
            return 0
        known = set(self.documents())
        gone = [s for s in sources if s in known]
        for start in range(0, len(gone), 500):
            batch = gone[start : start + 500]
            table.delete(f"source IN ({', '.join(quote(s) for s in batch)})")
        return len(gone)

    def refresh(self) -> None:
        table = self._open()
        if table is None:
            return
        indexed = {i.columns[0]: i.index_type for i in table.list_indices()}
        if KEYWORD_COLUMN not in indexed:
            index_keywords(table)
        if "vector" not in indexed and table.count_rows() >= self.ann_min_rows:
            log.info("building the ANN index over %d chunks", table.count_rows())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                table.create_index(metric="cosine", vector_column_name="vector", index_type="IVF_HNSW_SQ")
        # Folds new rows into the indexes and compacts small files left by many small writes.
        table.optimize(cleanup_older_than=timedelta(hours=1))

    # -- reads ----------------------------------------------------------------------------------

    def count(self) -> int:
        table = self._open()
        return 0 if table is None else table.count_rows()

    def documents(self) -> dict[str, DocumentInfo]:
        table = self._open()
        if table is None or table.count_rows() == 0:
            return {}
        data = table.search().select(["source", "doc_hash", "page"]).limit(table.count_rows()).to_arrow()
        grouped = data.group_by("source").aggregate(
            [("doc_hash", "max"), ("page", "count_distinct"), ("source", "count")]
        )
        return {
            row["source"]: DocumentInfo(
                source=row["source"],
                doc_hash=row["doc_hash_max"],
                chunks=row["source_count"],
                pages=row["page_count_distinct"] or 1,  # page-less formats are one page
            )
            for row in grouped.to_pylist()
        }

    def chunks(self, filters: SearchFilters | None = None) -> list[Chunk]:
        """Every chunk (without its vector) of the documents ``filters`` select, by source, page
        and position. See ``VectorStore.chunks``."""
        table = self._open()
        if table is None or table.count_rows() == 0:
            return []
        query = table.search().select(RESULT_COLUMNS)
        where = filter_sql(filters)
        if where:
            query = query.where(where)
        rows = query.limit(table.count_rows()).to_list()
        out = [
            Chunk(**({f: row.get(f) for f in Chunk.model_fields} | {"context": row.get("context") or ""}))
            for row in rows
        ]
        return sorted(out, key=lambda c: (c.source, c.page or 0, c.chunk_index))

    def search(
        self,
        text: str,
        vector: np.ndarray | None,
        *,
        k: int = 5,
        mode: SearchMode = "hybrid",
        filters: SearchFilters | None = None,
    ) -> list[ScoredChunk]:
        """See ``VectorStore.search``. Hybrid mode fuses the two sides with per-query weights
        (``rag.stores.fusion``); a keyword search given a ``vector`` also reports similarities."""
        table = self._open()
        if table is None or k <= 0:
            return []
        if mode != "keyword" and vector is None:
            raise StoreError(f"a {mode} search needs a query vector")
        where = filter_sql(filters)
        limit = max(k, self.candidates)
        try:
            if mode == "vector":
                (hits,) = run_queries(vector_search(table, vector, where, k))
                rows = hits.to_pylist()
            elif mode == "keyword":
                (hits,) = run_queries(keyword_search(table, text, vector, where, limit))
                rows = self._keyword_rows(hits, text, vector)
            else:
                vector_hits, keyword_hits = run_queries(
                    vector_search(table, vector, where, limit),
                    keyword_search(table, text, vector, where, limit),
                )
                rows = self._fused(text, vector_hits.to_pylist(), self._keyword_rows(keyword_hits, text, vector))
        except (ValueError, RuntimeError) as e:
            if "INVERTED index" in str(e):  # written but never refreshed: vectors only
                return [] if mode == "keyword" else self.search(text, vector, k=k, mode="vector", filters=filters)
            raise StoreError(f"search failed: {e}") from e
        return [self._scored(row, mode) for row in rows[:k]]

    @staticmethod
    def _keyword_rows(hits: pa.Table, text: str, vector) -> list[dict]:
        if vector is None:
            return boost_identifiers(text, hits.to_pylist())
        rows = hits.drop_columns(["vector"]).to_pylist()
        if rows:
            # Cosine of the stored (unit) vectors: every keyword candidate gets a similarity.
            matrix = hits["vector"].combine_chunks().flatten().to_numpy().reshape(len(rows), -1)
            sims = matrix @ np.asarray(vector, dtype=np.float32)
            rows = [r | {"_distance": 1.0 - float(s)} for r, s in zip(rows, sims, strict=True)]
        return boost_identifiers(text, rows)

    def _fused(self, text: str, vector_rows: list[dict], keyword_rows: list[dict]) -> list[dict]:
        by_id = {r["id"]: r for r in vector_rows}
        vector_rank = {r["id"]: i for i, r in enumerate(vector_rows)}
        for row in keyword_rows:
            by_id[row["id"]] = by_id.get(row["id"], {}) | row
        rows = list(by_id.values())
        scores = fuse(
            text,
            [1.0 - float(r["_distance"]) for r in rows],
            [r.get("_score") for r in rows],
            self.fusion,
            [vector_rank.get(r["id"]) for r in rows],
        )
        for row, score in zip(rows, scores, strict=True):
            row["_relevance_score"] = score
        return sorted(rows, key=lambda r: -r["_relevance_score"])

    @staticmethod
    def _scored(row: dict, mode: SearchMode) -> ScoredChunk:
        distance = row.get("_distance")
        similarity = None if distance is None else 1.0 - float(distance)
        keyword = row.get("_score")
        keyword = None if keyword is None else float(keyword)
        if mode == "hybrid":
            score = float(row["_relevance_score"])
        elif mode == "vector":
            score = similarity
        else:
            score = keyword
        fields = {f: row.get(f) for f in Chunk.model_fields}
        fields["context"] = fields["context"] or ""  # rows written before contexts existed
        chunk = Chunk(**fields)
        return ScoredChunk(chunk=chunk, score=score, similarity=similarity, keyword_score=keyword)
