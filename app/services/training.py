"""Training actions that rest on this installation's index and embedder: a re-ranker trained from
the indexed passages and feedback, and a model's answers scored against reference answers. The
command line's ``train reranker`` and ``eval`` call these instead of reaching for the backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.services.base import AuditedService
from app.services.feedback import FeedbackService
from feedback.stores.base import InteractionFilter
from training.evaluate import ModelScores, score
from training.reranker import RerankerOptions, RerankerReport, build_reranker


class TrainingService(AuditedService):
    """Training actions on behalf of one identity."""

    def train_reranker(
        self,
        out: Path,
        options: RerankerOptions,
        *,
        use_feedback: bool = True,
        progress: Callable[[str], None] = lambda _: None,
    ) -> RerankerReport:
        """Train a passage re-ranker into ``out`` from the index's passages and, with
        ``use_feedback``, from the feedback records (read as a dataset: admins only, audited), and
        measure search on held-out questions with and without it.

        Raises:
            Forbidden: ``use_feedback`` and the identity may not read every record.
            TrainingError: too little to train on (an empty index), or training failed.
            FeedbackError: the records cannot be read.
        """
        from rag.embedders.local import resolve_model_path
        from training.trainers.profiles import PACKAGED_CLASSIFIER

        records = []
        if use_feedback:
            records = FeedbackService(self.backends, self.identity, self.audit).interactions(InteractionFilter())
        return build_reranker(
            self.backends.store,
            self.backends.embedder,
            records,
            out,
            options,
            base=resolve_model_path(PACKAGED_CLASSIFIER),
            mode=self.backends.settings.search_mode,
            progress=progress,
        )

    def score_answers(self, model: str, answers: list[str], references: list[str]) -> ModelScores:
        """``model``'s ``answers`` scored against ``references``: the mean similarity of each pair
        under this installation's embedding model, and the share that states the reference's
        numbers (``training.evaluate.score``)."""
        return score(model, answers, references, self.backends.embedder.embed_documents)
