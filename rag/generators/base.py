"""The generator protocol: chat messages in, text out (whole or streamed).

Messages are role/content pairs, the one format every backend speaks natively or maps
mechanically: chat templates (transformers), the Mistral ``[INST]`` prompt (SageMaker TGI),
the messages API (LMI / vLLM, OpenAI-compatible servers) and Bedrock's Converse.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol, cast

from pydantic import BaseModel, Field


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class GenerationParams(BaseModel):
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 means greedy: answers from documents should be repeatable
    top_p: float = 0.9
    # Above 1.0 the penalty also punishes copying numbers and codes from the passages, which is
    # exactly what a grounded answer must do; measured on SmolLM2-135M it turned right answers wrong.
    repetition_penalty: float = 1.0
    # Forbid the model to write any run of this many tokens twice (0: off); the local runtimes
    # apply it (transformers, ONNX Runtime GenAI), servers ignore it. Loops are stopped anyway by
    # rag.generators.repetition, which also drops the repeated text (bench/repetition.py).
    no_repeat_ngram_size: int = Field(default=0, ge=0)
    # The sampler's seed when temperature > 0 (None: unseeded). A regeneration gets its own, so
    # two regenerations differ while each can be replayed; greedy decoding ignores it.
    seed: int | None = Field(default=None, ge=0, lt=2**31)


class Generator(Protocol):
    """An answer model.

    ``model_id`` is recorded with every answer. ``supports_streaming`` tells whether
    ``stream`` yields tokens as they are produced or the whole text at the end.
    ``supports_batch`` tells whether ``generate_batch`` exists and is faster than a loop (the
    local model decodes several sequences for little more than the cost of one); callers use
    ``generate_all``, which loops over ``generate`` for the others.
    """

    model_id: str
    supports_streaming: bool
    supports_batch: bool

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        """The full reply. Raises GeneratorError when the model fails."""
        ...

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        """The reply in pieces, in order; their concatenation is the reply. Raises GeneratorError."""
        ...

    def load(self) -> None:
        """Be ready to answer now (load the weights) rather than at the first request; calling it
        again does nothing. A model behind a server has nothing to load. Raises GeneratorError."""
        ...

    def close(self) -> None:
        """Release connections or memory; the generator may be used again afterwards."""
        ...


class RemoteModel:
    """``load`` and ``close`` of a generator whose model runs behind a server."""

    def load(self) -> None:
        """Nothing to load: the model runs on the server."""

    def close(self) -> None:
        """Nothing held open between requests."""


class BatchGenerator(Generator, Protocol):
    """A generator whose ``supports_batch`` is True."""

    def generate_batch(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams | None = None
    ) -> list[str]:
        """One reply per conversation, in input order; under greedy decoding each equals what
        ``generate`` gives for it. Raises GeneratorError."""
        ...


def generate_all(
    generator: Generator, conversations: Sequence[Sequence[Message]], params: GenerationParams | None = None
) -> list[str]:
    """One reply per conversation, in order: batched when the generator supports it.

    For ``ragbot eval`` and the judge. Raises GeneratorError.
    """
    if generator.supports_batch:
        return cast(BatchGenerator, generator).generate_batch(conversations, params)
    return [generator.generate(messages, params) for messages in conversations]
