"""Replacing documents on OpenSearch Serverless, where the usual way does not work.

A vector collection on Serverless has no ``_delete_by_query`` and no ``_refresh``, picks every
document's ``_id`` itself, and shows a write to searches only after its refresh interval (10 to
60 s). So a document's chunks cannot be overwritten by id, a rewrite cannot see (and delete)
chunks written a moment ago, and a resent ``_bulk`` would index chunks twice.

Instead every write of a document is a *version*: its chunks carry ``version`` (time-ordered,
unique) and ``chunk_count``. A version is *complete* once that many distinct chunk ids of it
are visible; the current version of a document is its newest complete one, and a version with
no chunks (a tombstone) means the document was deleted. Searches over-fetch and keep only hits
of current versions, one per chunk id; ``documents()`` and ``count()`` read current versions
only. So a rewrite within the refresh window, a half-failed ``_bulk``, or a duplicate never
shows: until the new version is whole, the old one answers.

Older versions are deleted by ``_id`` (found with a point-in-time search and ``search_after``,
as opensearch-hadoop does on Serverless): by ``refresh()``, which waits until this process's
writes are visible and then removes what they replaced, and at each write, which removes what
is older than the version answering now (never that one: its successor may not be visible
yet). Whatever a pass cannot see yet stays invisible to searches and goes at a later pass.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from rag.errors import StoreError
from rag.records import Chunk
from rag.stores.base import DocumentInfo
from rag.stores.opensearch.bodies import bulk_actions
from rag.stores.opensearch.index import ChunkIndex

log = logging.getLogger(__name__)

PAGE = 1000
VERSIONS_PER_SOURCE = 20  # older ones are garbage whatever they hold


def new_version() -> str:
    """A version that sorts after every earlier one of this clock (nanoseconds, then chance)."""
    return f"{time.time_ns():020d}-{secrets.token_hex(4)}"


# -- bodies ------------------------------------------------------------------------------------


def versions_body(sources: Sequence[str]) -> dict:
    """Per source, its newest versions with their visible chunk ids and expected chunk count."""
    return {
        "size": 0,
        "query": {"terms": {"source": list(sources)}},
        "aggs": {
            "sources": {
                "terms": {"field": "source", "size": len(sources)},
                "aggs": {
                    "versions": {
                        "terms": {"field": "version", "size": VERSIONS_PER_SOURCE, "order": {"_key": "desc"}},
                        "aggs": {
                            "chunks": {"cardinality": {"field": "id", "precision_threshold": 40000}},
                            "expected": {"max": {"field": "chunk_count"}},
                        },
                    }
                },
            }
        },
    }


def _complete(bucket: dict) -> bool:
    expected = bucket["expected"]["value"]
    return expected is not None and bucket["chunks"]["value"] >= expected


def parse_versions(response: dict) -> dict[str, tuple[str, int]]:
    """The current (newest complete) version of each source that has one, and its chunk count
    (0 for a tombstone)."""
    current = {}
    for source in response.get("aggregations", {}).get("sources", {}).get("buckets", []):
        for bucket in source["versions"]["buckets"]:  # newest first
            if _complete(bucket):
                current[source["key"]] = (bucket["key"], int(bucket["expected"]["value"]))
                break
    return current


def documents_body(after: dict | None = None) -> dict:
    """One page of (source, version) pairs with what ``documents()`` reports of each."""
    composite: dict[str, Any] = {
        "size": PAGE,
        "sources": [{"source": {"terms": {"field": "source"}}}, {"version": {"terms": {"field": "version"}}}],
    }
    if after:
        composite["after"] = after
    return {
        "size": 0,
        "aggs": {
            "docs": {
                "composite": composite,
                "aggs": {
                    "chunks": {"cardinality": {"field": "id", "precision_threshold": 40000}},
                    "expected": {"max": {"field": "chunk_count"}},
                    "doc_hash": {"terms": {"field": "doc_hash", "size": 1}},
                    "pages": {"cardinality": {"field": "page"}},
                },
            }
        },
    }


def older_query(source: str, version: str) -> dict:
    """Every chunk (and tombstone) of ``source`` from a version before ``version``."""
    return {"bool": {"filter": [{"term": {"source": source}}, {"range": {"version": {"lt": version}}}]}}


# -- the writer --------------------------------------------------------------------------------


class VersionedWriter:
    """Writes of a store on OpenSearch Serverless (see the module docstring).

    Args:
        index: the store's index.
        chunk_size, max_retries, initial_backoff: of ``_bulk`` (429s are resent per document).
        wait: seconds ``refresh()`` waits for this process's writes to become visible.
    """

    def __init__(self, index: ChunkIndex, *, chunk_size: int, max_retries: int, initial_backoff: float, wait: float):
        self.index = index
        self.conn = index.conn
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.wait = wait
        self._lock = threading.Lock()
        # source -> (version, chunk count) this process wrote last and has not seen visible yet
        self._pending: dict[str, tuple[str, int]] = {}

    # -- reads ---------------------------------------------------------------------------------

    def current_versions(self, sources: Sequence[str]) -> dict[str, tuple[str, int]]:
        """``(version, chunk count)`` of the current version of each of these documents that has
        one (a tombstone's count is 0)."""
        current: dict[str, tuple[str, int]] = {}
        sources = list(dict.fromkeys(sources))
        for start in range(0, len(sources), 500):
            batch = sources[start : start + 500]
            client = self.conn.client()
            response = self.index.read(
                "look up document versions", client.search, index=self.index.name, body=versions_body(batch)
            )
            if response is not None:
                current.update(parse_versions(response))
        return current

    def keep_current(self, hits: list[dict]) -> list[dict]:
        """The hits of current versions only, one per chunk id, in their order."""
        current = self.current_versions([h["_source"]["source"] for h in hits])
        kept, seen = [], set()
        for hit in hits:
            doc = hit["_source"]
            if current.get(doc["source"], ("", 0))[0] == doc.get("version") and doc["id"] not in seen:
                seen.add(doc["id"])
                kept.append(hit)
        return kept

    def documents(self) -> dict[str, DocumentInfo]:
        newest: dict[str, tuple[str, DocumentInfo | None]] = {}
        after = None
        while True:
            client = self.conn.client()
            response = self.index.read(
                "list documents", client.search, index=self.index.name, body=documents_body(after)
            )
            if response is None:
                return {}
            agg = response.get("aggregations", {}).get("docs", {})
            for bucket in agg.get("buckets", []):
                source, version = bucket["key"]["source"], bucket["key"]["version"]
                if not _complete(bucket) or (source in newest and newest[source][0] > version):
                    continue
                hashes = bucket["doc_hash"]["buckets"]
                info = None
                if bucket["expected"]["value"]:  # a tombstone has no chunks
                    info = DocumentInfo(
                        source=source,
                        doc_hash=hashes[0]["key"] if hashes else "",
                        chunks=int(bucket["expected"]["value"]),
                        pages=bucket["pages"]["value"] or 1,
                    )
                newest[source] = (version, info)
            after = agg.get("after_key") if agg.get("buckets") else None
            if not after:
                return {source: info for source, (_, info) in sorted(newest.items()) if info is not None}

    def count(self) -> int:
        return sum(doc.chunks for doc in self.documents().values())

    # -- writes --------------------------------------------------------------------------------

    def replace(self, source: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Write ``chunks`` as a new version of ``source`` (none: a tombstone), then clean up."""
        version = new_version()
        if chunks:
            self._bulk(
                source, bulk_actions(self.index.name, chunks, vectors, with_ids=False, version=version), len(chunks)
            )
        else:
            tombstone = {
                "_op_type": "index",
                "_index": self.index.name,
                "_source": {"source": source, "version": version, "chunk_count": 0},
            }
            self._bulk(source, iter([tombstone]), 1)
        with self._lock:
            self._pending[source] = (version, len(chunks))
        # Leave the version that answers now until ours is visible (refresh() cleans after it):
        # here only what is older than the current version goes.
        current = self.current_versions([source]).get(source)
        if current is not None:
            self._clean(source, current[0])

    def delete(self, sources: Sequence[str]) -> int:
        """Delete these documents (a tombstone each); returns how many of them were indexed."""
        sources = list(dict.fromkeys(sources))
        if not sources or not self.index.exists():
            return 0
        current = self.current_versions(sources)
        with self._lock:  # written by this process a moment ago: not visible yet, but there
            current.update(
                {s: v for s, v in self._pending.items() if s in sources and v[0] > current.get(s, ("", 0))[0]}
            )
        present = [source for source in sources if current.get(source, ("", 0))[1] > 0]
        for source in present:
            self.replace(source, [], np.zeros((0, 0), dtype=np.float32))
        return len(present)

    def refresh(self) -> None:
        """Wait (up to ``wait`` seconds) until this process's writes are visible, then clean up."""
        with self._lock:
            pending = {source: version for source, (version, _) in self._pending.items()}
        deadline = time.monotonic() + self.wait
        interval = min(2.0, max(0.05, self.wait / 50))
        while pending:
            current = self.current_versions(list(pending))
            # Visible: ours is current, or another writer's newer version superseded it.
            for source, version in list(pending.items()):
                if current.get(source, ("", 0))[0] >= version:
                    self._clean(source, version)
                    del pending[source]
                    with self._lock:
                        if self._pending.get(source, ("", 0))[0] == version:
                            del self._pending[source]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(interval)
        if pending:
            log.warning(
                "%d documents written to OpenSearch Serverless are not searchable after %.0f s: %s",
                len(pending),
                self.wait,
                ", ".join(sorted(pending)[:5]),
            )

    # -- plumbing ------------------------------------------------------------------------------

    def _bulk(self, source: str, actions: Iterator[dict], total: int) -> None:
        from opensearchpy import helpers

        errors = []
        with self.conn.errors(f"index the chunks of {source}"):
            for ok, item in helpers.streaming_bulk(
                self.conn.client(),
                actions,
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
            # The version stays incomplete, so it never becomes current; the next write of the
            # document deletes what of it was indexed.
            first = next(iter(errors[0].values()))
            error = first.get("error", {})
            reason = f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else str(error)
            raise StoreError(
                f"could not index {len(errors)} of {total} chunks of {source} (HTTP {first.get('status')}): {reason}"
            )

    def _clean(self, source: str, version: str) -> None:
        """Delete the visible documents of ``source``'s versions before ``version``, by ``_id``."""
        try:
            ids = list(self._ids(older_query(source, version)))
            if ids:
                self._delete_ids(source, ids)
        except StoreError as e:  # garbage stays invisible; the next write of the document retries
            log.warning("could not remove old versions of %s from OpenSearch Serverless: %s", source, e)

    def _ids(self, query: dict) -> Iterator[str]:
        """The ``_id`` of every visible document matching ``query``: a point-in-time search paged
        with ``search_after`` (a plain ``search_after`` where the PIT is refused)."""
        from opensearchpy.exceptions import TransportError

        client = self.conn.client()
        pit = None
        try:
            pit = client.create_pit(index=self.index.name, keep_alive="1m")["pit_id"]
        except TransportError as e:
            log.info("point-in-time search refused (%s); paging without one", e.status_code)
        sort = [{"version": "asc"}, {"id": {"order": "asc", "missing": "_first"}}]
        after = None
        try:
            while True:
                body: dict[str, Any] = {"size": PAGE, "query": query, "sort": sort, "_source": False}
                if after is not None:
                    body["search_after"] = after
                with self.conn.errors("find old chunks to delete"):
                    if pit:
                        body["pit"] = {"id": pit, "keep_alive": "1m"}
                        response = client.search(body=body)
                    else:
                        response = client.search(index=self.index.name, body=body)
                hits = response["hits"]["hits"]
                yield from (h["_id"] for h in hits)
                if len(hits) < PAGE:
                    return
                after = hits[-1]["sort"]
        finally:
            if pit:
                try:
                    client.delete_pit(body={"pit_id": [pit]})
                except TransportError:
                    pass  # it expires on its own

    def _delete_ids(self, source: str, ids: list[str]) -> None:
        actions = ({"_op_type": "delete", "_index": self.index.name, "_id": i} for i in ids)
        from opensearchpy import helpers

        failed = []
        with self.conn.errors(f"delete the old chunks of {source}"):
            for ok, item in helpers.streaming_bulk(
                self.conn.client(), actions, chunk_size=self.chunk_size, raise_on_error=False, yield_ok=False
            ):
                if not ok and next(iter(item.values())).get("status") != 404:  # already gone
                    failed.append(item)
        if failed:
            raise StoreError(f"could not delete {len(failed)} old chunks of {source}")
