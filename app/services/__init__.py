"""Service functions: what the pages and the command line do, with the role checks.

``Services`` binds the process's ``Backends`` (built once) to one ``Identity`` (per request in
the web app, from settings on the command line) and groups the actions by what they act on:
``chat``, ``corpus``, ``feedback``, ``review``, ``verified``, ``judge``, ``synth``, ``models``, ``loop`` and ``audit``. Every action that not every role may do calls
``authorize`` (``app.services.access``) before anything else.
"""

from __future__ import annotations

from functools import cached_property

from app.config import Settings
from app.services.access import Action, Forbidden, Identity, authorize
from app.services.audit import AuditService
from app.services.chat import ChatService
from app.services.corpus import CorpusService, CorpusStatus
from app.services.feedback import FeedbackService
from app.services.judge import JudgeService
from app.services.review import ReviewService
from app.services.synth import SynthService
from app.services.verified import VerifiedService
from app.errors import ConfigError
from app.wiring.backends import Backends

__all__ = ["Action", "Backends", "ConfigError", "CorpusStatus", "Forbidden", "Identity", "Services", "authorize"]


class Services:
    """The product's actions for one identity over one set of backends."""

    def __init__(
        self, settings: Settings | None = None, *, backends: Backends | None = None, identity: Identity | None = None
    ):
        self.backends = backends or Backends(settings)
        self.settings = self.backends.settings
        self.identity = identity or Identity(user=self.settings.user, role=self.settings.role)

    def as_identity(self, identity: Identity) -> Services:
        """The same backends acting for someone else (one signed-in browser session)."""
        return Services(backends=self.backends, identity=identity)

    @cached_property
    def audit(self) -> AuditService:
        return AuditService(self.backends, self.identity)

    @cached_property
    def chat(self) -> ChatService:
        return ChatService(self.backends, self.identity)

    @cached_property
    def corpus(self) -> CorpusService:
        return CorpusService(self.backends, self.identity, self.audit)

    @cached_property
    def feedback(self) -> FeedbackService:
        return FeedbackService(self.backends, self.identity, self.audit)

    @cached_property
    def review(self) -> ReviewService:
        return ReviewService(self.backends, self.identity, self.audit)

    @cached_property
    def judge(self) -> JudgeService:
        return JudgeService(self.backends, self.identity, self.audit)

    @cached_property
    def synth(self) -> SynthService:
        return SynthService(self.backends, self.identity, self.audit)

    @cached_property
    def verified(self) -> VerifiedService:
        return VerifiedService(self.backends, self.identity, self.audit)

    @cached_property
    def models(self):
        """The served model and the registry (``app.services.models``; imported on first use)."""
        from app.services.models import ModelService

        return ModelService(self.backends, self.identity, self.audit)

    @cached_property
    def ab(self):
        """The blind A/B test of a candidate model (``app.services.ab``; imported on first use)."""
        from app.services.ab import ABService

        return ABService(self.backends, self.identity, self.audit)

    @cached_property
    def training(self):
        """A re-ranker trained from the index, answers scored against references
        (``app.services.training``; imported on first use)."""
        from app.services.training import TrainingService

        return TrainingService(self.backends, self.identity, self.audit)

    @cached_property
    def loop(self):
        """The loop run and the frozen evaluation set (``app.services.loop``; imported on first use)."""
        from app.services.loop import LoopService

        return LoopService(self.backends, self.identity, self.audit)
