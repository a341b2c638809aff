"""Which model answers a conversation while a blind A/B test runs (``training.ab``).

``ABRouter.route`` gives the pipeline of a conversation's arm: the served model's
(``Backends.pipeline``), or the same pipeline with the candidate's generator, loaded once per
process and named by its registry id, so the interaction records which model answered. A test
runs while ``RAGBOT_AB_SHARE`` is above 0, the answer model is local and there is a candidate
(``training.ab.candidate``, looked up at most every ``RAGBOT_MODEL_CHECK_S`` seconds).

A conversation stays with the model that answered its first turn (a conversation begun before the
test stays on the served model); a new one goes where its id's hash says. A candidate that cannot
be loaded is logged and not tried again in this process: its conversations get the served model,
and the user sees an answer, never the failure.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from training.ab import ABLedger, Arm, arm, candidate
from training.errors import RegistryError
from training.registry import ModelCard, Registry

log = logging.getLogger(__name__)


class NamedGenerator:
    """A generator that records ``model_id`` (a registry id) instead of the folder it loads."""

    def __init__(self, model_id: str, inner: object):
        self.model_id = model_id
        self.inner = inner

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.inner, name)


@dataclass
class Route:
    """The arm of one conversation and the pipeline that answers it."""

    arm: Arm
    pipeline: object
    candidate: str | None = None


class ABRouter:
    """The A/B arms of one process; see the module's docstring.

    Args:
        backends: the process's backends (settings, pipeline, served generator).
        make: builds a generator for a model folder (default: the local generator the served
            model uses).
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, backends, make: Callable[[str], object] | None = None, clock=time.monotonic):
        self.backends = backends
        self.make = make or self._local
        self.clock = clock
        self._lock = threading.Lock()
        self._pipelines: dict[str, object] = {}
        self._failed: set[str] = set()
        self._looked: tuple[float, ModelCard | None] | None = None

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.backends.settings.models_dir)

    @cached_property
    def ledger(self) -> ABLedger:
        return ABLedger(self.backends.settings.models_dir / "ab.json")

    def candidate(self) -> ModelCard | None:
        """The candidate under test now; None when no test runs."""
        s = self.backends.settings
        if s.ab_share <= 0 or s.generator != "local":
            return None
        now = self.clock()
        with self._lock:
            if self._looked is not None and now - self._looked[0] < s.model_check_s:
                return self._looked[1]
        try:
            card = candidate(self.registry, self.ledger, s.ab_candidate)
        except RegistryError as e:
            log.warning("no A/B test: %s", e)
            card = None
        with self._lock:
            self._looked = (now, card)
        return card

    def forget(self) -> None:
        """Look the candidate up again at the next answer (a test was stopped or its candidate promoted)."""
        with self._lock:
            self._looked = None

    def route(self, session_id: str, earlier: Callable[[], Sequence[str]] = tuple) -> Route:
        """The arm and pipeline for the next answer of conversation ``session_id``.

        ``earlier`` gives the model ids that answered the conversation's earlier turns, oldest
        first (read only while a test runs). Never raises for the candidate: one that fails to
        load sends the conversation to the served model (logged).
        """
        served = Route("served", self.backends.pipeline)
        card = self.candidate()
        if card is None:
            return served
        before = list(earlier())
        if before:
            chosen: Arm = "candidate" if card.id in before else "served"
        else:
            chosen = arm(session_id, self.backends.settings.ab_share, card.id)
        if chosen == "served":
            return served
        pipeline = self._candidate_pipeline(card.id)
        return Route("candidate", pipeline, card.id) if pipeline is not None else served

    def blinded(self, model_id: str) -> bool:
        """Whether an answer by ``model_id`` must not say which model wrote it: a test runs and it is one of its arms."""
        card = self.candidate()
        return card is not None and model_id in (card.id, getattr(self.backends.generator, "model_id", None))

    def _candidate_pipeline(self, model_id: str):
        with self._lock:
            if model_id in self._pipelines:
                return self._pipelines[model_id]
            if model_id in self._failed:
                return None
            try:
                generator = NamedGenerator(model_id, self.make(str(self.registry.path(model_id))))
                generator.load()
            except Exception:  # whatever the load raised, the user gets the served model's answer
                log.warning(
                    "the A/B candidate %s failed to load; its conversations get the served model",
                    model_id,
                    exc_info=True,
                )
                self._failed.add(model_id)
                return None
            pipeline = dataclasses.replace(self.backends.pipeline, generator=generator)
            self._pipelines[model_id] = pipeline
            return pipeline

    def _local(self, path: str):
        from app.wiring.factories import local_generator_at

        return local_generator_at(self.backends.settings, path)
