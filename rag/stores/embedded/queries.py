"""What the embedded store asks LanceDB: filters as SQL predicates, the replacement of one
document, the vector and BM25 queries of a search, and the reordering of keyword candidates that
hold an identifier of the question.

Searches go through LanceDB's async query API, handed to the event loop its sync API runs on
in one call (``run_queries``). The sync builders make about six hand-offs to that loop per query
(schema reads, execution, each batch) and ran the two sides from two Python threads: at 100k
chunks that was about a sixth of a hybrid query's time on two cores (bench/search_latency.py).
"""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pyarrow as pa
from lancedb.background_loop import LOOP

from rag.records import SearchFilters
from rag.stores.embedded.schema import KEYWORD_COLUMN, RESULT_COLUMNS
from rag.stores.identifiers import identifier_phrases


def quote(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def filter_sql(filters: SearchFilters | None) -> str | None:
    """Translate filters into a LanceDB SQL predicate (None when there is nothing to filter)."""
    if filters is None or filters.is_empty():
        return None
    clauses = []
    if filters.folder:
        folder = filters.folder.strip("/")
        like = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(f"(folder = {quote(folder)} OR folder LIKE {quote(like + '/%')})")
    if filters.source:
        clauses.append(f"source = {quote(filters.source)}")
    return " AND ".join(clauses)


def replace_document(table, source: str, rows: list[dict]) -> None:
    """One commit replaces the document: new chunks in, unchanged ones updated, the document's
    other chunks out. A failure leaves the old version whole."""
    (
        table.merge_insert("id")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .when_not_matched_by_source_delete(f"source = {quote(source)}")
        .execute(rows)
    )


def keyword_query(text: str):
    """BM25 over the words of ``text`` in each chunk's context and text.

    Identifiers are not phrase-queried here: phrase clauses made BM25 ten times slower at 100k
    chunks. ``boost_identifiers`` reorders the candidates instead.
    """
    from lancedb.query import MatchQuery

    return MatchQuery(text, KEYWORD_COLUMN)


def vector_search(table, vector, where: str | None, limit: int):
    """The async query of the ``limit`` chunks nearest to ``vector`` (cosine), with ``_distance``."""
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


def keyword_search(table, text: str, vector, where: str | None, limit: int):
    """BM25 over context and text; with the stored vectors when ``vector`` asks for similarities."""
    columns = [*RESULT_COLUMNS, "_score"] + ([] if vector is None else ["vector"])
    query = table._table.query().nearest_to_text(keyword_query(text))
    return (query.where(where) if where else query).select(columns).limit(limit)


def run_queries(*queries) -> list[pa.Table]:
    """The results of LanceDB async ``queries``, run at once in one hand-off to LanceDB's loop."""

    async def gather():
        return await asyncio.gather(*(q.to_arrow() for q in queries))

    return LOOP.run(gather())


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
