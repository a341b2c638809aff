"""Deterministic stand-ins for testing the code around a model, never the model itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rag.generators.base import GenerationParams, Message


class FakeGenerator:
    """Replies with queued texts (or a fixed default) and records every prompt it was given."""

    supports_streaming = True
    supports_batch = False

    def __init__(
        self,
        replies: Sequence[str] = (),
        default: str = "The answer is in the passages [1].",
        model_id: str = "fake-model",
    ):
        self.replies = list(replies)
        self.default = default
        self.model_id = model_id
        self.history: list[list[Message]] = []

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        return "".join(self.stream(messages, params))

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        self.history.append(list(messages))
        reply = self.replies.pop(0) if self.replies else self.default
        for word in reply.split(" "):
            yield word + " "
