"""MicroBatcher: concurrent requests decoded together, each caller getting its own reply."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from rag.errors import GeneratorError
from rag.generators.base import GenerationParams, Message
from rag.generators.batching import MicroBatcher


class EchoBatchGenerator:
    """Replies to each conversation with its question reversed; records every batch it decoded."""

    supports_streaming = False
    supports_batch = True
    model_id = "echo"

    def __init__(self, fail_on: str | None = None):
        self.batches: list[list[str]] = []
        self.params: list[GenerationParams | None] = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def generate_batch(self, conversations, params=None):
        questions = [c[-1].content for c in conversations]
        with self._lock:
            self.batches.append(questions)
            self.params.append(params)
        if self.fail_on in questions:
            raise GeneratorError("the model ran out of memory")
        return [q[::-1] for q in questions]

    def generate(self, messages, params=None):
        return self.generate_batch([messages], params)[0]


def ask(question: str) -> list[Message]:
    return [Message(role="system", content="Passages."), Message(role="user", content=question)]


def run_together(batcher, questions, params=None):
    with ThreadPoolExecutor(len(questions)) as pool:
        return list(pool.map(lambda q: batcher.generate(ask(q), params), questions))


def test_concurrent_requests_are_decoded_together_and_each_gets_its_own_reply():
    model = EchoBatchGenerator()
    batcher = MicroBatcher(model, size=4, window=0.5)
    questions = [f"question {i}" for i in range(8)]
    assert run_together(batcher, questions) == [q[::-1] for q in questions]
    assert sorted(q for batch in model.batches for q in batch) == sorted(questions)  # each decoded once
    assert all(len(b) <= 4 for b in model.batches)
    assert max(batcher.batches) > 1 and len(model.batches) < 8


def test_a_lone_request_waits_only_the_window():
    model = EchoBatchGenerator()
    assert MicroBatcher(model, size=8, window=0.01).generate(ask("alone")) == "enola"
    assert model.batches == [["alone"]]


def test_requests_with_different_parameters_never_share_a_batch():
    model = EchoBatchGenerator()
    batcher = MicroBatcher(model, size=8, window=0.3)
    short, long = GenerationParams(max_new_tokens=8), GenerationParams(max_new_tokens=64)
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(batcher.generate, ask(f"q{i}"), short if i % 2 else long) for i in range(6)]
        replies = [f.result() for f in futures]
    assert replies == [f"q{i}"[::-1] for i in range(6)]
    for questions, params in zip(model.batches, model.params, strict=True):
        assert {int(q[1:]) % 2 for q in questions} == {1 if params == short else 0}


def test_an_error_reaches_every_caller_of_its_batch_and_the_next_batch_runs():
    model = EchoBatchGenerator(fail_on="boom")
    batcher = MicroBatcher(model, size=2, window=0.5)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(batcher.generate, ask(q)) for q in ("boom", "fine")]
        errors = [f.exception() for f in futures]
    together = ["boom", "fine"] in model.batches or ["fine", "boom"] in model.batches
    if together:
        assert all(isinstance(e, GeneratorError) for e in errors)
    else:  # the second request came after the window: only the failing one failed
        assert isinstance(errors[0], GeneratorError) and errors[1] is None
    assert batcher.generate(ask("after")) == "retfa"


def test_size_must_be_positive():
    with pytest.raises(ValueError, match="size=0"):
        MicroBatcher(EchoBatchGenerator(), size=0)


@pytest.mark.slow
def test_the_real_local_model_batched_gives_the_replies_it_gives_one_by_one(local_model_dir, tmp_path):
    from rag.generators.local import LocalGenerator

    model = LocalGenerator(str(local_model_dir), cache_dir=tmp_path)
    params = GenerationParams(max_new_tokens=16)
    questions = ["How many car parking spaces are there?", "How many trailer positions are there?", "Where?"]
    system = (
        "Answer using only these passages.\n\n[1] The site provides 412 car parking spaces and 38 trailer positions."
    )
    conversations = [[Message(role="system", content=system), Message(role="user", content=q)] for q in questions]
    batcher = MicroBatcher(model, size=3, window=1.0)
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda c: batcher.generate(c, params), conversations))
    assert batcher.batches == [3]
    assert together == [model.generate(c, params) for c in conversations]
