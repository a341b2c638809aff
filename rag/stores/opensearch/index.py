"""The chunks index of the OpenSearch store: whether it exists, creating it, and the embedding
model it is bound to (recorded in the mapping's ``_meta``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from rag.errors import EmbeddingModelMismatch, StoreError
from rag.stores.opensearch.bodies import Engine, index_body
from rag.stores.opensearch.connection import Connection

log = logging.getLogger(__name__)

T = TypeVar("T")


class ChunkIndex:
    """One index (or alias) of chunks over a connection, and what the store knows of it.

    Args:
        conn: the store's connection.
        name: the index or alias.
        engine, space_type, m, ef_construction, shards, replicas: of a new index (see ``index_body``).
    """

    def __init__(
        self,
        conn: Connection,
        name: str,
        *,
        engine: Engine,
        space_type: str,
        m: int,
        ef_construction: int,
        shards: int | None,
        replicas: int | None,
    ):
        self.conn = conn
        self.name = name
        self.engine = engine
        self.space_type = space_type
        self.m = m
        self.ef_construction = ef_construction
        self.shards = shards
        self.replicas = replicas
        self.ready = False
        self.dimension: int | None = None
        self._lock = threading.RLock()

    def read(self, doing: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a read; a missing index reads as None (an empty store) and is looked up again later."""
        response = self.conn.read(doing, call, *args, **kwargs)
        if response is None:
            self.ready = False
        return response

    def exists(self) -> bool:
        if self.ready:
            return True
        with self.conn.errors(f"check index '{self.name}'"):
            exists = bool(self.conn.client().indices.exists(index=self.name))
        self.ready = exists
        return exists

    def _mapping(self) -> dict | None:
        """The index's mappings, or None when the index does not exist."""
        from opensearchpy.exceptions import NotFoundError

        try:
            with self.conn.errors(f"read the mapping of index '{self.name}'"):
                response = self.conn.client().indices.get_mapping(index=self.name)
        except StoreError as e:
            if isinstance(e.__cause__, NotFoundError):
                return None
            raise
        # Keyed by the concrete index name, which differs from self.name behind an alias.
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

    def check_engine(self) -> None:
        """Refuse, before any request that would fail, an engine the cluster cannot build.

        Raises:
            StoreError: nmslib on OpenSearch 3.x (the k-NN plugin no longer creates nmslib
                indexes), or Faiss with ``cosinesimil`` before 2.19 (Faiss has cosine from 2.19).
        """
        if self.conn.serverless or self.engine == "lucene":
            return  # Serverless reports no version; see the README's checklist
        version = self.conn.cluster_info().get("version")
        if not version:
            return
        shown = ".".join(map(str, version))
        if self.engine == "nmslib" and version >= (3, 0):
            raise StoreError(
                f"OpenSearch {shown} at {self.conn.url} cannot create nmslib k-NN indexes (nmslib was "
                "deprecated in 2.19 and is blocked from 3.0): set RAGBOT_OPENSEARCH_ENGINE=lucene or faiss"
            )
        if self.engine == "faiss" and self.space_type == "cosinesimil" and version < (2, 19):
            raise StoreError(
                f"OpenSearch {shown} at {self.conn.url} has no cosinesimil for Faiss (it came in 2.19): set "
                "RAGBOT_OPENSEARCH_SPACE_TYPE=innerproduct (ragbot's vectors are unit length, so the ranking "
                "is the same) or RAGBOT_OPENSEARCH_ENGINE=lucene"
            )

    def create(self, dimension: int, embedding_model: str | None = None) -> bool:
        """Create the index; False when another writer created it first."""
        from opensearchpy.exceptions import RequestError

        self.check_engine()
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
            with self.conn.errors(f"create index '{self.name}'"):
                self.conn.client().indices.create(index=self.name, body=body)
        except StoreError as e:
            if not (isinstance(e.__cause__, RequestError) and "resource_already_exists" in str(e.__cause__.error)):
                raise
            return False
        log.info("created OpenSearch index %s (%d dimensions, %s)", self.name, dimension, self.engine)
        self.ready = True
        self.dimension = dimension
        return True

    def ensure(self, dimension: int) -> None:
        """Create the index for ``dimension``-sized vectors, or check that it holds them."""
        if not self.ready:
            with self._lock:
                if not self.ready:
                    meta = self.embedding_model()
                    if meta is None and not self.create(dimension):
                        meta = self.embedding_model() or {}  # another writer created it first
                    if meta is not None:
                        self.ready = True
                        self.dimension = meta.get("dimension")
        if self.dimension is not None and self.dimension != dimension:
            raise StoreError(
                f"The OpenSearch index '{self.name}' holds {self.dimension}-dimensional vectors, "
                f"not {dimension}: the embedding model changed. "
                "Re-index into a new OpenSearch index (RAGBOT_OPENSEARCH_INDEX)."
            )

    def check_embedding_model(self, model_id: str, dimension: int, *, configured: int | None = None) -> None:
        """Bind a new index to the model, or check the model it was built with.

        Raises:
            EmbeddingModelMismatch: the index (or ``configured``, the store's dimension) disagrees.
        """
        meta = self.embedding_model()
        if meta is None:
            if configured is not None and configured != dimension:
                raise EmbeddingModelMismatch(
                    f"The store is configured for {configured} dimensions but the embedding model "
                    f"'{model_id}' has {dimension}."
                )
            with self._lock:
                if self.create(dimension, embedding_model=model_id):
                    return
            meta = self.embedding_model() or {}  # another writer created it: check theirs
        self.ready = True
        built_dimension = None if meta.get("dimension") is None else int(meta["dimension"])
        built_with = meta.get("embedding_model")
        self.dimension = built_dimension
        if built_dimension not in (None, dimension) or built_with not in (None, model_id):
            hint = f"Set RAGBOT_EMBEDDING_MODEL={built_with}, or re-index" if built_with else "Re-index"
            raise EmbeddingModelMismatch(
                f"The OpenSearch index '{self.name}' at {self.conn.url} was built with embedding model "
                f"'{built_with or 'unrecorded'}' ({built_dimension} dimensions) but the configured model is "
                f"'{model_id}' ({dimension} dimensions). {hint} into a new OpenSearch index (RAGBOT_OPENSEARCH_INDEX)."
            )
        if built_with is None:
            # Chunks were written before any model was bound: record the model now.
            with self.conn.errors(f"record the embedding model on index '{self.name}'"):
                self.conn.client().indices.put_mapping(
                    index=self.name, body={"_meta": meta | {"embedding_model": model_id, "dimension": dimension}}
                )
