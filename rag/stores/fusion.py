"""Fusing vector and keyword rankings with weights chosen per query.

Reciprocal rank fusion throws the scores away and weighs both sides equally. On real
documents that made hybrid worse than its better side: on sibling filings BM25 is sure of the
wrong quarter as often as the right one, on manuals a question with a parameter name has one
keyword winner that RRF buries under five near-misses of the vector side. Here both scores
are kept and normalised per query, and the keyword side's weight moves with the evidence:

* up when the query holds an identifier (a code, a section number, a number with a unit):
  embeddings barely see "21 01 13" or "BV", BM25 matches it exactly;
* up when BM25's best candidate stands clear of the rest, down when the vector side's does
  (each side's "peak": how far its best score stands above its runner-up, on its own scale).

Every candidate of either side is scored on both: the store computes the cosine similarity
of keyword candidates from their stored vectors, so a passage found only by BM25 is not
treated as dissimilar. A candidate missing from the BM25 list gets keyword score 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.stores.identifiers import identifier_phrases

# A token with a digit, or an all-capitals name of 2-8 letters (a parameter, a standard).
_CODE_TOKEN = re.compile(r"\b(?=\w*\d)\w+\b|\b[A-Z][A-Z0-9_]{1,7}\b")


@dataclass(frozen=True)
class FusionWeights:
    """How much the keyword side counts (the vector side gets the rest).

    Measured on bench/real_retrieval.py's dev questions (see bench/RESULTS.md).
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


def fuse(
    query: str,
    similarities: Sequence[float],
    keyword_scores: Sequence[float | None],
    weights: FusionWeights = FusionWeights(),
) -> list[float]:
    """Fused scores of candidates, index for index.

    Args:
        similarities: cosine similarity of every candidate to the query.
        keyword_scores: BM25 score, or None for candidates the keyword side did not return.
    Returns:
        Scores in [0, 1]; higher is better.
    """
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
