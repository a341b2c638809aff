"""SME-verified answers served again to questions that ask the same thing.

An SME who validates a reference answer vouches for it as the answer to that question, given the
passages it was checked against. ``VerifiedAnswers`` holds those answers for one process and
finds the one a new question asks for: the question's embedding must be close to the verified
question's (``threshold``, cosine of the query embeddings) and ``rag.same_ask.differences`` must
find nothing that sets the two apart (another number, identifier, name or document, extreme,
measure, negation, kind of answer, or a noun the verified answer is about left out).

A verified answer rests on its passages: when one of them changed or left the index (a
re-ingest), the answer is stale and is not served until an SME reviews it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from rag.records import Citation, SearchFilters
from rag.same_ask import differences

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.7
"""Cosine similarity of the two questions' MiniLM embeddings (tuned in bench/feedback_replay.py)."""


@dataclass(frozen=True)
class VerifiedEntry:
    """One verified answer: the record it came from (``id``), the question it answers, the SME's
    answer and the passages it was checked against."""

    id: str
    question: str
    answer: str
    citations: tuple[Citation, ...]
    reviewer: str | None = None
    reviewed_at: datetime | None = None


@dataclass(frozen=True)
class VerifiedMatch:
    entry: VerifiedEntry
    similarity: float


@dataclass
class _State:
    entries: list[VerifiedEntry] = field(default_factory=list)
    vectors: np.ndarray | None = None
    stale: dict[str, list[str]] = field(default_factory=dict)
    documents: dict[str, str] | None = None


class VerifiedAnswers:
    """The verified answers of one process, reloaded at most every ``recheck_s`` seconds.

    Args:
        embedder: embeds questions (the retrieval embedder: its query embedding).
        store: the vector store, to check that a verified answer's passages are still indexed.
        load: returns the verified answers that may be served (not retired); called on reload.
        threshold: the least cosine similarity between the new and the verified question.
        recheck_s: how long a loaded set is used before ``load`` and the index are read again;
            ``invalidate`` forces the next call to reload (after a review in this process).
        answer_aware: also require the nouns of the verified question that its answer repeats
            (off only to measure what that check adds).
    """

    def __init__(
        self,
        embedder,
        store,
        load: Callable[[], Sequence[VerifiedEntry]],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        recheck_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        answer_aware: bool = True,
    ):
        self.embedder = embedder
        self.store = store
        self.load = load
        self.threshold = threshold
        self.recheck_s = recheck_s
        self.clock = clock
        self.answer_aware = answer_aware
        self._state = _State()
        self._vectors: dict[tuple[str, str], np.ndarray] = {}
        self._chunk_ids: dict[tuple[str, str], set[str]] = {}
        self._checked_at: float | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Reload on the next call (a verified answer was added, changed or retired)."""
        self._checked_at = None

    def match(self, question: str, filters: SearchFilters | None = None) -> VerifiedMatch | None:
        """The verified answer ``question`` asks for, or None.

        Candidates above the threshold are tried best first; one is served only when nothing sets
        the two questions apart, its passages are all still indexed, and (with ``filters``) every
        passage lies inside the documents searched.
        """
        state = self._current()
        if not state.entries:
            return None
        vector = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        similarities = state.vectors @ vector
        for i in np.argsort(-similarities):
            similarity = float(similarities[i])
            if similarity < self.threshold:
                break
            entry = state.entries[i]
            if entry.id in state.stale or not _inside(entry, filters):
                continue
            if not self.differences(question, entry, state):
                return VerifiedMatch(entry, round(similarity, 4))
        return None

    def differences(self, question: str, entry: VerifiedEntry, state: _State | None = None) -> list[str]:
        """What sets ``question`` apart from the verified one (``rag.same_ask.differences``, given the
        verified answer, its sources and passages, and the documents of the index)."""
        state = state or self._current()
        return differences(
            question,
            entry.question,
            entry.answer if self.answer_aware else None,
            cited=[c.source for c in entry.citations] + [c.text for c in entry.citations],
            indexed=list(state.documents or ()),
        )

    def stale(self) -> dict[str, list[str]]:
        """Verified answers that are not served because a passage changed or left the index:
        record id -> the passages ("file – page N") missing."""
        return dict(self._current().stale)

    def _current(self) -> _State:
        with self._lock:
            now = self.clock()
            if self._checked_at is not None and now - self._checked_at < self.recheck_s:
                return self._state
            self._state = self._reload(self._state)
            self._checked_at = now
            return self._state

    def _reload(self, previous: _State) -> _State:
        entries = list(self.load())
        missing = [e for e in entries if (e.id, e.question) not in self._vectors]
        if missing:
            vectors = self.embedder.embed_documents([e.question for e in missing])
            for entry, row in zip(missing, np.asarray(vectors, dtype=np.float32), strict=True):
                self._vectors[(entry.id, entry.question)] = _unit(row)
        matrix = (
            np.stack([self._vectors[(e.id, e.question)] for e in entries])
            if entries
            else np.zeros((0, self.embedder.dimension), dtype=np.float32)
        )
        documents = {source: info.doc_hash for source, info in self.store.documents().items()}
        return _State(entries, matrix, self._find_stale(entries, documents), documents)

    def _find_stale(self, entries: Sequence[VerifiedEntry], documents: dict[str, str]) -> dict[str, list[str]]:
        stale = {}
        for entry in entries:
            gone = [c.label for c in entry.citations if not self._indexed(c, documents)]
            if gone:
                stale[entry.id] = gone
        return stale

    def _indexed(self, citation: Citation, documents: dict[str, str]) -> bool:
        doc_hash = documents.get(citation.source)
        if doc_hash is None:
            return False
        key = (citation.source, doc_hash)
        if key not in self._chunk_ids:
            self._chunk_ids[key] = self._ids_of(citation.source)
        ids = self._chunk_ids[key]
        if citation.chunk_id in ids:
            return True
        if getattr(self.store, "supports_listing", False):
            return False
        # A store that cannot list a document's passages is asked for this one by its own text.
        hits = self.store.search(
            citation.text, None, k=10, mode="keyword", filters=SearchFilters(source=citation.source)
        )
        ids.update(h.chunk.id for h in hits)
        return citation.chunk_id in ids

    def _ids_of(self, source: str) -> set[str]:
        if not getattr(self.store, "supports_listing", False):
            return set()
        return {c.id for c in self.store.chunks(SearchFilters(source=source))}


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _inside(entry: VerifiedEntry, filters: SearchFilters | None) -> bool:
    if filters is None or filters.is_empty():
        return True
    for c in entry.citations:
        if filters.source and c.source != filters.source:
            return False
        if filters.folder and not (c.source + "/").startswith(filters.folder.rstrip("/") + "/"):
            return False
    return True
