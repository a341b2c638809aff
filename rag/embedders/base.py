"""The embedder protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into unit-length vectors.

    ``model_id`` names the model; an index records it and refuses queries embedded with
    another model. ``dimension`` is the vector length.
    """

    model_id: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages for indexing.

        Returns:
            A float32 array of shape (len(texts), dimension), rows L2-normalised.
        """
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query. Returns a float32 vector of length ``dimension``."""
        ...
