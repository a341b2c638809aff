"""An answer-model backend adapted to the AI judge's model protocol."""

from __future__ import annotations

from typing import Any

from common.secrets import scrub

LOCAL_JUDGE_BATCH = 8
"""Records a local judge model is handed at a time (see ``GeneratorJudgeModel``)."""


class GeneratorJudgeModel:
    """An answer-model backend as the judge's model (``feedback.judge.JudgeModel``): chat messages
    in, the whole reply out, greedy, with the backend's errors in the feedback package's terms
    (``ThrottledError`` -> ``JudgeThrottled``, any other ``GeneratorError`` -> ``JudgeModelError``).
    """

    def __init__(self, generator: Any, *, max_new_tokens: int, max_concurrency: int, batch: bool = False):
        from rag.generators.base import GenerationParams
        from rag.generators.batching import MicroBatcher

        # A local model answers one request at a time: concurrent grading requests are gathered
        # and handed to it as batches (rag.generators.batching), decoded together where the
        # runtime batches (transformers) and one after another where it does not (ONNX Runtime).
        self.generator = MicroBatcher(generator, size=max_concurrency) if batch else generator
        self.model_id = generator.model_id
        self.max_concurrency = max_concurrency
        self.params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0)

    def complete(self, messages) -> str:
        from feedback.errors import JudgeModelError, JudgeThrottled
        from rag.errors import GeneratorError, ThrottledError
        from rag.generators.base import Message

        # The reply is stored and the error printed and kept in the run's summary: neither may
        # carry a secret a server echoed.
        try:
            reply = self.generator.generate(
                [Message(role=m["role"], content=m["content"]) for m in messages], self.params
            )
        except ThrottledError as e:
            raise JudgeThrottled(scrub(str(e))) from None
        except GeneratorError as e:
            raise JudgeModelError(scrub(str(e))) from None
        return scrub(reply)
