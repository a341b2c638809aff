"""Fusing vector and keyword rankings into one order.

Three families, each a frozen dataclass with ``scores``; ``fuse`` runs the one a store holds and
puts its scores on 0-1 (routing and feedback boosts add to that scale):

* ``RankFusion``: reciprocal rank fusion (Cormack et al. 2009), each side's rank only;
* ``ScoreFusion``: a convex combination of the two sides' scores, normalised per query by
  min-max or z-score;
* ``PerQueryFusion``: the convex combination with a keyword weight chosen per query from the
  scores' distributions (``FusionWeights``, below).

bench/fusion_loo.py measures them leaving one corpus out (bench/RESULTS.md).

The per-query weights were tuned on three corpora: RRF with equal weights had made hybrid worse
than its better side there (on sibling filings BM25 is sure of the wrong quarter as often as the
right one, on manuals a question with a parameter name has one keyword winner that RRF buries
under five near-misses of the vector side). Both scores are kept and normalised per query, and
the keyword side's weight moves with the evidence:

* up when the query holds an identifier (a code, a section number, a number with a unit):
  embeddings barely see "21 01 13" or "BV", BM25 matches it exactly;
* up when BM25's best candidate stands clear of the rest, down when the vector side's does
  (each side's "peak": how far its best score stands above its runner-up, on its own scale).

Every candidate of either side is scored on both: the store computes the cosine similarity
of keyword candidates from their stored vectors, so a passage found only by BM25 is not
treated as dissimilar. A candidate missing from the BM25 list gets keyword score 0.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rag.stores.identifiers import identifier_phrases

# A token with a digit, or an all-capitals name of 2-8 letters (a parameter, a standard).
_CODE_TOKEN = re.compile(r"\b(?=\w*\d)\w+\b|\b[A-Z][A-Z0-9_]{1,7}\b")


@dataclass(frozen=True)
class FusionWeights:
    """How much the keyword side counts (the vector side gets the rest).

    Set on the dev questions of manuals, LaTeX News and filings (issue 13); held on the three
    corpora added in issue 29 (bench/fusion_loo.py, bench/RESULTS.md).
    """

    base: float = 0.4
    identifier: float = 0.15
    peak: float = 0.6
    floor: float = 0.15
    ceiling: float = 0.85


def has_identifier(query: str) -> bool:
    """Whether the query names something exactly: a code, a section number, a number, a symbol."""
    return bool(identifier_phrases(query)) or bool(_CODE_TOKEN.search(query))


def _peak(scores: Sequence[float]) -> float:
    """How far the best score stands above the runner-up, relative to the best score's spread."""
    ordered = sorted(scores, reverse=True)
    if len(ordered) < 2:
        return 0.0
    spread = ordered[0] - ordered[-1]
    return (ordered[0] - ordered[1]) / spread if spread > 0 else 0.0


def keyword_weight(
    query: str, similarities: Sequence[float], keyword_scores: Sequence[float], weights: FusionWeights
) -> float:
    """The keyword side's weight for this query, between ``floor`` and ``ceiling``."""
    w = weights.base
    if has_identifier(query):
        w += weights.identifier
    w += weights.peak * (_peak(keyword_scores) - _peak(similarities))
    return min(weights.ceiling, max(weights.floor, w))


def per_query_scores(
    query: str,
    similarities: Sequence[float],
    keyword_scores: Sequence[float | None],
    weights: FusionWeights = FusionWeights(),
) -> list[float]:
    """Scores in [0, 1] of the per-query fusion: similarities min-max scaled, BM25 over its best,
    weighed by ``keyword_weight``."""
    if not similarities:
        return []
    bm25 = [s for s in keyword_scores if s is not None]
    w = keyword_weight(query, similarities, bm25, weights)
    lo, hi = min(similarities), max(similarities)
    top = max(bm25, default=0.0)
    fused = []
    for sim, kw in zip(similarities, keyword_scores, strict=True):
        v = (sim - lo) / (hi - lo) if hi > lo else 1.0
        k = (kw / top) if (kw is not None and top > 0) else 0.0
        fused.append((1.0 - w) * v + w * k)
    return fused


@dataclass(frozen=True)
class RankFusion:
    """Reciprocal rank fusion: a candidate scores ``(1 - w) / (k + vector rank) + w / (k + keyword
    rank)``, ranks from 1, nothing from a side that did not return it. ``k`` = 60 is the paper's.
    """

    k: float = 60.0
    keyword_weight: float = 0.5

    def scores(
        self,
        query: str,
        similarities: Sequence[float],
        keyword_scores: Sequence[float | None],
        vector_ranks: Sequence[int | None],
    ) -> list[float]:
        keyword_ranks = _ranks(keyword_scores)
        w = self.keyword_weight
        return [
            (0.0 if v is None else (1.0 - w) / (self.k + v + 1)) + (0.0 if r is None else w / (self.k + r + 1))
            for v, r in zip(vector_ranks, keyword_ranks, strict=True)
        ]


@dataclass(frozen=True)
class ScoreFusion:
    """``(1 - w) * vector + w * keyword``, each side's scores normalised over this query's
    candidates: ``minmax`` to 0-1, ``zscore`` to mean 0 and deviation 1. Every candidate has a
    similarity (the stores score keyword candidates on both sides); one the keyword side did not
    return counts as its least candidate."""

    normalize: Literal["minmax", "zscore"] = "minmax"
    keyword_weight: float = 0.5

    def scores(
        self,
        query: str,
        similarities: Sequence[float],
        keyword_scores: Sequence[float | None],
        vector_ranks: Sequence[int | None],
    ) -> list[float]:
        scale = _minmax if self.normalize == "minmax" else _zscore
        vector = scale(list(similarities))
        returned = [s for s in keyword_scores if s is not None]
        scaled = dict(zip(returned, scale(returned), strict=True)) if returned else {}
        least = min(scaled.values(), default=0.0)
        w = self.keyword_weight
        return [(1.0 - w) * v + w * (least if s is None else scaled[s]) for v, s in zip(vector, keyword_scores)]


@dataclass(frozen=True)
class PerQueryFusion:
    """``fuse`` with ``FusionWeights``: the keyword weight moves per query (module docstring)."""

    weights: FusionWeights = FusionWeights()

    def scores(
        self,
        query: str,
        similarities: Sequence[float],
        keyword_scores: Sequence[float | None],
        vector_ranks: Sequence[int | None],
    ) -> list[float]:
        return per_query_scores(query, similarities, keyword_scores, self.weights)


Fusion = RankFusion | ScoreFusion | PerQueryFusion

DEFAULT_FUSION: Fusion = PerQueryFusion()
"""What hybrid search does unless a store is given another. Chosen leaving one corpus out over six
corpora against RRF (k 2-100) and min-max / z-score fusion (keyword weight 0.2-0.7): the best
mean hit@5 and never below its better side or naive RRF on any corpus (bench/RESULTS.md,
issue 29)."""


def fuse(
    query: str,
    similarities: Sequence[float],
    keyword_scores: Sequence[float | None],
    fusion: Fusion | FusionWeights = DEFAULT_FUSION,
    vector_ranks: Sequence[int | None] | None = None,
) -> list[float]:
    """Fused scores of candidates, index for index.

    Args:
        similarities: cosine similarity of every candidate to the query.
        keyword_scores: BM25 score, or None for candidates the keyword side did not return.
        fusion: how to fuse (``FusionWeights`` alone: the per-query fusion with them).
        vector_ranks: each candidate's rank (0 first) in the vector side's results, None for one
            it did not return; None: the candidates ranked by similarity.
    Returns:
        Scores in [0, 1]; higher is better. Only their order and spread within one query mean
        anything.
    """
    if not similarities:
        return []
    if isinstance(fusion, FusionWeights):
        fusion = PerQueryFusion(fusion)
    if vector_ranks is None:
        vector_ranks = _ranks(similarities)
    if len(vector_ranks) != len(similarities) or len(keyword_scores) != len(similarities):
        raise ValueError(
            f"fuse needs one similarity, keyword score and vector rank per candidate, not "
            f"{len(similarities)}, {len(keyword_scores)} and {len(vector_ranks)}"
        )
    scores = fusion.scores(query, similarities, keyword_scores, vector_ranks)
    return scores if isinstance(fusion, PerQueryFusion) else _minmax(scores)


def _ranks(scores: Sequence[float | None]) -> list[int | None]:
    """Each score's rank among the given ones, 0 for the best (ties keep their order); None stays."""
    order = sorted((i for i, s in enumerate(scores) if s is not None), key=lambda i: -scores[i])
    ranks: list[int | None] = [None] * len(scores)
    for rank, i in enumerate(order):
        ranks[i] = rank
    return ranks


def _minmax(values: list[float]) -> list[float]:
    lo, hi = min(values, default=0.0), max(values, default=0.0)
    return [(v - lo) / (hi - lo) if hi > lo else 1.0 for v in values]


def _zscore(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [0.0] * len(values)
    mean, dev = statistics.fmean(values), statistics.pstdev(values)
    return [(v - mean) / dev if dev > 0 and math.isfinite(dev) else 0.0 for v in values]
