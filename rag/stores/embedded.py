"""The embedded store: LanceDB on local disk.

LanceDB gives, in one embedded library with no server, what the protocol needs: an on-disk
columnar table, an ANN vector index (IVF-HNSW with scalar quantisation), a native BM25
full-text index, SQL filters pushed down before the vector search, and delete by predicate.
A hybrid query runs its vector and BM25 sides at once, inside LanceDB, and fuses them with
per-query weights (``rag.stores.fusion``).

Searches go through LanceDB's async query API, handed to the event loop its sync API runs on
in one call. The sync builders make about six hand-offs to that loop per query (schema reads,
execution, each batch) and ran the two sides from two Python threads: at 100k chunks that was
about a sixth of a hybrid query's time on two cores (bench/search_latency.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from lancedb.background_loop import LOOP

from rag.errors import EmbeddingModelMismatch, StoreError
from rag.models import Chunk, ScoredChunk, SearchFilters, SearchMode
from rag.stores.base import DocumentInfo
from rag.stores.fusion import FusionWeights, fuse
from rag.stores.identifiers import identifier_phrases

log = logging.getLogger(__name__)

TABLE = "chunks"
# What a search brings back (not the vector: 1.5 kB a row that nobody reads).
RESULT_COLUMNS = ["id", "source", "folder", "page", "text", "doc_hash", "chunk_index", "context"]
# What BM25 reads: a chunk's context, then its text, in one column. Against the two columns
# queried together it ranked better on the real-document questions (LaTeX News hit@1 0.80 ->
# 0.93, manuals hit@5 0.97 -> 0.98) and reads one index instead of two (bench/RESULTS.md).
KEYWORD_COLUMN = "search_text"
META_FILE = "ragbot-index.json"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def keyword_query(text: str):
    """BM25 over the words of ``text`` in each chunk's context and text.

    Identifiers are not phrase-queried here: phrase clauses made BM25 ten times slower at 100k
    chunks. ``boost_identifiers`` reorders the candidates instead.
    """
    from lancedb.query import MatchQuery

    return MatchQuery(text, KEYWORD_COLUMN)


def search_text(context: str | None, text: str) -> str:
    """The words BM25 finds a chunk by: its context (title, folder, heading), then its text."""
    return f"{context} {text}" if context else text


def boost_identifiers(text: str, rows: list[dict], score_key: str = "_score") -> list[dict]:
    """Rows holding an identifier of the query exactly as typed ("21 01 13", "FP-300") first.

    Plain BM25 scores "21 13 01" exactly like "21 01 13" (same tokens). Among the BM25
    candidates, a row gets the best candidate's score added for each identifier its text holds
    as typed (spacing and case aside); the order is otherwise BM25's.
    """
    phrases = [_squash(p) for p in identifier_phrases(text)]
    if not phrases or not rows:
        return rows
    top = max(float(r.get(score_key) or 0.0) for r in rows)
    boosted = []
    for row in rows:
        haystack = _squash(row.get("text", ""))
        matched = sum(p in haystack for p in phrases)
        if matched:
            row = row | {score_key: float(row.get(score_key) or 0.0) + top * matched}
        boosted.append(row)
    return sorted(boosted, key=lambda r: -float(r.get(score_key) or 0.0))


_SPACES = re.compile(r"\s+")


def _squash(value: str) -> str:
    return _SPACES.sub(" ", value.lower())


def table_rows(chunks: Sequence[Chunk], vectors: np.ndarray) -> list[dict]:
    """The table's rows for ``chunks`` (row i of ``vectors`` is chunk i's vector)."""
    return [
        c.model_dump() | {KEYWORD_COLUMN: search_text(c.context, c.text), "vector": v}
        for c, v in zip(chunks, vectors, strict=True)
    ]


def replace_document(table, source: str, rows: list[dict]) -> None:
    """One commit replaces the document: new chunks in, unchanged ones updated, the document's
    other chunks out. A failure leaves the old version whole."""
    (
        table.merge_insert("id")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .when_not_matched_by_source_delete(f"source = {_quote(source)}")
        .execute(rows)
    )


def filter_sql(filters: SearchFilters | None) -> str | None:
    """Translate filters into a LanceDB SQL predicate (None when there is nothing to filter)."""
    if filters is None or filters.is_empty():
        return None
    clauses = []
    if filters.folder:
        folder = filters.folder.strip("/")
        like = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(f"(folder = {_quote(folder)} OR folder LIKE {_quote(like + '/%')})")
    if filters.source:
        clauses.append(f"source = {_quote(filters.source)}")
    return " AND ".join(clauses)


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
        fusion: how hybrid mode weighs its two sides per query.
    """

    supports_hybrid = True
    supports_listing = True

    def __init__(
        self,
        path: Path,
        *,
        ann_min_rows: int = 20_000,
        candidates: int = 30,
        fusion: FusionWeights | None = None,
    ):
        self.path = Path(path)
        self.ann_min_rows = ann_min_rows
        self.candidates = candidates
        self.fusion = fusion or FusionWeights()
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
                    self._upgrade(table)
                    self._table = table
                elif dimension is not None:
                    self._table = db.create_table(TABLE, schema=self._schema(dimension), exist_ok=True)
        return self._table

    @staticmethod
    def _upgrade(table) -> None:
        """Brings a table written by an earlier ragbot to the current layout, in place."""
        if "context" not in table.schema.names:
            # Written before chunks had a context: add the column empty, so old chunks stay
            # searchable and re-ingested ones get theirs.
            table.add_columns(pa.field("context", pa.string()))
        if KEYWORD_COLUMN not in table.schema.names:
            # BM25 read text and context as two indexed columns: derive the one column from
            # them (concat skips a missing context) and index it now, so keyword search keeps
            # working without a re-ingest.
            log.info("indexing context and text together for keyword search (once)")
            try:
                table.add_columns({KEYWORD_COLUMN: "concat(context, ' ', text)"})
            except Exception:
                # Another process upgraded the table since this one opened it: use its work.
                table.checkout_latest()
                if KEYWORD_COLUMN not in table.schema.names:
                    raise
            indexed = {i.columns[0]: i.index_type for i in table.list_indices()}
            if KEYWORD_COLUMN not in indexed and "FTS" in indexed.values():
                _index_keywords(table)

    @staticmethod
    def _schema(dimension: int) -> pa.Schema:
        return pa.schema(
            [
                pa.field("id", pa.string(), nullable=False),
                pa.field("source", pa.string(), nullable=False),
                pa.field("folder", pa.string(), nullable=False),
                pa.field("page", pa.int32()),
                pa.field("text", pa.string(), nullable=False),
                pa.field("doc_hash", pa.string(), nullable=False),
                pa.field("chunk_index", pa.int32(), nullable=False),
                pa.field("context", pa.string()),
                pa.field(KEYWORD_COLUMN, pa.string()),
                pa.field("vector", pa.list_(pa.float32(), dimension)),
            ]
        )

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
            table.delete(f"source = {_quote(source)}")
            return 0
        rows = table_rows(chunks, vectors)
        try:
            if table.count_rows(f"source = {_quote(source)}") == 0:
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
            table.delete(f"source IN ({', '.join(_quote(s) for s in batch)})")
        return len(gone)

    def refresh(self) -> None:
        table = self._open()
        if table is None:
            return
        indexed = {i.columns[0]: i.index_type for i in table.list_indices()}
        if KEYWORD_COLUMN not in indexed:
            _index_keywords(table)
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
                (hits,) = _run(self._vector_query(table, vector, where, k))
                rows = hits.to_pylist()
            elif mode == "keyword":
                (hits,) = _run(self._keyword_query(table, text, vector, where, limit))
                rows = self._keyword_rows(hits, text, vector)
            else:
                vector_hits, keyword_hits = _run(
                    self._vector_query(table, vector, where, limit),
                    self._keyword_query(table, text, vector, where, limit),
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
        for row in keyword_rows:
            by_id[row["id"]] = by_id.get(row["id"], {}) | row
        rows = list(by_id.values())
        scores = fuse(text, [1.0 - float(r["_distance"]) for r in rows], [r.get("_score") for r in rows], self.fusion)
        for row, score in zip(rows, scores, strict=True):
            row["_relevance_score"] = score
        return sorted(rows, key=lambda r: -r["_relevance_score"])

    @staticmethod
    def _vector_query(table, vector, where, limit):
        # LanceDB's default HNSW search width is too narrow at small k: bench/ann_recall.py
        # measured 67% recall of the true top 5 at the default and 94% at ef=100, for no
        # measurable latency. Without an index (small tables) ef is ignored: the scan is exact.
        query = (
            table._table.query()  # the async table behind the sync one
            .nearest_to(np.asarray(vector, dtype=np.float32))
            .column("vector")
            .distance_type("cosine")
            .ef(max(100, limit))
            .select([*RESULT_COLUMNS, "_distance"])
        )
        return (query.where(where) if where else query).limit(limit)

    @staticmethod
    def _keyword_query(table, text, vector, where, limit):
        """BM25 over context and text; with the stored vectors when ``vector`` asks for similarities."""
        columns = [*RESULT_COLUMNS, "_score"] + ([] if vector is None else ["vector"])
        query = table._table.query().nearest_to_text(keyword_query(text))
        return (query.where(where) if where else query).select(columns).limit(limit)

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


def _index_keywords(table) -> None:
    """The BM25 index over ``KEYWORD_COLUMN``; drops the per-column ones it replaces."""
    with warnings.catch_warnings():
        # create_fts_index is the documented call for the native inverted index; its
        # replacement API in lancedb 0.40 does not accept a text column yet.
        warnings.simplefilter("ignore", DeprecationWarning)
        # No positions: identifiers are matched on the candidates (boost_identifiers), and
        # phrase queries were the slow part of keyword search.
        table.create_fts_index(KEYWORD_COLUMN, use_tantivy=False, replace=True, with_position=False)
    for index in table.list_indices():
        if index.index_type == "FTS" and index.columns[0] != KEYWORD_COLUMN:
            table.drop_index(index.name)


def _run(*queries) -> list[pa.Table]:
    """The results of LanceDB async ``queries``, run at once in one hand-off to LanceDB's loop."""

    async def gather():
        return await asyncio.gather(*(q.to_arrow() for q in queries))

    return LOOP.run(gather())
