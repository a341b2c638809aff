"""The store at scale: OpenSearch 2.x/3.x with the k-NN plugin.

One index holds one document per chunk: the chunk's fields, its embedding in a ``knn_vector``
field (HNSW), and its text analysed twice, once with the ``english`` analyser for BM25 over
natural-language questions and once with the ``standard`` analyser (``text.exact``) for the
phrase clauses that find identifiers as typed ("21 01 13", "HEA06", "DD-114").

Design notes (each is pinned by tests/rag/stores/test_opensearch_bodies.py):

- Engine: ``lucene`` by default. It supports ``cosinesimil`` on every 2.x cluster (Faiss only
  from 2.19, by normalising vectors into inner product), filters inside the HNSW search since
  2.4 (Faiss since 2.9), scores cosine as ``(1 + cos) / 2`` on every version, and needs no
  native memory outside the JVM. It suits the few-million-chunk corpora ragbot targets; pick
  ``faiss`` for tens of millions of vectors or quantisation (with ``innerproduct`` before 2.19,
  which has no Faiss cosine). ``nmslib`` is deprecated upstream, cannot filter inside the k-NN
  search (filters there are applied after it), and is refused on 3.x, which cannot create it.
- Folder filter: ``folder`` is copied into ``folder_path``, tokenised by ``path_hierarchy``
  ("Design/Criteria" → "Design", "Design/Criteria"), and filtered with one exact ``term``:
  "Design" matches "Design" and "Design/Criteria" but never "Design Extra" or "design".
- Writes: a document's new chunks are bulk-indexed first (``_id`` = chunk id, so a retried
  write is idempotent), then its other chunks are deleted by query. Search never sees the
  document missing; for a moment it may see old and new chunks side by side. Serverless allows
  neither custom ids nor ``_delete_by_query``: there writes are versions (``serverless.py``).
- Hybrid: ``client`` runs the vector and keyword queries in one ``_msearch`` and fuses their
  scores with per-query weights, like the embedded store; ``pipeline`` sends one ``hybrid`` query
  through the ``ragbot-hybrid`` search pipeline (min-max normalisation, weighted arithmetic
  mean); ``auto`` picks the pipeline when the cluster is OpenSearch ≥ 2.10 with the
  neural-search plugin and lets us create the pipeline, else the client.

The package: ``bodies`` (request bodies as pure functions), ``connection`` (client, auth,
errors, what the cluster is), ``index`` (creation and the embedding model bound to it),
``writes`` (replacing and deleting documents; ``serverless`` on OpenSearch Serverless),
``search`` (k-NN, BM25, fusion) and ``store``
(``OpenSearchVectorStore``, which puts them together).
"""

from rag.stores.opensearch.bodies import (
    ENGINES,
    SPACE_TYPES,
    Engine,
    SpaceType,
    bulk_actions,
    cosine_from_score,
    documents_body,
    evidence_bodies,
    filter_clauses,
    hybrid_query,
    identifier_phrases,
    index_body,
    keyword_query,
    knn_query,
    parse_documents,
    pipeline_body,
    prune_query,
    search_body,
)
from rag.stores.opensearch.connection import parse_version, redact_url
from rag.stores.opensearch.search import HYBRID_MODES, NEURAL_SEARCH_PLUGIN, PIPELINE, HybridMode
from rag.stores.opensearch.store import OpenSearchVectorStore

__all__ = [
    "ENGINES",
    "HYBRID_MODES",
    "NEURAL_SEARCH_PLUGIN",
    "PIPELINE",
    "SPACE_TYPES",
    "Engine",
    "HybridMode",
    "OpenSearchVectorStore",
    "SpaceType",
    "bulk_actions",
    "cosine_from_score",
    "documents_body",
    "evidence_bodies",
    "filter_clauses",
    "hybrid_query",
    "identifier_phrases",
    "index_body",
    "keyword_query",
    "knn_query",
    "parse_documents",
    "parse_version",
    "pipeline_body",
    "prune_query",
    "redact_url",
    "search_body",
]
