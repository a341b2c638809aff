"""ConcurrentEmbedder: batches in flight at once, rows in order, passing failures retried."""

import threading
import time

import numpy as np
import pytest

from rag.embedders.concurrent import ConcurrentEmbedder, is_passing
from rag.embedders.sagemaker import SageMakerEmbedder
from rag.errors import RagError
from tests.rag.generators.servers import Reply, aws_error


class SlowEmbedder:
    """A remote endpoint's shape: each call waits, and the wrapper must not wait in line."""

    model_id, dimension = "slow", 3

    def __init__(self, pause=0.05, failures=()):
        self.pause = pause
        self.failures = list(failures)
        self.in_flight = self.most_in_flight = self.calls = 0
        self.lock = threading.Lock()

    def embed_documents(self, texts):
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            failure = self.failures.pop(0) if self.failures else None
        try:
            time.sleep(self.pause)
            if failure:
                raise failure
            rows = np.array([[float(t), 1.0, 0.0] for t in texts], dtype=np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_rows_keep_the_order_of_the_texts_and_at_most_concurrency_batches_run():
    inner = SlowEmbedder()
    wrapper = ConcurrentEmbedder(inner, batch_size=2, concurrency=3)
    texts = [str(i) for i in range(11)]
    out = wrapper.embed_documents(texts)
    expected = np.array([[float(t), 1.0, 0.0] for t in texts])
    assert np.allclose(out, expected / np.linalg.norm(expected, axis=1, keepdims=True))
    assert inner.calls == 6 and inner.most_in_flight == 3
    wrapper.close()


def test_passing_failures_are_retried_with_backoff_and_lasting_ones_raised_at_once():
    pauses = []
    inner = SlowEmbedder(pause=0, failures=[RagError("endpoint throttled: retry later")])
    wrapper = ConcurrentEmbedder(inner, batch_size=4, retries=2, backoff=0.5, sleep=pauses.append)
    assert wrapper.embed_documents(["1", "2"]).shape == (2, 3)
    assert wrapper.retried == 1 and 0.5 <= pauses[0] <= 0.75
    inner.failures = [RagError("returned vectors of shape (5,); the configured dimension is 3")]
    with pytest.raises(RagError, match="dimension"):
        wrapper.embed_documents(["1"])
    assert wrapper.retried == 1
    assert is_passing(TimeoutError()) and not is_passing(ValueError("retry"))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="concurrency"):
        ConcurrentEmbedder(SlowEmbedder(), concurrency=0)


def test_a_throttled_sagemaker_endpoint_is_retried_after_botocore_gives_up(server, aws_env):
    inner = SageMakerEmbedder("tei-ep", model_id="m", dimension=3, endpoint_url=server.url, max_attempts=2)
    throttled = aws_error(400, "ThrottlingException", "Rate exceeded")
    server.reply(throttled, throttled, Reply.json([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    wrapper = ConcurrentEmbedder(inner, batch_size=32, concurrency=1, retries=1, sleep=lambda s: None)
    out = wrapper.embed_documents(["a", "b"])
    assert np.allclose(out, [[1, 0, 0], [0, 1, 0]]) and wrapper.retried == 1
    assert len(server.requests) == 3
