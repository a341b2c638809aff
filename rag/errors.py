"""Errors raised by the rag package. Entry points turn them into messages for people."""

from common.secrets import scrub


class RagError(Exception):
    """Base class for every error the rag package raises on purpose."""

    def __str__(self) -> str:
        # Messages quote what servers answered, which may echo a secret they were sent: the
        # text shown, logged or stored never holds one the settings registered (common.secrets).
        return scrub(super().__str__())


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


class ThrottledError(GeneratorError):
    """The model's service refused the request as too many (HTTP 429, AWS throttling) even after the
    backend's own retries; the same request may succeed later, so batch jobs back off and retry."""


class InvalidQuery(RagError):
    """A question or search query was rejected before any work was done."""
