"""The embedded store's table: its columns, the row of a chunk, its keyword index, and bringing
a table written by an earlier ragbot to the current layout."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from rag.records import Chunk

log = logging.getLogger(__name__)

TABLE = "chunks"
# What a search brings back (not the vector: 1.5 kB a row that nobody reads).
RESULT_COLUMNS = ["id", "source", "folder", "page", "text", "doc_hash", "chunk_index", "context"]
# What BM25 reads: a chunk's context, then its text, in one column. Against the two columns
# queried together it ranked better on the real-document questions (LaTeX News hit@1 0.80 ->
# 0.93, manuals hit@5 0.97 -> 0.98) and reads one index instead of two (bench/RESULTS.md).
KEYWORD_COLUMN = "search_text"
META_FILE = "ragbot-index.json"


def table_schema(dimension: int) -> pa.Schema:
    """The chunks table of vectors with ``dimension`` components."""
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


def search_text(context: str | None, text: str) -> str:
    """The words BM25 finds a chunk by: its context (title, folder, heading), then its text."""
    return f"{context} {text}" if context else text


def table_rows(chunks: Sequence[Chunk], vectors: np.ndarray) -> list[dict]:
    """The table's rows for ``chunks`` (row i of ``vectors`` is chunk i's vector)."""
    return [
        c.model_dump() | {KEYWORD_COLUMN: search_text(c.context, c.text), "vector": v}
        for c, v in zip(chunks, vectors, strict=True)
    ]


def upgrade_table(table) -> None:
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
            index_keywords(table)


def index_keywords(table) -> None:
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
