"""AI judge actions: score interactions, score one now, judge new answers in the background, and
measure how far the judge agrees with people."""

from __future__ import annotations

from collections.abc import Callable

from app.services.access import Action, authorize
from app.services.base import AuditedService
from feedback.judge import AgreementReport, JudgeRunSummary
from feedback.judge.agreement import agreement
from feedback.judge.runner import Progress
from feedback.records import Interaction, JudgeScore
from feedback.stores.base import InteractionFilter


class JudgeService(AuditedService):
    """Judge actions on behalf of one identity (scoring and agreement: SMEs and admins)."""

    def run(
        self,
        filters: InteractionFilter | None = None,
        *,
        limit: int | None = None,
        rescore: bool = False,
        progress: Progress | None = None,
    ) -> JudgeRunSummary:
        """Score the matching interactions that have no judge score (all of them with ``rescore``),
        at most ``limit``, storing each score as soon as it is made; resumable (see
        ``feedback.judge.runner``). ``progress(done, total)`` is called as it goes.

        Returns the summary (scored, unparsable, failed, skipped, seconds, parser issues).

        Raises:
            Forbidden: the identity may not run the judge (SMEs and admins may).
            ConfigError: the judge backend lacks a setting.
            ValueError: ``limit`` is below 1.
            FeedbackError: the store cannot be read or written.
        """
        authorize(self.identity, Action.JUDGE)
        summary = self.backends.judge.run(filters, limit=limit, rescore=rescore, progress=progress)
        self.audit.record(
            "rescore" if rescore else "judge",
            limit=limit,
            filters=filters.model_dump(mode="json", exclude_none=True) if filters else {},
            scored=summary.scored,
            unparsable=summary.unparsable,
            failed=summary.failed,
            judge_model=summary.judge_model,
        )
        return summary

    def score(self, interaction_id: str) -> Interaction:
        """Score one interaction now (again, if it has a score) and return the stored record.

        Raises:
            Forbidden: the identity may not run the judge.
            NotFound: no interaction has that id.
            JudgeModelError: the judge model failed; nothing was stored.
            ConfigError, FeedbackError: as ``run``.
        """
        authorize(self.identity, Action.JUDGE)
        record = self.backends.judge.judge(interaction_id, rescore=True)
        self.audit.record("rescore", target=interaction_id, score=record.judge.score if record.judge else None)
        return record

    def grader(self) -> tuple[Callable[[Interaction], JudgeScore], int]:
        """The judge's grading of records that are not stored (``ragbot eval --judge`` grades a
        trained model's answers), and how many it may grade at once. Nothing is stored or audited.

        Raises:
            Forbidden: the identity may not run the judge.
            ConfigError: the judge backend lacks a setting.
        """
        authorize(self.identity, Action.JUDGE)
        judge = self.backends.judge
        return judge.grade, judge.concurrency

    def agreement(self, filters: InteractionFilter | None = None) -> AgreementReport:
        """Agreement of the judge's scores with users' ratings and with SME-validated scores over
        the matching interactions: n, Cohen's quadratic-weighted kappa on the 1–5 scale, Spearman's
        rho, MAE and the 5×5 confusion matrix (rows: the person, columns: the judge); see
        ``feedback.judge.agreement`` for the score-to-Likert mapping.

        Raises:
            Forbidden: the identity may not see everyone's answers (SMEs and admins may).
            FeedbackError: the store cannot be read.
        """
        authorize(self.identity, Action.SEE_ALL)
        return agreement(self.backends.feedback_store, filters)

    @property
    def auto_enabled(self) -> bool:
        """Whether new answers are judged in the background (RAGBOT_JUDGE_AUTO)."""
        return self.backends.settings.judge_auto

    def auto_judge(self, interaction_id: str) -> bool:
        """Hand a newly recorded answer to the background judge when RAGBOT_JUDGE_AUTO is on.

        Returns at once: True when it was queued, False when auto-judging is off or the queue is
        full (the answer then waits for the next judge run). No role check: the setting, not the
        person who asked, decides that answers are judged, and nothing is shown to them.
        """
        if not self.auto_enabled:
            return False
        return self.backends.judge_worker.submit(interaction_id)
