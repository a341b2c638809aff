"""A re-ranker's order blended with the first stage's, instead of replacing it.

A cross-encoder trained on a few thousand pairs knows less than the first stage about many
corpora (issue 13.4: replacing hybrid's order took manuals hit@5 from 0.95 to 0.45). Reciprocal
rank fusion of the two orders lets the re-ranker move a passage the first stage nearly found
without throwing away what the first stage got right; ``weight`` is the re-ranker's share
(0: the first stage's order, 1: the re-ranker's). Ranks, not scores, are fused, so a model whose
scores are on any scale blends the same way.

The blend is saved beside the model it was chosen for (``BLEND_FILE``), so the folder
``RAGBOT_RERANKER`` names carries it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from common.files import atomic_write
from rag.errors import RagError
from rag.records import ScoredChunk

BLEND_FILE = "ragbot-blend.json"


@dataclass(frozen=True)
class Blend:
    """Reciprocal rank fusion of the first stage's order and the re-ranker's.

    Args:
        weight: the re-ranker's share, 0-1 (1 replaces the first stage's order).
        k: the RRF constant; larger flattens the difference between neighbouring ranks.
    """

    weight: float = 0.5
    k: int = 60

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise RagError(f"blend weight {self.weight} is outside 0-1")
        if self.k < 0:
            raise RagError(f"blend k {self.k} is negative")

    def fuse(self, candidates: Sequence[ScoredChunk], scores: Sequence[float]) -> list[ScoredChunk]:
        """``candidates`` (in the first stage's order, best first) reordered by the fused rank of
        their position and of their re-ranker ``scores``; each ``score`` is the fused one. Ties
        keep the first stage's order."""
        if len(candidates) != len(scores):
            raise RagError(f"{len(scores)} re-ranker scores for {len(candidates)} candidates")
        by_model = sorted(range(len(scores)), key=lambda i: -scores[i])
        second = {i: rank for rank, i in enumerate(by_model, start=1)}
        fused = [
            (1 - self.weight) / (self.k + i + 1) + self.weight / (self.k + second[i]) for i in range(len(candidates))
        ]
        order = sorted(range(len(candidates)), key=lambda i: (-fused[i], i))
        return [candidates[i].model_copy(update={"score": fused[i]}) for i in order]

    def save(self, folder: Path) -> None:
        atomic_write(folder / BLEND_FILE, json.dumps(asdict(self)) + "\n")

    @classmethod
    def of(cls, folder: Path) -> Blend | None:
        """The blend saved in a model folder, or None when it holds none."""
        path = folder / BLEND_FILE
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as e:
            raise RagError(f"{path} is not a blend ({e}): write it again with Blend.save or delete it") from e
