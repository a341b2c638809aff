"""Searching the OpenSearch store: k-NN, BM25, and the two ways of fusing them.

``client`` runs the vector and keyword queries in one ``_msearch``, scores the keyword-only
candidates by k-NN (a second ``_msearch`` over those ids; not on nmslib), and fuses both scores
with the embedded store's fusion (``rag.stores.fusion``, per-query weights by default);
``pipeline`` sends one ``hybrid`` query through the ``ragbot-hybrid`` search pipeline (min-max
normalisation, weighted arithmetic mean with one fixed weight); ``auto`` picks the pipeline when
the cluster is OpenSearch >= 2.10 with the neural-search plugin and lets us create the pipeline,
else the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from rag.errors import StoreError
from rag.records import Chunk, ScoredChunk, SearchFilters, SearchMode
from rag.stores.fusion import DEFAULT_FUSION, Fusion, FusionWeights, fuse
from rag.stores.opensearch.bodies import (
    Engine,
    SpaceType,
    cosine_from_score,
    evidence_bodies,
    hybrid_query,
    keyword_query,
    knn_query,
    pipeline_body,
    search_body,
)
from rag.stores.opensearch.connection import _is_unreachable
from rag.stores.opensearch.index import ChunkIndex

log = logging.getLogger(__name__)

HybridMode = Literal["auto", "pipeline", "client"]
HYBRID_MODES = ("auto", "pipeline", "client")
PIPELINE = "ragbot-hybrid"
NEURAL_SEARCH_PLUGIN = "opensearch-neural-search"


class Searcher:
    """The searches of one store.

    Args:
        index: the store's index.
        engine: the k-NN engine (it decides where filters go and how scores read).
        hybrid: ``auto``, ``pipeline`` or ``client`` (see the module docstring).
        keyword_weight: the keyword share of the pipeline's weighted mean.
        candidates: results each side of a hybrid query contributes.
        ef_search: how many candidates a k-NN search explores: its ``k`` is at least this
            (see ``OpenSearchVectorStore``).
        space_type: the k-NN space, for turning scores into cosine similarities.
        keep: drops hits that must not be seen (on Serverless: all but current versions, see
            serverless.py); searches then fetch ``candidates`` hits and keep the best ``k``.
        fusion: the ``client`` fusion, the embedded store's (``rag.stores.fusion``).
    """

    def __init__(
        self,
        index: ChunkIndex,
        *,
        engine: Engine,
        hybrid: HybridMode,
        keyword_weight: float,
        candidates: int,
        space_type: SpaceType = "cosinesimil",
        keep: Callable[[list[dict]], list[dict]] | None = None,
        ef_search: int = 200,
        fusion: Fusion | FusionWeights = DEFAULT_FUSION,
    ):
        self.index = index
        self.fusion = fusion
        self.conn = index.conn
        self.engine: Engine = engine
        self.space_type: SpaceType = space_type
        self.keep = keep
        self.hybrid = hybrid
        self.keyword_weight = keyword_weight
        self.candidates = candidates
        self.ef_search = ef_search
        self.hybrid_mode: str | None = None  # what ``auto`` settled on, at the first hybrid search

    def search(
        self, text: str, vector: np.ndarray | None, *, k: int, mode: SearchMode, filters: SearchFilters | None
    ) -> list[ScoredChunk]:
        """The ``k`` best chunks (the arguments are checked by the store)."""
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
        # Lucene's HNSW explores only `k` candidates of each segment's graph: ask for ef_search of
        # them; the hits returned are still `size` (the best of those found).
        return knn_query(vector, max(k, self.candidates, self.ef_search), filters, engine=self.engine)

    def _search(self, query: dict, size: int, *, doing: str, **params) -> list[dict] | None:
        fetch = size if self.keep is None else max(size, self.candidates)
        response = self.index.read(
            doing, self.conn.client().search, index=self.index.name, body=search_body(query, fetch), **params
        )
        if response is None:
            return None
        hits = response["hits"]["hits"]
        return (hits if self.keep is None else self.keep(hits))[:size]

    def _msearch(self, bodies: Sequence[dict], doing: str, keep: bool = True) -> list[list[dict]] | None:
        lines: list[dict] = []
        for body in bodies:
            lines += [{"index": self.index.name}, body]
        response = self.index.read(doing, self.conn.client().msearch, body=lines)
        if response is None:
            return None
        results = []
        for item in response["responses"]:
            if "error" in item:
                error = item["error"]
                kind = error.get("type", "") if isinstance(error, dict) else str(error)
                if "index_not_found" in kind:
                    self.index.ready = False
                    return None
                reason = (error.get("root_cause") or [error])[0].get("reason", "") if isinstance(error, dict) else ""
                raise StoreError(f"OpenSearch could not {doing} (HTTP {item.get('status')}): {kind}: {reason}")
            hits = item["hits"]["hits"]
            results.append(hits if self.keep is None or not keep else self.keep(hits))
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
        hits: dict[str, dict] = {}
        for h in [*vector_hits, *keyword_hits]:
            hits.setdefault(_chunk_id(h), h)
        similarity = {_chunk_id(h): self._similarity(h["_score"]) for h in vector_hits}
        bm25 = {_chunk_id(h): float(h["_score"]) for h in keyword_hits}
        # A passage only BM25 found is scored by k-NN too, as the embedded store scores it from
        # its stored vector: not treated as dissimilar.
        unscored = {hits[c]["_id"]: c for c in bm25 if c not in similarity}
        if unscored:
            similarity |= self._knn_scores(text, vector, unscored)
        ids = list(hits)
        floor = min(similarity.values(), default=0.0)  # a hit k-NN did not score: the least similar
        vector_rank = {_chunk_id(h): i for i, h in enumerate(vector_hits)}
        scores = fuse(
            text,
            [similarity.get(i, floor) for i in ids],
            [bm25.get(i) for i in ids],
            self.fusion,
            [vector_rank.get(i) for i in ids],
        )
        ranked = sorted(zip(ids, scores, strict=True), key=lambda t: -t[1])
        return [
            self._scored(hits[c], score=score, similarity=similarity.get(c), keyword=bm25.get(c))
            for c, score in ranked[:k]
        ]

    def _knn_scores(self, text: str, vector: list[float], ids: dict[str, str]) -> dict[str, float]:
        """Similarities of the hits ``ids`` maps (``_id`` to chunk id), by a k-NN search over those
        ids alone, which is exact on lucene and faiss. nmslib filters after its search, so it
        would find none of them; a cluster that refuses a filter inside k-NN (faiss before 2.9)
        leaves them unscored instead of failing the search."""
        if self.engine == "nmslib":
            return {}
        body = evidence_bodies(text, vector, list(ids), engine=self.engine)[0]
        try:
            # Already kept hits: the ids body carries no _source for ``keep`` to read.
            found = self._msearch([body], "score the keyword results", keep=False) or [[]]
        except StoreError as e:
            log.warning("keyword-only results keep no similarity: %s", e)
            return {}
        return {ids[h["_id"]]: self._similarity(h["_score"]) for h in found[0] if h["_id"] in ids}

    def _hybrid_pipeline(
        self, text: str, vector: list[float], k: int, filters: SearchFilters | None
    ) -> list[ScoredChunk]:
        limit = max(k, self.candidates)
        # Normalisation is only as good as its sample: each sub-query returns `limit` hits.
        hits = self._search(
            hybrid_query(text, vector, max(limit, self.ef_search), filters, engine=self.engine),
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
        if self.hybrid_mode is None:
            mode = self.hybrid
            if mode == "pipeline":
                self._put_pipeline()
            elif mode == "auto":
                mode = "client"
                if not self.conn.serverless:  # Serverless has no search pipelines
                    try:
                        if self._pipeline_supported():
                            self._put_pipeline()
                            mode = "pipeline"
                    except StoreError as e:
                        if _is_unreachable(e.__cause__):
                            raise  # decide once the cluster answers
                        log.warning("hybrid search falls back to client-side fusion: %s", e)
            self.hybrid_mode = mode
        return self.hybrid_mode

    def planned_mode(self) -> str:
        """The fusion hybrid searches use or will use, found without creating the pipeline."""
        if self.hybrid_mode is not None:
            return self.hybrid_mode
        if self.hybrid != "auto":
            return self.hybrid
        if self.conn.serverless:
            return "client"
        return "pipeline" if self._pipeline_supported() else "client"

    def _pipeline_supported(self) -> bool:
        cluster = self.conn.cluster_info()
        return (
            cluster["distribution"] == "opensearch"
            and cluster["version"] is not None
            and cluster["version"] >= (2, 10)
            and NEURAL_SEARCH_PLUGIN in cluster["plugins"]
        )

    def _put_pipeline(self) -> None:
        with self.conn.errors(f"create the search pipeline '{PIPELINE}'"):
            self.conn.client().search_pipeline.put(id=PIPELINE, body=pipeline_body(self.keyword_weight))

    def _similarity(self, score: float) -> float:
        version = self.conn.cluster_info().get("version") if self.engine == "nmslib" else None
        return cosine_from_score(float(score), engine=self.engine, version=version, space_type=self.space_type)

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


def _chunk_id(hit: dict) -> str:
    """The chunk a hit is: on Serverless a retried write can hold one chunk under two ``_id``s."""
    return (hit.get("_source") or {}).get("id") or hit["_id"]
