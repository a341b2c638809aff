"""Errors raised by the rag package. Entry points turn them into messages for people."""


class RagError(Exception):
    """Base class for every error the rag package raises on purpose."""


class LoadError(RagError):
    """A file could not be turned into text. ``reason`` is short enough for a summary table."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StoreError(RagError):
    """The vector store could not do what was asked."""


class EmbeddingModelMismatch(StoreError):
    """The index was built with one embedding model and is being queried with another."""


class GeneratorError(RagError):
    """The answer model failed or is not available."""


class InvalidQuery(RagError):
    """A question or search query was rejected before any work was done."""
