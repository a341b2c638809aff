"""Concurrent requests to a local model, decoded together.

A batch job that asks one question per thread (the judge grading records ``concurrency`` at a
time) would make a local model answer them one after the other: it runs one forward pass at a
time. ``MicroBatcher`` gathers the requests that arrive together and hands them over in one
``generate_batch`` call: decoded together where the runtime batches (transformers), one after
another where it does not (ONNX Runtime GenAI, whose batches ignored their padding).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.generators.base import GenerationParams, Generator, Message, generate_all


@dataclass(eq=False)
class _Request:
    messages: list[Message]
    params: GenerationParams | None
    reply: str | None = None
    error: BaseException | None = None
    done: bool = field(default=False)


class MicroBatcher:
    """``generate`` for many threads at once over one generator.

    Each caller blocks for its own reply. The first caller of a round waits up to ``window``
    seconds for others (or until ``size`` requests are waiting), then decodes the waiting requests
    that share its parameters as one batch while later callers queue for the next round.

    Args:
        generator: the model; batched when its ``supports_batch`` is True, else one at a time.
        size: requests decoded together at most.
        window: how long the first request of a round waits for company, in seconds.
    """

    def __init__(self, generator: Generator, *, size: int = 8, window: float = 0.25):
        if size < 1:
            raise ValueError(f"size={size!r} must be 1 or more")
        self.generator = generator
        self.model_id = generator.model_id
        self.size = size
        self.window = window
        self.batches: list[int] = []  # the size of every batch decoded, for tests and benches
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._busy = False

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        """The model's reply to one conversation. Raises what the generator raises."""
        mine = _Request(list(messages), params)
        with self._cond:
            self._pending.append(mine)
            self._cond.notify_all()
        while True:
            with self._cond:
                while not mine.done and self._busy:
                    self._cond.wait()
                if mine.done:
                    break
                self._busy = True
                self._cond.wait_for(lambda: len(self._pending) >= self.size, timeout=self.window)
                first = self._pending[0].params
                batch = [r for r in self._pending if r.params == first][: self.size]
                for request in batch:
                    self._pending.remove(request)
            self._run(batch)
        if mine.error is not None:
            raise mine.error
        return mine.reply or ""

    def _run(self, batch: list[_Request]) -> None:
        try:
            replies = generate_all(self.generator, [r.messages for r in batch], batch[0].params)
            for request, reply in zip(batch, replies, strict=True):
                request.reply = reply
        except BaseException as e:  # every caller of the batch gets the error
            for request in batch:
                request.error = e
        finally:
            with self._cond:
                self.batches.append(len(batch))
                for request in batch:
                    request.done = True
                self._busy = False
                self._cond.notify_all()
