"""The blind A/B test of a candidate model against the served one (``training.ab``, routed by
``app.wiring.ab``): the two arms' figures for the Admin page, and an admin's two decisions,
promote the candidate or stop the test, both audited.

An arm is the users' answers (not synthetic pairs) its model wrote since the candidate was
registered, read through the store's filters page by page and told apart by the model id every
interaction records. The store has no filter by model id: DynamoDB would need it projected into
every index (a table upgrade), and one pass over the test's weeks of answers is cheap.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from pydantic import BaseModel, Field

from app.services.access import Action, authorize
from app.services.base import AuditedService
from feedback.stores.base import InteractionFilter
from feedback.stores.paging import iter_interactions
from training.ab import Arm, Significance, Stop, negative_share_test, under_test
from training.errors import RegistryError
from training.registry import ModelCard, Promotion


class ArmFigures(BaseModel):
    """What one arm's model answered and how it was rated."""

    arm: Arm
    model_id: str
    answers: int = 0
    rated: int = 0
    ratings: dict[int, int] = Field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))
    negative: int = Field(default=0, description="Rated 1 or 2.")
    judged: int = Field(default=0, description="With a usable judge score.")
    judge_total: float = 0.0
    judge_good: int = Field(default=0, description="Judge score 4 or more.")

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.rated if self.rated else None

    @property
    def judge_mean(self) -> float | None:
        return self.judge_total / self.judged if self.judged else None

    @property
    def judge_good_share(self) -> float | None:
        return self.judge_good / self.judged if self.judged else None


class ABReport(BaseModel):
    """The test as the Admin page shows it. ``candidate`` None: no test (``status`` says why)."""

    status: str
    running: bool
    share: float
    served: str
    candidate: ModelCard | None = None
    stopped: Stop | None = None
    since: datetime | None = None
    arms: list[ArmFigures] = Field(default_factory=list, description="served, then candidate.")
    significance: Significance | None = None
    unreadable: int = 0


class ABService(AuditedService):
    """The A/B test on behalf of one identity."""

    @cached_property
    def _models(self):
        from app.services.models import ModelService

        return ModelService(self.backends, self.identity, self.audit)

    @property
    def _router(self):
        return self.backends.ab

    def report(self) -> ABReport:
        """The test now and each arm's figures. Raises Forbidden (the dashboard's roles), FeedbackError,
        RegistryError (the registry or the stopped tests cannot be read)."""
        authorize(self.identity, Action.SEE_DASHBOARD)
        s = self.backends.settings
        served = self._models.served()[0]
        card = under_test(self._router.registry, s.ab_candidate)
        stopped = self._router.ledger.stopped().get(card.id) if card else None
        running = card is not None and stopped is None and s.ab_share > 0 and s.generator == "local"
        report = ABReport(
            status=_status(card, stopped, s), running=running, share=s.ab_share, served=served, candidate=card,
            stopped=stopped,
        )  # fmt: skip
        if card is None:
            return report
        arms = {
            served: ArmFigures(arm="served", model_id=served),
            card.id: ArmFigures(arm="candidate", model_id=card.id),
        }
        unreadable: list[str] = []
        filters = InteractionFilter(since=card.created_at, origin="user")
        for record in iter_interactions(self.backends.feedback_store, filters, unreadable=unreadable):
            figures = arms.get(record.model_id)
            if figures is None:  # a verified answer, or a model outside the test
                continue
            figures.answers += 1
            if record.feedback is not None:
                figures.rated += 1
                figures.ratings[record.feedback.rating] += 1
                figures.negative += record.feedback.rating <= 2
            if record.judge is not None and record.judge.score is not None:
                figures.judged += 1
                figures.judge_total += record.judge.score
                figures.judge_good += record.judge.score >= 4
        a, b = arms[served], arms[card.id]
        report.arms = [a, b]
        report.since = card.created_at
        report.unreadable = len(unreadable)
        report.significance = negative_share_test(
            a.negative, a.rated, b.negative, b.rated, alpha=s.ab_alpha, power=s.ab_power, min_effect=s.ab_min_effect
        )
        return report

    def promote(self, *, force: str | None = None) -> Promotion:
        """Serve the candidate under test from now on (the registry's promote, audited as "model
        promote"), which ends the test; "ab promote" records the arms' figures it was decided on.

        Raises:
            Forbidden: only admins change the served model.
            RegistryError: no candidate is under test, or the registry refused (a candidate the
                gate did not call better needs ``force``, a reason).
        """
        authorize(self.identity, Action.SERVE_MODEL)
        report = self.report()
        if report.candidate is None:
            raise RegistryError(f"no candidate to promote: {report.status}")
        event = self._models.promote(report.candidate.id, force=force)
        self._router.forget()
        self.audit.record("ab promote", target=report.candidate.id, **_evidence(report))
        return event

    def stop(self) -> Stop:
        """Send no more conversations to the candidate (every app process within
        RAGBOT_MODEL_CHECK_S seconds); its conversations so far keep their figures. Audited.

        Raises:
            Forbidden: only admins change the served model.
            RegistryError: no test runs.
        """
        authorize(self.identity, Action.SERVE_MODEL)
        report = self.report()
        if not report.running or report.candidate is None:
            self.audit.refused("ab stop", report.status)
            raise RegistryError(f"no A/B test to stop: {report.status}")
        stop = self._router.ledger.stop(report.candidate.id, by=self.identity.user)
        self._router.forget()
        self.audit.record("ab stop", target=report.candidate.id, **_evidence(report))
        return stop


def _status(card: ModelCard | None, stopped: Stop | None, s) -> str:
    if card is None:
        named = f"RAGBOT_AB_CANDIDATE ({s.ab_candidate}) is the served model" if s.ab_candidate else None
        return named or "no candidate to test: none the gate called better is waiting to be served"
    if stopped is not None:
        return f"the test of {card.id} was stopped by {stopped.by} at {stopped.at:%Y-%m-%d %H:%M} UTC"
    if s.generator != "local":
        return f"no test: candidates are local models and the answer model is {s.generator}"
    if s.ab_share <= 0:
        return f"{card.id} is ready to test: set RAGBOT_AB_SHARE (0–1) to send it a share of new conversations"
    return f"{s.ab_share:.0%} of new conversations go to {card.id}"


def _evidence(report: ABReport) -> dict:
    """The figures a decision was taken on, for the audit log."""
    out: dict = {"share": report.share}
    for arm in report.arms:
        out[f"{arm.arm}_answers"] = arm.answers
        out[f"{arm.arm}_rated"] = arm.rated
        out[f"{arm.arm}_negative"] = arm.negative
    if report.significance is not None and report.significance.p_value is not None:
        out["p_value"] = round(report.significance.p_value, 4)
        out["verdict"] = report.significance.verdict
    return out
