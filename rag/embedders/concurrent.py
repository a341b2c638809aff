"""Concurrent batches for remote embedders, so a large corpus ingests at the endpoint's rate.

A remote embedder (SageMaker, Bedrock, any HTTP model server) spends most of a request
waiting: one batch of 32 chunks takes a round trip of 100-300 ms whatever the endpoint's
capacity. ``ConcurrentEmbedder`` wraps any ``Embedder`` and keeps ``concurrency`` batches in
flight at once from a bounded thread pool, retrying a batch that failed for a passing reason
(throttling, a dropped connection) with exponential backoff and jitter. The order of the rows
is the order of the texts. Local models gain nothing from it (the CPU is the limit there):
the composition root uses it for remote backends only.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rag.errors import RagError

# The remote embedders' own messages for errors worth another try (rag/aws.py words them so).
_PASSING = ("retry", "throttl", "too many requests", "timed out", "timeout", "connection", "temporarily")


def is_passing(error: BaseException) -> bool:
    """Whether ``error`` may go away by itself: throttling, a timeout, a dropped connection."""
    if isinstance(error, (TimeoutError, ConnectionError)):
        return True
    text = str(error).lower()
    return isinstance(error, RagError) and any(word in text for word in _PASSING)


class ConcurrentEmbedder:
    """Any embedder, with its batches sent concurrently.

    Args:
        inner: the embedder that does the work; its ``embed_documents`` must be thread-safe
            (boto3 clients are).
        batch_size: texts per request to ``inner``.
        concurrency: requests in flight at most.
        retries: extra attempts for a batch that failed with a passing error (see ``is_passing``).
        backoff: seconds before the first retry; doubled each time, with up to 50% jitter.
        sleep: the pause function (tests pass a fake clock).

    Raises (from ``embed_documents``): the first error of a batch that failed for good; the
    batches still queued are cancelled.
    """

    def __init__(
        self,
        inner,
        *,
        batch_size: int = 32,
        concurrency: int = 4,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if batch_size < 1 or concurrency < 1 or retries < 0 or backoff < 0:
            raise ValueError(
                f"batch_size and concurrency must be >= 1, retries and backoff >= 0 "
                f"(got {batch_size}, {concurrency}, {retries}, {backoff})"
            )
        self.inner = inner
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.retried = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def __repr__(self) -> str:
        return f"ConcurrentEmbedder({self.inner!r}, batch_size={self.batch_size}, concurrency={self.concurrency})"

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="embed")
            return self._pool

    def _with_retries(self, texts: list[str]) -> np.ndarray:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return self.inner.embed_documents(texts)
            except Exception as e:
                if attempt == self.retries or not is_passing(e):
                    raise
                with self._lock:
                    self.retried += 1
                self._sleep(delay * (1 + random.random() / 2))
                delay *= 2
        raise AssertionError("unreachable")

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 (len(texts), dimension), rows in the order of ``texts``."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1:
            return self._with_retries(batches[0])
        futures = [self._executor().submit(self._with_retries, batch) for batch in batches]
        try:
            return np.concatenate([f.result() for f in futures])
        except BaseException:
            for f in futures:
                f.cancel()
            raise

    def embed_query(self, text: str) -> np.ndarray:
        return self._with_retries([text])[0]

    def close(self) -> None:
        """Stop the worker threads (they also stop with the process)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
