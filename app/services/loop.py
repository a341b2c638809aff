"""The loop as one operation: feedback in, a proven candidate model out (``training.loop``).

``run`` wires the training package's runner to this installation: the feedback store's records,
the AI judge (scoring what is unscored, and grading the evaluation answers when a judge model is
set), the embedder, the served model and the registry. Admins only; each run is audited with its
outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from app.services.access import Action, authorize
from app.services.base import AuditedService
from app.services.models import ModelService
from feedback.stores.base import InteractionFilter
from training.evalset import EvalSetCard, EvalSets
from training.loop import LoopContext, LoopRunner
from training.loop_state import LoopOptions, RunState, RunStore


class LoopService(AuditedService):
    """Loop actions on behalf of one identity (admins)."""

    @cached_property
    def models(self) -> ModelService:
        return ModelService(self.backends, self.identity, self.audit)

    @cached_property
    def evalsets(self) -> EvalSets:
        return EvalSets(self.backends.settings.evalsets_dir)

    def _records(self):
        from app.services.feedback import FeedbackService

        feedback = FeedbackService(self.backends, self.identity, self.audit)
        return feedback.interactions(InteractionFilter())

    def _counter(self):
        """The answer model's tokenizer (the packaged SmolLM2's, the trainers' default base)."""
        from training.tokens import load_tokenizer

        return load_tokenizer(self.backends.settings.local_model, self.backends.settings.models_dir)

    def freeze_eval(self) -> EvalSetCard:
        """Take newly validated references and synthetic pairs into the frozen evaluation set (the
        same version when there are none). Raises Forbidden, EvaluationError, FeedbackError."""
        authorize(self.identity, Action.TRAIN)
        s = self.backends.settings
        card = self.evalsets.freeze(self._records(), self._counter(), share=s.eval_share)
        self.audit.record("freeze eval set", target=card.hash, questions=card.questions, added=card.added)
        return card

    def context(self, promote: bool = False) -> LoopContext:
        """What a run takes from this installation."""
        from app.wiring.model_roles import stand_in_model
        from app.services.judge import JudgeService

        s = self.backends.settings
        judge = JudgeService(self.backends, self.identity, self.audit)

        def judged() -> dict:
            summary = judge.run()
            return summary.model_dump(
                mode="json", include={"judge_model", "selected", "scored", "unparsable", "failed"}
            )

        return LoopContext(
            records=self._records,
            judge=judged,
            embed=self.backends.embedder.embed_documents,
            served=self.models.served,
            # The reference-similarity stand-in would only repeat the similarity metric.
            grader=lambda: None if stand_in_model(s, "judge") else judge.grader(),
            user=self.identity.user,
            cache_dir=s.models_dir,
            gate=s.gate_options(),
            eval_share=s.eval_share,
            registered=self._on_sagemaker(promote) if s.loop_model_data_url else None,
        )

    def _on_sagemaker(self, promote: bool):
        """In a loop job on SageMaker: each candidate also becomes a package of the Model Registry,
        whose model is the artifact the job uploads (``--export`` writes it)."""
        from training.sagemaker_registry import SageMakerModelRegistry, SageMakerRegistrySettings

        url = self.backends.settings.loop_model_data_url

        def register(card, folder):
            return SageMakerModelRegistry(SageMakerRegistrySettings()).register(card, url, approve=promote)

        return register

    def run(
        self, options: LoopOptions, *, fresh: bool = False, progress: Callable[[str], None] | None = None
    ) -> RunState:
        """One loop run, resuming an unfinished one with the same options (not with ``fresh``).

        Raises:
            Forbidden: only admins run the loop.
            LoopError: another run holds the lock, or a step failed (the served model is untouched).
        """
        from training.errors import LoopError

        authorize(self.identity, Action.TRAIN)
        runner = LoopRunner(
            self.backends.settings.loop_dir, self.evalsets, self.models.registry, self.context(options.promote)
        )
        try:
            state = runner.run(options, fresh=fresh, progress=progress)
        except LoopError as e:
            self.audit.record("loop run", outcome="failed", reason=str(e)[:2000], method=options.method)
            raise
        self.audit.record(
            "loop run",
            target=state.candidate,
            status=state.status,
            verdict=state.verdict,
            promoted=state.promoted,
            run=state.id,
            eval_set=state.eval_set,
            data_hash=state.data_hash,
        )
        return state

    def runs(self) -> list[RunState]:
        """Every run, newest first. Raises Forbidden."""
        authorize(self.identity, Action.TRAIN)
        return RunStore(self.backends.settings.loop_dir).runs()
