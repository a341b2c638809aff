"""Passages people endorsed rank higher for questions like theirs.

An answer rated 4–5, or validated by an SME, endorses the passages it rests on for its question;
an answer rated 1–2 whose better answer is not in those passages counts against them (and for
the cited passage that does hold it, if one does). ``PassageFeedback.adjust`` re-scores a search's
candidates for a new question by the endorsements of questions close to it:

    boost(passage) = max_boost * tanh(sum_i sign_i * closeness_i * decay_i / saturation)

- ``closeness_i`` is 0 below ``min_similarity`` (cosine of the two questions' embeddings) and
  rises linearly to 1 at identical questions: feedback never reaches a question far from the
  rated one;
- ``decay_i`` halves every ``half_life_days``;
- tanh bounds the boost to ``max_boost`` whatever the number of ratings, and one rating moves a
  passage by at most ``max_boost * tanh(1 / saturation)`` (0.032 with the defaults), less than
  the gap between most neighbouring fused scores: one rating cannot flip a ranking alone.

Only the candidates the search found are re-scored; nothing is added to them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from rag.records import ScoredChunk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endorsement:
    """``chunk_id`` endorsed (``sign`` +1) or discredited (-1) for ``question`` at ``at``."""

    question: str
    chunk_id: str
    sign: int
    at: datetime


class PassageFeedback:
    """The endorsements of one process, reloaded at most every ``recheck_s`` seconds."""

    def __init__(
        self,
        embedder,
        load: Callable[[], Sequence[Endorsement]],
        *,
        max_boost: float = 0.1,
        min_similarity: float = 0.75,
        half_life_days: float = 180.0,
        saturation: float = 3.0,
        recheck_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        if not 0.0 <= max_boost <= 1.0 or not 0.0 <= min_similarity < 1.0 or half_life_days <= 0 or saturation <= 0:
            raise ValueError("max_boost in [0, 1], min_similarity in [0, 1), half_life_days and saturation > 0")
        self.embedder = embedder
        self.load = load
        self.max_boost = max_boost
        self.min_similarity = min_similarity
        self.half_life_days = half_life_days
        self.saturation = saturation
        self.recheck_s = recheck_s
        self.clock = clock
        self.today = today
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._entries: list[Endorsement] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._cache: dict[str, np.ndarray] = {}

    def invalidate(self) -> None:
        self._checked_at = None

    def boosts(self, query_vector: np.ndarray) -> dict[str, float]:
        """chunk id -> the boost it gets for a question with this embedding (never 0)."""
        entries, vectors = self._current()
        if not entries:
            return {}
        similarity = vectors @ np.asarray(query_vector, dtype=np.float32)
        closeness = np.clip((similarity - self.min_similarity) / (1.0 - self.min_similarity), 0.0, 1.0)
        now = self.today()
        totals: dict[str, float] = {}
        for i in np.flatnonzero(closeness > 0.0):  # a search reads only the few ratings near it
            entry, close = entries[i], closeness[i]
            age_days = max((now - entry.at).total_seconds() / 86400.0, 0.0)
            decay = 0.5 ** (age_days / self.half_life_days)
            totals[entry.chunk_id] = totals.get(entry.chunk_id, 0.0) + entry.sign * float(close) * decay
        boosts = {chunk: self.max_boost * math.tanh(total / self.saturation) for chunk, total in totals.items()}
        return {chunk: boost for chunk, boost in boosts.items() if boost}

    def adjust(self, query_vector: np.ndarray | None, results: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """``results`` re-scored by the endorsements near the question and sorted again (stable
        for equal scores); unchanged without a query vector or nearby endorsements."""
        if query_vector is None or not results:
            return list(results)
        boosts = self.boosts(query_vector)
        if not boosts:
            return list(results)
        adjusted = [
            r.model_copy(update={"score": r.score + boosts[r.chunk.id]}) if r.chunk.id in boosts else r for r in results
        ]
        return sorted(adjusted, key=lambda r: -r.score)

    def _current(self) -> tuple[list[Endorsement], np.ndarray]:
        with self._lock:
            now = self.clock()
            if self._checked_at is None or now - self._checked_at >= self.recheck_s:
                self._checked_at = now
                try:
                    entries = list(self.load())
                except Exception:  # feedback is a bonus: a store that cannot be read must not stop a search
                    log.warning("passage feedback could not be read; searching without it", exc_info=True)
                    return self._entries, self._vectors
                new = sorted({e.question for e in entries} - self._cache.keys())
                if new:
                    for question, row in zip(new, self.embedder.embed_documents(new), strict=True):
                        self._cache[question] = np.asarray(row, dtype=np.float32)
                self._entries = entries
                self._vectors = (
                    np.stack([self._cache[e.question] for e in entries])
                    if entries
                    else np.zeros((0, self.embedder.dimension), dtype=np.float32)
                )
            return self._entries, self._vectors
