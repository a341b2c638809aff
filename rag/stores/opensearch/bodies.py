"""Request bodies of the OpenSearch store as pure functions, and the arithmetic on what comes back.

Each function turns our records into OpenSearch's documented JSON (or reads its answers) and
touches no network, so tests/rag/stores/test_opensearch_bodies.py pins every one of them
without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from rag.records import Chunk, SearchFilters
from rag.stores.base import DocumentInfo
from rag.stores.identifiers import identifier_phrases

Engine = Literal["lucene", "faiss", "nmslib"]
SpaceType = Literal["cosinesimil", "innerproduct", "l2"]

ENGINES = ("lucene", "faiss", "nmslib")
# Every embedder ragbot has returns unit-length vectors, on which the three spaces rank alike;
# each score is turned back into the cosine similarity (see cosine_from_score).
SPACE_TYPES = ("cosinesimil", "innerproduct", "l2")
_SOURCE_EXCLUDES = ["vector"]


def index_body(
    dimension: int,
    *,
    engine: Engine = "lucene",
    space_type: SpaceType = "cosinesimil",
    m: int = 16,
    ef_construction: int = 100,
    embedding_model: str | None = None,
    shards: int | None = None,
    replicas: int | None = None,
) -> dict:
    """Settings and mappings of a new chunks index (``PUT /<index>``)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if space_type not in SPACE_TYPES:
        raise ValueError(f"space_type must be one of {', '.join(SPACE_TYPES)}, not {space_type!r}")
    if dimension <= 0:
        raise ValueError(f"dimension must be positive, not {dimension}")
    index_settings: dict[str, Any] = {"knn": True}
    if shards is not None:
        index_settings["number_of_shards"] = shards
    if replicas is not None:
        index_settings["number_of_replicas"] = replicas
    meta: dict[str, Any] = {"dimension": dimension, "engine": engine, "space_type": space_type}
    if embedding_model is not None:
        meta["embedding_model"] = embedding_model
    return {
        "settings": {
            "index": index_settings,
            "analysis": {
                "tokenizer": {"folder_tree": {"type": "path_hierarchy", "delimiter": "/"}},
                "analyzer": {"folder_tree": {"type": "custom", "tokenizer": "folder_tree"}},
            },
        },
        "mappings": {
            "_meta": meta,
            "properties": {
                "id": {"type": "keyword"},
                "source": {"type": "keyword"},
                "folder": {"type": "keyword", "copy_to": "folder_path"},
                # Every ancestor of the folder as one token; queried with `term` only.
                "folder_path": {"type": "text", "analyzer": "folder_tree", "search_analyzer": "keyword"},
                "page": {"type": "integer"},
                "chunk_index": {"type": "integer"},
                "doc_hash": {"type": "keyword"},
                # Serverless writes: which write of the document a chunk belongs to, and how many
                # chunks that write has (0: the document was deleted). See serverless.py.
                "version": {"type": "keyword"},
                "chunk_count": {"type": "integer"},
                "text": {
                    "type": "text",
                    "analyzer": "english",
                    # No stemming and no stop words: "AS-1170" keeps its "as".
                    "fields": {"exact": {"type": "text", "analyzer": "standard"}},
                },
                # Title, folder and heading: searched with the text as one field (keyword_query).
                "context": {"type": "text", "analyzer": "english"},
                "vector": {
                    "type": "knn_vector",
                    "dimension": dimension,
                    "method": {
                        "name": "hnsw",
                        "engine": engine,
                        "space_type": space_type,
                        "parameters": {"m": m, "ef_construction": ef_construction},
                    },
                },
            },
        },
    }


def filter_clauses(filters: SearchFilters | None) -> list[dict]:
    """Filters as exact term clauses (an empty list when there is nothing to filter).

    Values go into the JSON as they are, so quotes or ``OR 1=1`` are just characters.
    """
    if filters is None or filters.is_empty():
        return []
    clauses = []
    if filters.folder:
        clauses.append({"term": {"folder_path": filters.folder.strip("/")}})
    if filters.source:
        clauses.append({"term": {"source": filters.source}})
    return clauses


def _filter_query(clauses: list[dict]) -> dict:
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def keyword_query(text: str, filters: SearchFilters | None = None) -> dict:
    """BM25 over the words of ``text`` in each chunk's context and text, plus a phrase clause for
    each identifier in it.

    ``cross_fields`` scores context and text as one field, as the embedded store's one BM25
    column does: scored apart, a title word in a short context outranked the page that answers
    (bench/RESULTS.md). Plain BM25 scores "21 13 01" like "21 01 13" (same tokens); the phrase
    clause lifts the passage holding the identifier as typed above its permutations.
    """
    # https://docs.opensearch.org/latest/query-dsl/full-text/multi-match/#cross_fields
    should: list[dict] = [{"multi_match": {"query": text, "fields": ["text", "context"], "type": "cross_fields"}}]
    should += [{"match_phrase": {"text.exact": {"query": p}}} for p in identifier_phrases(text)]
    query: dict[str, Any] = {"should": should, "minimum_should_match": 1}
    clauses = filter_clauses(filters)
    if clauses:
        query["filter"] = clauses
    return {"bool": query}


def knn_query(
    vector: Sequence[float], k: int, filters: SearchFilters | None = None, *, engine: Engine = "lucene"
) -> dict:
    """A k-NN query; filters go inside it (efficient filtering) except on nmslib, which cannot."""
    clause: dict[str, Any] = {"vector": [float(x) for x in vector], "k": k}
    clauses = filter_clauses(filters)
    if clauses and engine != "nmslib":
        clause["filter"] = _filter_query(clauses)
    query = {"knn": {"vector": clause}}
    if clauses and engine == "nmslib":
        return {"bool": {"must": [query], "filter": clauses}}
    return query


def search_body(query: dict, size: int, *, source: bool = True) -> dict:
    return {"size": size, "query": query, "_source": {"excludes": _SOURCE_EXCLUDES} if source else False}


def hybrid_query(
    text: str, vector: Sequence[float], k: int, filters: SearchFilters | None = None, *, engine: Engine = "lucene"
) -> dict:
    """A ``hybrid`` query: keyword first, vector second (the order of the pipeline's weights).

    Filters go into each sub-query: the hybrid query's own ``filter`` is newer than 2.10.
    """
    return {"hybrid": {"queries": [keyword_query(text, filters), knn_query(vector, k, filters, engine=engine)]}}


def evidence_bodies(text: str, vector: Sequence[float], ids: Sequence[str], *, engine: Engine = "lucene") -> list[dict]:
    """The k-NN and BM25 scores of the given hits only: what a fused hybrid score hides.

    An ``ids`` filter does not change a hit's score: BM25 statistics are per shard, and a
    filtered k-NN search over a few documents is exact on lucene and faiss (nmslib filters after
    its approximate search, so it may miss some).
    """
    only = {"ids": {"values": list(ids)}}
    if engine == "nmslib":
        knn = {"bool": {"must": [{"knn": {"vector": {"vector": list(vector), "k": len(ids)}}}], "filter": [only]}}
    else:
        knn = {"knn": {"vector": {"vector": list(vector), "k": len(ids), "filter": only}}}
    keyword = {"bool": {"must": [keyword_query(text)], "filter": [only]}}
    return [search_body(knn, len(ids), source=False), search_body(keyword, len(ids), source=False)]


def pipeline_body(keyword_weight: float = 0.5) -> dict:
    """The ``ragbot-hybrid`` search pipeline (``PUT /_search/pipeline/ragbot-hybrid``)."""
    if not 0.0 <= keyword_weight <= 1.0:
        raise ValueError(f"keyword_weight must be between 0 and 1, not {keyword_weight}")
    return {
        "description": "ragbot: min-max normalised BM25 and k-NN scores, weighted mean (keyword, vector)",
        "phase_results_processors": [
            {
                "normalization-processor": {
                    "normalization": {"technique": "min_max"},
                    "combination": {
                        "technique": "arithmetic_mean",
                        "parameters": {"weights": [keyword_weight, round(1.0 - keyword_weight, 6)]},
                    },
                }
            }
        ],
    }


def bulk_actions(
    index: str, chunks: Sequence[Chunk], vectors: np.ndarray, *, with_ids: bool = True, version: str | None = None
) -> Iterator[dict]:
    """Index actions for ``helpers.streaming_bulk``: ``_id`` is the chunk id, so retries overwrite.

    ``with_ids=False`` leaves ``_id`` to the server, as Serverless vector collections require;
    ``version`` then tags each chunk with its write and the write's chunk count.
    """
    extra: dict[str, Any] = {} if version is None else {"version": version, "chunk_count": len(chunks)}
    for chunk, vector in zip(chunks, vectors, strict=True):
        action = {
            "_op_type": "index",
            "_index": index,
            "_source": chunk.model_dump() | extra | {"vector": np.asarray(vector, dtype=np.float32).tolist()},
        }
        if with_ids:
            action["_id"] = chunk.id
        yield action


def prune_query(source: str, keep_ids: Sequence[str]) -> dict:
    """Every chunk of ``source`` but ``keep_ids`` (the chunks just written)."""
    query: dict[str, Any] = {"filter": [{"term": {"source": source}}]}
    if keep_ids:
        query["must_not"] = [{"ids": {"values": list(keep_ids)}}]
    return {"query": {"bool": query}}


def documents_body(after: dict | None = None, page_size: int = 1000) -> dict:
    """One page of the per-document summary: a composite aggregation over ``source``."""
    composite: dict[str, Any] = {"size": page_size, "sources": [{"source": {"terms": {"field": "source"}}}]}
    if after:
        composite["after"] = after
    return {
        "size": 0,
        "aggs": {
            "docs": {
                "composite": composite,
                "aggs": {
                    # `max` works on numbers only; the greatest keyword is the first in descending order.
                    "doc_hash": {"terms": {"field": "doc_hash", "size": 1, "order": {"_key": "desc"}}},
                    "pages": {"cardinality": {"field": "page"}},
                },
            }
        },
    }


def parse_documents(response: dict) -> tuple[dict[str, DocumentInfo], dict | None]:
    """Documents of one composite page, and the ``after_key`` of the next (None at the end)."""
    agg = response.get("aggregations", {}).get("docs", {})
    docs = {}
    for bucket in agg.get("buckets", []):
        source = bucket["key"]["source"]
        hashes = bucket["doc_hash"]["buckets"]
        docs[source] = DocumentInfo(
            source=source,
            doc_hash=hashes[0]["key"] if hashes else "",
            chunks=bucket["doc_count"],
            pages=bucket["pages"]["value"] or 1,  # page-less formats are one page
        )
    return docs, (agg.get("after_key") if docs else None)


def cosine_from_score(
    score: float,
    *,
    engine: Engine = "lucene",
    version: tuple[int, ...] | None = None,
    space_type: SpaceType = "cosinesimil",
) -> float:
    """The cosine similarity behind a k-NN score (vectors of unit length for the other spaces).

    ``cosinesimil``: OpenSearch scores ``(2 - d) / 2`` with ``d = 1 - cos``, i.e. ``(1 + cos) / 2``:
    Lucene always, Faiss (cosine exists from 2.19) and nmslib from 2.19; nmslib before 2.19
    scored ``1 / (1 + d)``. ``innerproduct``: ``1 + ip`` when ``ip >= 0``, else ``1 / (1 - ip)``.
    ``l2``: ``1 / (1 + d)`` with ``d`` the squared distance, ``2 - 2 cos`` for unit vectors.
    See https://docs.opensearch.org/latest/mappings/supported-field-types/knn-spaces/
    """
    if space_type == "innerproduct":
        cos = score - 1.0 if score >= 1.0 else (1.0 - 1.0 / score if score > 0 else -1.0)
    elif space_type == "l2":
        cos = 1.0 - (1.0 / score - 1.0) / 2.0 if score > 0 else -1.0
    elif engine == "nmslib" and version is not None and version < (2, 19):
        cos = 2.0 - 1.0 / score if score > 0 else -1.0
    else:
        cos = 2.0 * score - 1.0
    return max(-1.0, min(1.0, cos))
