"""``OpenSearchVectorStore``: the vector store protocol over OpenSearch, put together from the
connection, the index, the writer and the searcher of this package."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np

from rag.errors import StoreError
from rag.records import Chunk, ScoredChunk, SearchFilters, SearchMode
from rag.stores.base import DocumentInfo
from rag.stores.opensearch.bodies import (
    ENGINES,
    SPACE_TYPES,
    Engine,
    SpaceType,
    documents_body,
    parse_documents,
    pipeline_body,
)
from rag.stores.opensearch.connection import Connection, Service
from rag.stores.opensearch.index import ChunkIndex
from rag.stores.opensearch.search import HYBRID_MODES, HybridMode, Searcher
from rag.stores.opensearch.serverless import VersionedWriter
from rag.stores.opensearch.writes import DocumentWriter

log = logging.getLogger(__name__)


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
        space_type: the k-NN space: ``cosinesimil`` (the default), ``innerproduct`` or ``l2``; the
            vectors ragbot writes are unit length, so all three rank alike and ``similarity`` is
            the cosine either way. Faiss has ``cosinesimil`` from OpenSearch 2.19 only: on older
            domains pick ``innerproduct`` (or Lucene).
        m, ef_construction: HNSW graph parameters of a new index.
        auth: ``(user, password)`` for basic auth, ``"sigv4"`` to sign requests with the AWS
            credentials boto3 finds (environment, profile, instance or task role), or None.
        region: the AWS region for SigV4 (default: boto3's configured region).
        service: ``es`` for Amazon OpenSearch Service, ``aoss`` for OpenSearch Serverless.
        verify_certs: check the server's TLS certificate. ca_certs: a CA bundle to check it with.
        timeout: seconds to wait for any request.
        hybrid: how ``mode="hybrid"`` fuses rankings: ``client`` (the embedded store's per-query
            score fusion over one ``_msearch``), ``pipeline`` (a ``hybrid`` query through the ``ragbot-hybrid`` search
            pipeline; one fixed weight) or ``auto`` (the pipeline when the cluster supports it). The
            default is ``client``: on the real-document questions of bench/tune_fusion.py the
            pipeline's fixed weight fell below keyword-only on the manuals (hit@5 0.950 against
            0.975).
        keyword_weight: the keyword share of the pipeline's weighted mean (vector gets the rest).
        candidates: how many results each side of a hybrid query contributes before fusion.
        ef_search: how many candidates a k-NN search explores (the query's ``k``, at least this;
            Lucene explores only ``k`` of each segment's graph). On the real manuals, 50 missed
            1.5-6.4% of the true top 5 over three builds of the index, and two vector-mode
            questions of 60 their page; 200 missed 0-0.6% (bench/RESULTS.md).
        chunk_size: documents per ``_bulk`` request.
        max_retries, initial_backoff: how often, and after how many seconds (doubling each time),
            documents rejected with 429 (too many requests) are sent again.
        shards, replicas: of a new index (None: the cluster's defaults).
        serverless_wait: on Serverless (``service="aoss"``), how long ``refresh()`` waits for
            this process's writes to become searchable (the collection refreshes every 10-60 s).

    On Serverless documents are written as versions and older ones deleted by id (see
    ``serverless.py``): a rewrite, a failed ``_bulk`` or a duplicate never shows in a search.
    """

    supports_hybrid = True
    supports_listing = False  # ragbot synth samples passages from the embedded store only, for now

    def __init__(
        self,
        url_or_hosts: str | Sequence[str],
        index: str = "ragbot-chunks",
        *,
        dimension: int | None = None,
        engine: Engine | None = None,
        space_type: SpaceType = "cosinesimil",
        m: int = 16,
        ef_construction: int = 100,
        auth: tuple[str, str] | Literal["sigv4"] | None = None,
        region: str | None = None,
        service: Service = "es",
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 30.0,
        hybrid: HybridMode = "client",
        keyword_weight: float = 0.5,
        candidates: int = 50,
        ef_search: int = 200,
        chunk_size: int = 500,
        max_retries: int = 3,
        initial_backoff: float = 2.0,
        shards: int | None = None,
        replicas: int | None = None,
        serverless_wait: float = 90.0,
    ):
        if engine is None:
            engine = "faiss" if service == "aoss" else "lucene"  # Serverless vector collections run Faiss
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        if hybrid not in HYBRID_MODES:
            raise ValueError(f"hybrid must be one of {', '.join(HYBRID_MODES)}, not {hybrid!r}")
        if space_type not in SPACE_TYPES:
            raise ValueError(f"space_type must be one of {', '.join(SPACE_TYPES)}, not {space_type!r}")
        if ef_search < 1:
            raise ValueError(f"ef_search must be 1 or more, not {ef_search}")
        if service not in ("es", "aoss"):
            raise ValueError(f"service must be 'es' or 'aoss', not {service!r}")
        if service == "aoss" and hybrid == "pipeline":
            raise ValueError(
                "hybrid='pipeline' needs search pipelines, which OpenSearch Serverless has not: use client"
            )
        if auth is not None and auth != "sigv4" and not (isinstance(auth, tuple) and len(auth) == 2):
            raise ValueError("auth must be (user, password), 'sigv4' or None")
        pipeline_body(keyword_weight)  # validates the weight now rather than at the first search
        hosts = [h.strip() for h in url_or_hosts.split(",")] if isinstance(url_or_hosts, str) else list(url_or_hosts)
        hosts = [h for h in hosts if h]
        if not hosts:
            raise ValueError("url_or_hosts is empty: give the cluster's URL, e.g. https://localhost:9200")
        self.hosts = hosts
        self.index = index
        self.dimension = dimension
        self.engine: Engine = engine
        self.space_type = space_type
        self.service = service
        self.hybrid = hybrid
        self._conn = Connection(
            hosts,
            auth=auth,
            region=region,
            service=service,
            verify_certs=verify_certs,
            ca_certs=ca_certs,
            timeout=timeout,
        )
        self.url = self._conn.url
        self._index = ChunkIndex(
            self._conn,
            index,
            engine=engine,
            space_type=space_type,
            m=m,
            ef_construction=ef_construction,
            shards=shards,
            replicas=replicas,
        )
        bulk = {"chunk_size": chunk_size, "max_retries": max_retries, "initial_backoff": initial_backoff}
        self._versions = VersionedWriter(self._index, wait=serverless_wait, **bulk) if service == "aoss" else None
        self._writer = self._versions or DocumentWriter(self._index, **bulk)
        self._searcher = Searcher(
            self._index,
            engine=engine,
            hybrid=hybrid,
            keyword_weight=keyword_weight,
            candidates=candidates,
            ef_search=ef_search,
            space_type=space_type,
            keep=self._versions.keep_current if self._versions else None,
        )

    def __repr__(self) -> str:
        return f"OpenSearchVectorStore(url={self.url!r}, index={self.index!r}, engine={self.engine!r})"

    @property
    def serverless(self) -> bool:
        return self._conn.serverless

    def client(self):
        """The ``opensearchpy.OpenSearch`` client, created on first use."""
        return self._conn.client()

    def close(self) -> None:
        """Close the client's connections (a later call opens new ones)."""
        self._conn.close()

    def detected(self) -> dict:
        """What this store found out about the cluster, for ``ragbot status --json``.

        Returns ``service``, ``distribution``, ``version`` ("2.19.1"; None on Serverless, which
        reports none), ``plugins``, ``engine``, ``space_type``, ``hybrid`` (as configured),
        ``hybrid_mode`` (the fusion searches use: ``pipeline`` or ``client``) and ``writes``
        (``ids``: chunk ids overwrite; ``versions``: Serverless's versioned replacement).

        Raises:
            StoreError: the cluster cannot be reached or refuses the requests.
        """
        cluster = self._conn.cluster_info()
        version = cluster.get("version")
        return {
            "service": self.service,
            "url": self.url,
            "index": self.index,
            "distribution": cluster.get("distribution") or ("opensearch" if self.serverless else None),
            "version": ".".join(map(str, version)) if version else None,
            "plugins": sorted(p for p in cluster.get("plugins", ()) if p),
            "engine": self.engine,
            "space_type": self.space_type,
            "hybrid": self.hybrid,
            "hybrid_mode": self._searcher.planned_mode(),
            "writes": "versions" if self.serverless else "ids",
        }

    # -- the index ----------------------------------------------------------------------------

    def embedding_model(self) -> dict | None:
        """``{"embedding_model", "dimension"}`` the index was built with; None for a new index."""
        return self._index.embedding_model()

    def check_embedding_model(self, model_id: str, dimension: int) -> None:
        self._index.check_embedding_model(model_id, dimension, configured=self.dimension)

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
            self._index.ensure(dimension)
        elif not self._index.exists():
            return 0
        self._writer.replace(source, chunks, vectors)
        return len(chunks)

    def delete_documents(self, sources: Sequence[str]) -> int:
        return self._writer.delete(sources)

    def refresh(self) -> None:
        self._writer.refresh()

    # -- reads --------------------------------------------------------------------------------

    def count(self) -> int:
        if self._versions:
            return self._versions.count()
        response = self._index.read("count chunks", self.client().count, index=self.index)
        return 0 if response is None else int(response["count"])

    def documents(self) -> dict[str, DocumentInfo]:
        if self._versions:
            return self._versions.documents()
        docs: dict[str, DocumentInfo] = {}
        after = None
        while True:
            response = self._index.read(
                "list documents", self.client().search, index=self.index, body=documents_body(after)
            )
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
        return self._searcher.search(text, vector, k=k, mode=mode, filters=filters)
