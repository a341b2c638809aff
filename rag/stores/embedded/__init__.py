"""The embedded store: LanceDB on local disk.

LanceDB gives, in one embedded library with no server, what the protocol needs: an on-disk
columnar table, an ANN vector index (IVF-HNSW with scalar quantisation), a native BM25
full-text index, SQL filters pushed down before the vector search, and delete by predicate.
A hybrid query runs its vector and BM25 sides at once, inside LanceDB, and fuses them with
per-query weights (``rag.stores.fusion``).

``schema`` (the table's columns, a chunk's row, the keyword index, upgrades of older tables),
``queries`` (filters, the replacement of a document, the vector and BM25 queries, the identifier
boost) and ``store`` (``LanceDBVectorStore``).
"""

from rag.stores.embedded.queries import filter_sql, keyword_query, replace_document
from rag.stores.embedded.schema import RESULT_COLUMNS, search_text, table_rows
from rag.stores.embedded.store import LanceDBVectorStore

__all__ = [
    "RESULT_COLUMNS",
    "LanceDBVectorStore",
    "filter_sql",
    "keyword_query",
    "replace_document",
    "search_text",
    "table_rows",
]
