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
  ``faiss`` for tens of millions of vectors or quantisation. ``nmslib`` is deprecated upstream
  and cannot filter inside the k-NN search, so filters there are applied after it.
- Folder filter: ``folder`` is copied into ``folder_path``, tokenised by ``path_hierarchy``
  ("Design/Criteria" → "Design", "Design/Criteria"), and filtered with one exact ``term``:
  "Design" matches "Design" and "Design/Criteria" but never "Design Extra" or "design".
- Writes: a document's new chunks are bulk-indexed first (``_id`` = chunk id, so a retried
  write is idempotent), then its other chunks are deleted by query. Search never sees the
  document missing; for a moment it may see old and new chunks side by side.
- Hybrid: ``client`` runs the vector and keyword queries in one ``_msearch`` and fuses them
  with reciprocal rank fusion, like the embedded store; ``pipeline`` sends one ``hybrid`` query
  through the ``ragbot-hybrid`` search pipeline (min-max normalisation, weighted arithmetic
  mean); ``auto`` picks the pipeline when the cluster is OpenSearch ≥ 2.10 with the
  neural-search plugin and lets us create the pipeline, else the client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from rag.errors import EmbeddingModelMismatch, StoreError
from rag.models import Chunk, ScoredChunk, SearchFilters, SearchMode
from rag.stores.base import DocumentInfo
from rag.stores.identifiers import identifier_phrases

log = logging.getLogger(__name__)

Engine = Literal["lucene", "faiss", "nmslib"]
HybridMode = Literal["auto", "pipeline", "client"]

PIPELINE = "ragbot-hybrid"
RRF_K = 60  # the constant of reciprocal rank fusion, as in LanceDB's RRFReranker
ENGINES = ("lucene", "faiss", "nmslib")
HYBRID_MODES = ("auto", "pipeline", "client")
NEURAL_SEARCH_PLUGIN = "opensearch-neural-search"
_SOURCE_EXCLUDES = ["vector"]


# -- request bodies ---------------------------------------------------------------------------
# Pure functions from our records to OpenSearch's documented JSON, tested without a cluster.


def index_body(
    dimension: int,
    *,
    engine: Engine = "lucene",
    space_type: str = "cosinesimil",
    m: int = 16,
    ef_construction: int = 100,
    embedding_model: str | None = None,
    shards: int | None = None,
    replicas: int | None = None,
) -> dict:
    """Settings and mappings of a new chunks index (``PUT /<index>``)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
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
                "text": {
                    "type": "text",
                    "analyzer": "english",
                    # No stemming and no stop words: "AS-1170" keeps its "as".
                    "fields": {"exact": {"type": "text", "analyzer": "standard"}},
                },
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
    """BM25 over the words of ``text``, plus a phrase clause for each identifier in it.

    Plain BM25 scores "21 13 01" like "21 01 13" (same tokens); the phrase clause lifts the
    passage holding the identifier as typed above its permutations.
    """
    should: list[dict] = [{"match": {"text": {"query": text}}}]
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
    filtered k-NN search over a few documents is exact.
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


def bulk_actions(index: str, chunks: Sequence[Chunk], vectors: np.ndarray, *, with_ids: bool = True) -> Iterator[dict]:
    """Index actions for ``helpers.streaming_bulk``: ``_id`` is the chunk id, so retries overwrite.

    ``with_ids=False`` leaves ``_id`` to the server, as Serverless vector collections require.
    """
    for chunk, vector in zip(chunks, vectors, strict=True):
        action = {
            "_op_type": "index",
            "_index": index,
            "_source": chunk.model_dump() | {"vector": np.asarray(vector, dtype=np.float32).tolist()},
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


def cosine_from_score(score: float, *, engine: Engine = "lucene", version: tuple[int, ...] | None = None) -> float:
    """The cosine similarity behind a ``cosinesimil`` k-NN score.

    OpenSearch scores ``(2 - d) / 2`` with ``d = 1 - cos``, i.e. ``(1 + cos) / 2``: Lucene always,
    Faiss (cosine exists from 2.19) and nmslib from 2.19. Before 2.19 nmslib scored
    ``1 / (1 + d)``. See https://docs.opensearch.org/latest/mappings/supported-field-types/knn-spaces/
    """
    if engine == "nmslib" and version is not None and version < (2, 19):
        cos = 2.0 - 1.0 / score if score > 0 else -1.0
    else:
        cos = 2.0 * score - 1.0
    return max(-1.0, min(1.0, cos))


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse rankings of ids: each id scores the sum of ``1 / (k + rank)`` (ranks from 1), best first.

    Ties keep the order in which ids first appear (the first ranking, then the second...),
    as LanceDB's RRFReranker does.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def parse_version(number: str) -> tuple[int, ...]:
    """``"2.19.1"`` → ``(2, 19, 1)``; suffixes such as ``-SNAPSHOT`` are dropped."""
    parts = []
    for part in number.split("-")[0].split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def redact_url(url: str) -> str:
    """``url`` without user and password, for messages and logs."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _reason(error: Exception) -> str:
    """The most specific reason OpenSearch gave for a failed request."""
    info = getattr(error, "info", None)
    if isinstance(info, dict):
        detail = info.get("error", info)
        if isinstance(detail, dict):
            root = (detail.get("root_cause") or [detail])[0]
            if isinstance(root, dict) and (root.get("type") or root.get("reason")):
                return f"{root.get('type', 'error')}: {root.get('reason', '')}".strip()
        if isinstance(detail, str):
            return detail
    if isinstance(info, Exception):
        return str(info)
    if info:
        return str(info)[:300]
    return str(getattr(error, "error", None) or error)


def _is_unreachable(error: BaseException | None) -> bool:
    from opensearchpy.exceptions import ConnectionError

    return isinstance(error, ConnectionError)


def _is_missing_index(error: Exception) -> bool:
    if getattr(error, "status_code", None) != 404:
        return False
    return "index_not_found" in f"{getattr(error, 'error', '')}{_reason(error)}"


# -- the store --------------------------------------------------------------------------------


class OpenSearchVectorStore:
    """Chunks in one OpenSearch index, searched by k-NN, BM25, or both fused.

    The client is created on first use, so constructing a store never touches the network.

    Args:
        url_or_hosts: the cluster's URL (``https://host:9200``), several separated by commas,
            or a list of them. A user and password in the URL are used for basic auth.
        index: the index (or an alias of it) holding the chunks.
        dimension: the embedding size, when known before the first write; vectors of any
            other size are refused.
        engine: the k-NN library: ``lucene`` (the default), ``faiss`` (the default on Serverless;
            cosine needs 2.19+) or ``nmslib`` (deprecated; filters apply after the k-NN search).
        space_type: the k-NN space; ``cosinesimil`` is what ``similarity`` is computed from.
        m, ef_construction: HNSW graph parameters of a new index.
        auth: ``(user, password)`` for basic auth, ``"sigv4"`` to sign requests with the AWS
            credentials boto3 finds (environment, profile, instance or task role), or None.
        region: the AWS region for SigV4 (default: boto3's configured region).
        service: ``es`` for Amazon OpenSearch Service, ``aoss`` for OpenSearch Serverless.
        verify_certs: check the server's TLS certificate. ca_certs: a CA bundle to check it with.
        timeout: seconds to wait for any request.
        hybrid: how ``mode="hybrid"`` fuses rankings: ``client`` (reciprocal rank fusion of one
            ``_msearch``), ``pipeline`` (a ``hybrid`` query through the ``ragbot-hybrid`` search
            pipeline) or ``auto`` (the pipeline when the cluster supports it).
        keyword_weight: the keyword share of the pipeline's weighted mean (vector gets the rest).
        candidates: how many results each side of a hybrid query contributes before fusion; also
            the k-NN search's ``k`` (Lucene explores only ``k`` candidates of the graph).
        chunk_size: documents per ``_bulk`` request.
        max_retries, initial_backoff: how often, and after how many seconds (doubling each time),
            documents rejected with 429 (too many requests) are sent again.
        shards, replicas: of a new index (None: the cluster's defaults).
    """

    supports_hybrid = True

    def __init__(
        self,
        url_or_hosts: str | Sequence[str],
        index: str = "ragbot-chunks",
        *,
        dimension: int | None = None,
        engine: Engine | None = None,
        space_type: str = "cosinesimil",
        m: int = 16,
        ef_construction: int = 100,
        auth: tuple[str, str] | Literal["sigv4"] | None = None,
        region: str | None = None,
        service: Literal["es", "aoss"] = "es",
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 30.0,
        hybrid: HybridMode = "auto",
        keyword_weight: float = 0.5,
        candidates: int = 50,
        chunk_size: int = 500,
        max_retries: int = 3,
        initial_backoff: float = 2.0,
        shards: int | None = None,
        replicas: int | None = None,
    ):
        if engine is None:
            engine = "faiss" if service == "aoss" else "lucene"  # Serverless vector collections run Faiss
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        if hybrid not in HYBRID_MODES:
            raise ValueError(f"hybrid must be one of {', '.join(HYBRID_MODES)}, not {hybrid!r}")
        if service not in ("es", "aoss"):
            raise ValueError(f"service must be 'es' or 'aoss', not {service!r}")
        if auth is not None and auth != "sigv4" and not (isinstance(auth, tuple) and len(auth) == 2):
            raise ValueError("auth must be (user, password), 'sigv4' or None")
        pipeline_body(keyword_weight)  # validates the weight now rather than at the first search
        hosts = [h.strip() for h in url_or_hosts.split(",")] if isinstance(url_or_hosts, str) else list(url_or_hosts)
        hosts = [h for h in hosts if h]
        if not hosts:
            raise ValueError("url_or_hosts is empty: give the cluster's URL, e.g. https://localhost:9200")
        self.hosts = hosts
        self.url = redact_url(hosts[0])
        self.index = index
        self.dimension = dimension
        self.engine: Engine = engine
        self.space_type = space_type
        self.m = m
        self.ef_construction = ef_construction
        self.auth = auth
        self.region = region
        self.service = service
        self.verify_certs = verify_certs
        self.ca_certs = ca_certs
        self.timeout = timeout
        self.hybrid = hybrid
        self.keyword_weight = keyword_weight
        self.candidates = candidates
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.shards = shards
        self.replicas = replicas
        self._client = None
        self._lock = threading.RLock()
        self._index_ready = False
        self._index_dimension: int | None = None
        self._cluster: dict | None = None
        self._hybrid_mode: str | None = None
        self._unrefreshed: set[str] = set()

    def __repr__(self) -> str:
        return f"OpenSearchVectorStore(url={self.url!r}, index={self.index!r}, engine={self.engine!r})"

    @property
    def serverless(self) -> bool:
        return self.service == "aoss"

    # -- connection ---------------------------------------------------------------------------

    def client(self):
        """The ``opensearchpy.OpenSearch`` client, created on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self):
        try:
            from opensearchpy import OpenSearch
        except ImportError as e:
            raise StoreError(
                "The OpenSearch store needs opensearch-py. Install it with `pip install opensearch-py`."
            ) from e
        kwargs: dict[str, Any] = {
            "hosts": self.hosts,
            "verify_certs": self.verify_certs,
            "timeout": self.timeout,
            "max_retries": 2,
            "retry_on_timeout": True,
            # Vectors as JSON compress about 3:1; Serverless is not documented to take gzip bodies.
            "http_compress": not self.serverless,
        }
        if self.ca_certs:
            kwargs["ca_certs"] = self.ca_certs
        if self.auth == "sigv4":
            kwargs["http_auth"] = self._sigv4_auth()
        elif self.auth is not None:
            kwargs["http_auth"] = tuple(self.auth)
        return OpenSearch(**kwargs)

    def _sigv4_auth(self):
        try:
            import boto3
            from opensearchpy import Urllib3AWSV4SignerAuth
        except ImportError as e:
            raise StoreError("SigV4 signing needs boto3. Install it with `pip install boto3`.") from e
        session = boto3.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise StoreError(
                "auth='sigv4' but boto3 found no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE, or run with an instance or task role."
            )
        region = self.region or session.region_name
        if not region:
            raise StoreError("auth='sigv4' needs an AWS region: set the store's region or AWS_REGION.")
        # The urllib3 signer signs each request with fresh credentials (roles rotate them).
        return Urllib3AWSV4SignerAuth(credentials, region, self.service)

    def close(self) -> None:
        """Close the client's connections (a later call opens new ones)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    @contextmanager
    def _errors(self, doing: str):
        """Turn opensearch-py's exceptions into StoreErrors that say what to do."""
        from opensearchpy.exceptions import (
            AuthenticationException,
            AuthorizationException,
            ConnectionError,
            ConnectionTimeout,
            SSLError,
            TransportError,
        )

        try:
            yield
        except StoreError:
            raise
        except ConnectionTimeout as e:
            raise StoreError(
                f"OpenSearch at {self.url} did not answer within {self.timeout:g} s while trying to {doing}."
            ) from e
        except SSLError as e:
            raise StoreError(
                f"TLS to OpenSearch at {self.url} failed while trying to {doing}: {_reason(e)}. "
                "Give the cluster's CA bundle, or turn certificate checks off for a test cluster."
            ) from e
        except ConnectionError as e:
            raise StoreError(
                f"Could not reach OpenSearch at {self.url} to {doing}: {_reason(e)}. "
                "Check that the cluster is running and that OPENSEARCH_URL points at it."
            ) from e
        except AuthenticationException as e:
            how = "the AWS credentials and region (SigV4)" if self.auth == "sigv4" else "the user name and password"
            raise StoreError(
                f"OpenSearch at {self.url} rejected the credentials (HTTP 401) while trying to {doing}: check {how}."
            ) from e
        except AuthorizationException as e:
            raise StoreError(
                f"OpenSearch at {self.url} refused to let this user {doing} (HTTP 403): {_reason(e)}. "
                "Grant the permissions listed in the README."
            ) from e
        except TransportError as e:
            raise StoreError(f"OpenSearch could not {doing} (HTTP {e.status_code}): {_reason(e)}") from e

    def _cluster_info(self) -> dict:
        """Version and plugins of the cluster, asked once; empty for Serverless, which has neither."""
        if self._cluster is None:
            info: dict[str, Any] = {"version": None, "distribution": None, "plugins": set()}
            if not self.serverless:
                with self._errors("read the cluster's version"):
                    about = self.client().info()
                version = about.get("version", {})
                info["version"] = parse_version(version.get("number", "0"))
                info["distribution"] = version.get("distribution", "elasticsearch")
                try:
                    with self._errors("list the cluster's plugins"):
                        rows = self.client().cat.plugins(format="json")
                    info["plugins"] = {row.get("component") for row in rows}
                except StoreError as e:  # a user without monitor rights still gets the client fusion
                    log.info("could not list plugins, assuming none: %s", e)
            self._cluster = info
        return self._cluster

    # -- the index ----------------------------------------------------------------------------

    def _mapping(self) -> dict | None:
        """The index's mappings, or None when the index does not exist."""
        from opensearchpy.exceptions import NotFoundError

        try:
            with self._errors(f"read the mapping of index '{self.index}'"):
                response = self.client().indices.get_mapping(index=self.index)
        except StoreError as e:
            if isinstance(e.__cause__, NotFoundError):
                return None
            raise
        # Keyed by the concrete index name, which differs from self.index behind an alias.
        return next(iter(response.values()), {}).get("mappings", {})

    def embedding_model(self) -> dict | None:
        """``{"embedding_model", "dimension"}`` the index was built with; None for a new index."""
        mapping = self._mapping()
        if mapping is None:
            return None
        meta = dict(mapping.get("_meta") or {})
        vector = mapping.get("properties", {}).get("vector", {})
        meta.setdefault("dimension", vector.get("dimension"))
        return meta

    def _create_index(self, dimension: int, embedding_model: str | None = None) -> bool:
        """Create the index; False when another writer created it first."""
        from opensearchpy.exceptions import RequestError

        body = index_body(
            dimension,
            engine=self.engine,
            space_type=self.space_type,
            m=self.m,
            ef_construction=self.ef_construction,
            embedding_model=embedding_model,
            shards=self.shards,
            replicas=self.replicas,
        )
        try:
            with self._errors(f"create index '{self.index}'"):
                self.client().indices.create(index=self.index, body=body)
        except StoreError as e:
            if not (isinstance(e.__cause__, RequestError) and "resource_already_exists" in str(e.__cause__.error)):
                raise
            return False
        log.info("created OpenSearch index %s (%d dimensions, %s)", self.index, dimension, self.engine)
        self._index_ready = True
        self._index_dimension = dimension
        return True

    def _ensure_index(self, dimension: int) -> None:
        """Create the index for ``dimension``-sized vectors, or check that it holds them."""
        if not self._index_ready:
            with self._lock:
                if not self._index_ready:
                    meta = self.embedding_model()
                    if meta is None and not self._create_index(dimension):
                        meta = self.embedding_model() or {}  # another writer created it first
                    if meta is not None:
                        self._index_ready = True
                        self._index_dimension = meta.get("dimension")
        if self._index_dimension is not None and self._index_dimension != dimension:
            raise StoreError(
                f"The OpenSearch index '{self.index}' holds {self._index_dimension}-dimensional vectors, "
                f"not {dimension}: the embedding model changed. "
                "Re-index into a new OpenSearch index (RAGBOT_OPENSEARCH_INDEX)."
            )

    def check_embedding_model(self, model_id: str, dimension: int) -> None:
        meta = self.embedding_model()
        if meta is None:
            if self.dimension is not None and self.dimension != dimension:
                raise EmbeddingModelMismatch(
                    f"The store is configured for {self.dimension} dimensions but the embedding model "
                    f"'{model_id}' has {dimension}."
                )
            with self._lock:
                if self._create_index(dimension, embedding_model=model_id):
                    return
            meta = self.embedding_model() or {}  # another writer created it: check theirs
        self._index_ready = True
        built_dimension = None if meta.get("dimension") is None else int(meta["dimension"])
        built_with = meta.get("embedding_model")
        self._index_dimension = built_dimension
        if built_dimension not in (None, dimension) or built_with not in (None, model_id):
            hint = f"Set RAGBOT_EMBEDDING_MODEL={built_with}, or re-index" if built_with else "Re-index"
            raise EmbeddingModelMismatch(
                f"The OpenSearch index '{self.index}' at {self.url} was built with embedding model "
                f"'{built_with or 'unrecorded'}' ({built_dimension} dimensions) but the configured model is "
                f"'{model_id}' ({dimension} dimensions). {hint} into a new OpenSearch index (RAGBOT_OPENSEARCH_INDEX)."
            )
        if built_with is None:
            # Chunks were written before any model was bound: record the model now.
            with self._errors(f"record the embedding model on index '{self.index}'"):
                self.client().indices.put_mapping(
                    index=self.index, body={"_meta": meta | {"embedding_model": model_id, "dimension": dimension}}
                )

    # -- writes -------------------------------------------------------------------------------

    def write_document(self, source: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> int:
        vectors = np.asarray(vectors)
        if len(chunks) != len(vectors):
            raise StoreError(f"{len(chunks)} chunks but {len(vectors)} vectors for {source}")
        if chunks:
            if vectors.ndim != 2:
                raise StoreError(f"vectors for {source} must be a 2-D array, not {vectors.ndim}-D")
            dimension = int(vectors.shape[1])
            if self.dimension is not None and dimension != self.dimension:
                raise StoreError(
                    f"vectors for {source} have {dimension} dimensions; the store expects {self.dimension}"
                )
            self._ensure_index(dimension)
        elif not self._index_exists():
            return 0
        # Deletes only see refreshed chunks: make this document's last write visible first.
        if source in self._unrefreshed:
            self.refresh()
        if self.serverless:
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
        return len(chunks)

    def _delete_chunks(self, source: str, keep_ids: Sequence[str]) -> None:
        with self._errors(f"remove the old chunks of {source}"):
            self.client().delete_by_query(index=self.index, body=prune_query(source, keep_ids), conflicts="proceed")

    def _bulk(self, source: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        from opensearchpy import helpers

        errors = []
        with self._errors(f"index the chunks of {source}"):
            for ok, item in helpers.streaming_bulk(
                self.client(),
                bulk_actions(self.index, chunks, vectors, with_ids=not self.serverless),
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

    def delete_documents(self, sources: Sequence[str]) -> int:
        sources = list(dict.fromkeys(sources))
        if not sources or not self._index_exists():
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
            response = self._read("look up documents to delete", self.client().search, index=self.index, body=body)
            if response is None:
                return removed
            present = [b["key"] for b in response.get("aggregations", {}).get("present", {}).get("buckets", [])]
            if not present:
                continue
            with self._errors(f"delete {len(present)} documents"):
                self.client().delete_by_query(
                    index=self.index, body={"query": {"terms": {"source": present}}}, conflicts="proceed"
                )
            removed += len(present)
        return removed

    def refresh(self) -> None:
        with self._lock:
            self._unrefreshed.clear()
        if self.serverless:  # Serverless refreshes on its own and has no _refresh API
            return
        from opensearchpy.exceptions import NotFoundError

        try:
            with self._errors(f"refresh index '{self.index}'"):
                self.client().indices.refresh(index=self.index)
        except StoreError as e:
            if not isinstance(e.__cause__, NotFoundError):
                raise

    # -- reads --------------------------------------------------------------------------------

    def _index_exists(self) -> bool:
        if self._index_ready:
            return True
        with self._errors(f"check index '{self.index}'"):
            exists = bool(self.client().indices.exists(index=self.index))
        self._index_ready = exists
        return exists

    def _read(self, doing: str, call, *args, **kwargs):
        """Run a read; a missing index reads as None (an empty store), not an error."""
        try:
            with self._errors(doing):
                return call(*args, **kwargs)
        except StoreError as e:
            if _is_missing_index(e.__cause__):
                self._index_ready = False
                return None
            raise

    def count(self) -> int:
        response = self._read("count chunks", self.client().count, index=self.index)
        return 0 if response is None else int(response["count"])

    def documents(self) -> dict[str, DocumentInfo]:
        docs: dict[str, DocumentInfo] = {}
        after = None
        while True:
            response = self._read("list documents", self.client().search, index=self.index, body=documents_body(after))
            if response is None:
                return {}
            page, after = parse_documents(response)
            docs.update(page)
            if not after:
                return docs

    def search(
        self,
        text: str,
        vector: np.ndarray | None,
        *,
        k: int = 5,
        mode: SearchMode = "hybrid",
        filters: SearchFilters | None = None,
    ) -> list[ScoredChunk]:
        if mode not in ("hybrid", "vector", "keyword"):
            raise StoreError(f"unknown search mode {mode!r}: use hybrid, vector or keyword")
        if k <= 0:
            return []
        if mode != "keyword" and vector is None:
            raise StoreError(f"a {mode} search needs a query vector")
        query_vector = None if vector is None else np.asarray(vector, dtype=np.float32).tolist()
        if mode == "keyword":
            hits = self._search(keyword_query(text, filters), k, doing="run a keyword search")
            return [] if hits is None else [self._scored(h, keyword=h["_score"], score=h["_score"]) for h in hits]
        if mode == "vector":
            hits = self._search(self._knn(query_vector, k, filters), k, doing="run a vector search")
            if hits is None:
                return []
            results = []
            for h in hits:
                similarity = self._similarity(h["_score"])
                results.append(self._scored(h, similarity=similarity, score=similarity))
            return results
        if self._resolve_hybrid() == "pipeline":
            return self._hybrid_pipeline(text, query_vector, k, filters)
        return self._hybrid_client(text, query_vector, k, filters)

    def _knn(self, vector: list[float], k: int, filters: SearchFilters | None) -> dict:
        # Lucene's HNSW explores only `k` candidates: ask for at least `candidates` of them.
        return knn_query(vector, max(k, self.candidates), filters, engine=self.engine)

    def _search(self, query: dict, size: int, *, doing: str, **params) -> list[dict] | None:
        response = self._read(doing, self.client().search, index=self.index, body=search_body(query, size), **params)
        return None if response is None else response["hits"]["hits"][:size]

    def _msearch(self, bodies: Sequence[dict], doing: str) -> list[list[dict]] | None:
        lines: list[dict] = []
        for body in bodies:
            lines += [{"index": self.index}, body]
        response = self._read(doing, self.client().msearch, body=lines)
        if response is None:
            return None
        results = []
        for item in response["responses"]:
            if "error" in item:
                error = item["error"]
                kind = error.get("type", "") if isinstance(error, dict) else str(error)
                if "index_not_found" in kind:
                    self._index_ready = False
                    return None
                reason = (error.get("root_cause") or [error])[0].get("reason", "") if isinstance(error, dict) else ""
                raise StoreError(f"OpenSearch could not {doing} (HTTP {item.get('status')}): {kind}: {reason}")
            results.append(item["hits"]["hits"])
        return results

    def _hybrid_client(
        self, text: str, vector: list[float], k: int, filters: SearchFilters | None
    ) -> list[ScoredChunk]:
        limit = max(k, self.candidates)
        both = self._msearch(
            [search_body(self._knn(vector, limit, filters), limit), search_body(keyword_query(text, filters), limit)],
            "run a hybrid search",
        )
        if both is None:
            return []
        vector_hits, keyword_hits = both
        hits = {h["_id"]: h for h in [*vector_hits, *keyword_hits]}
        similarity = {h["_id"]: self._similarity(h["_score"]) for h in vector_hits}
        bm25 = {h["_id"]: float(h["_score"]) for h in keyword_hits}
        fused = reciprocal_rank_fusion([[h["_id"] for h in vector_hits], [h["_id"] for h in keyword_hits]])
        return [
            self._scored(hits[doc_id], score=score, similarity=similarity.get(doc_id), keyword=bm25.get(doc_id))
            for doc_id, score in fused[:k]
        ]

    def _hybrid_pipeline(
        self, text: str, vector: list[float], k: int, filters: SearchFilters | None
    ) -> list[ScoredChunk]:
        limit = max(k, self.candidates)
        # Normalisation is only as good as its sample: each sub-query returns `limit` hits.
        hits = self._search(
            hybrid_query(text, vector, limit, filters, engine=self.engine),
            limit,
            doing="run a hybrid search",
            search_pipeline=PIPELINE,
        )
        if not hits:
            return []
        hits = hits[:k]
        ids = [h["_id"] for h in hits]
        # The fused score hides each side's evidence; ask for both, restricted to these hits.
        bodies = evidence_bodies(text, vector, ids, engine=self.engine)
        evidence = self._msearch(bodies, "score the hybrid results") or [[], []]
        similarity = {h["_id"]: self._similarity(h["_score"]) for h in evidence[0]}
        bm25 = {h["_id"]: float(h["_score"]) for h in evidence[1]}
        return [
            self._scored(h, score=float(h["_score"]), similarity=similarity.get(h["_id"]), keyword=bm25.get(h["_id"]))
            for h in hits
        ]

    def _resolve_hybrid(self) -> str:
        """``pipeline`` or ``client``, decided at the first hybrid search of this store."""
        if self._hybrid_mode is None:
            mode = self.hybrid
            if mode == "pipeline":
                self._put_pipeline()
            elif mode == "auto":
                mode = "client"
                if not self.serverless:  # Serverless has no search pipelines
                    try:
                        if self._pipeline_supported():
                            self._put_pipeline()
                            mode = "pipeline"
                    except StoreError as e:
                        if _is_unreachable(e.__cause__):
                            raise  # decide once the cluster answers
                        log.warning("hybrid search falls back to client-side fusion: %s", e)
            self._hybrid_mode = mode
        return self._hybrid_mode

    def _pipeline_supported(self) -> bool:
        cluster = self._cluster_info()
        return (
            cluster["distribution"] == "opensearch"
            and cluster["version"] is not None
            and cluster["version"] >= (2, 10)
            and NEURAL_SEARCH_PLUGIN in cluster["plugins"]
        )

    def _put_pipeline(self) -> None:
        with self._errors(f"create the search pipeline '{PIPELINE}'"):
            self.client().search_pipeline.put(id=PIPELINE, body=pipeline_body(self.keyword_weight))

    def _similarity(self, score: float) -> float:
        version = self._cluster_info().get("version") if self.engine == "nmslib" else None
        return cosine_from_score(float(score), engine=self.engine, version=version)

    @staticmethod
    def _scored(
        hit: dict, *, score: float, similarity: float | None = None, keyword: float | None = None
    ) -> ScoredChunk:
        source = hit["_source"]
        chunk = Chunk(**{f: source[f] for f in Chunk.model_fields if f in source})
        return ScoredChunk(
            chunk=chunk,
            score=float(score),
            similarity=similarity,
            keyword_score=None if keyword is None else float(keyword),
        )
