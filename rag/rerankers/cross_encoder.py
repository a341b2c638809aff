"""Re-ranking with any sentence-transformers CrossEncoder folder (``RAGBOT_RERANKER=PATH``).

A cross-encoder reads the query and a passage together, which a bi-encoder cannot: it sees that
"default of BV" and a row "BV Reverse breakdown voltage V ∞" belong together. It costs a
forward pass per candidate, so it only reorders the first stage's best ``candidates``. The
passage is given with its context (title, folder, heading), as it is indexed.

No weights are downloaded: the folder is one trained elsewhere or by ``ragbot train reranker``
(``training.reranker``). The model's order is blended with the first stage's
(``rag.rerankers.blend``), as the folder's blend file says, or with the default blend.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from rag.errors import RagError
from rag.records import Chunk, ScoredChunk
from rag.rerankers.blend import Blend


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a CrossEncoder loaded on first use.

    Args:
        path: a folder sentence-transformers' ``CrossEncoder`` can load.
        batch_size: pairs per forward pass.
        max_length: tokens per pair (longer passages are truncated). 192 holds most of a
            1,000-character passage and its context; it is what bench/rerank_blend.py timed.
        device: torch device; ``None`` lets sentence-transformers choose.
        blend: how the model's order is fused with the first stage's; None reads the folder's
            blend file (``Blend.of``), else ``Blend()``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        batch_size: int = 16,
        max_length: int = 192,
        device: str | None = None,
        blend: Blend | None = None,
    ):
        self.path = Path(path).expanduser()
        self.model_id = self.path.name
        self.batch_size = batch_size
        self.max_length = max_length
        self._device = device
        self.blend = blend if blend is not None else (Blend.of(self.path) if self.path.is_dir() else None) or Blend()
        self._model = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CrossEncoderReranker({str(self.path)!r})"

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    if not self.path.is_dir():
                        raise RagError(f"RAGBOT_RERANKER={self.path}: no such folder (a CrossEncoder model folder)")
                    from sentence_transformers import CrossEncoder

                    try:
                        self._model = CrossEncoder(str(self.path), max_length=self.max_length, device=self._device)
                    except (OSError, ValueError) as e:
                        raise RagError(f"RAGBOT_RERANKER={self.path} is not a CrossEncoder model folder ({e})") from e
        return self._model

    def rerank(self, query: str, candidates: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """``candidates`` (in the first stage's order) reordered by ``blend``; ``score`` is the
        blended one."""
        if not candidates:
            return []
        pairs = [(query, passage_text(c.chunk)) for c in candidates]
        scores = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return self.blend.fuse(candidates, [float(s) for s in scores])


def passage_text(chunk: Chunk) -> str:
    """The passage as the re-ranker reads it (and is trained on): context, then text."""
    return f"{chunk.context}: {chunk.text}" if chunk.context else chunk.text
