"""Synthetic question–answer pairs: generate them from the indexed documents for SMEs to validate,
and export the validated ones as a retrieval evaluation set."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.services.access import Action, authorize
from app.services.base import AuditedService
from app.errors import ConfigError
from app.wiring.model_roles import stand_in_model
from rag.records import SearchFilters
from training.synth import KINDS, SynthRunSummary, export_eval
from training.synth.runner import Progress


STAND_IN_REFUSAL = (
    "ragbot synth needs a model that writes JSON, and none is configured: the local answer model "
    "(SmolLM2-135M by default) wrote no parsable pair on the sample corpus (0 of 3 pages, 7 minutes). "
    "Set RAGBOT_SYNTH_BACKEND=openai with RAGBOT_SYNTH_OPENAI_BASE_URL and RAGBOT_SYNTH_OPENAI_MODEL "
    "(or bedrock, sagemaker; README, Synthetic questions), or name a local model on purpose with "
    "RAGBOT_SYNTH_LOCAL_MODEL."
)


class SynthService(AuditedService):
    """Synth actions on behalf of one identity (admins: they build training data)."""

    def run(
        self,
        filters: SearchFilters | None = None,
        *,
        per_page: int = 2,
        limit: int | None = None,
        kinds: Sequence[str] = KINDS,
        progress: Progress | None = None,
    ) -> SynthRunSummary:
        """Generate pairs about up to ``limit`` passages not asked about before, ``per_page`` each,
        and store those that pass every check as unreviewed synthetic interactions (see
        ``training.synth.runner``). ``progress(done, total)`` is called as it goes.

        Raises:
            Forbidden: the identity may not build training data (admins may).
            ConfigError: the synth model lacks a setting.
            ValueError: a bad ``per_page``, ``limit`` or kind.
            RagError: the vector store cannot list its passages.
            FeedbackError: the feedback store cannot be read or written.
        """
        authorize(self.identity, Action.TRAIN)
        if stand_in_model(self.backends.settings, "synth"):
            raise ConfigError(STAND_IN_REFUSAL)
        summary = self.backends.synthesizer.run(filters, per_page=per_page, limit=limit, kinds=kinds, progress=progress)
        self.audit.record(
            "synth",
            filters=filters.model_dump(exclude_none=True) if filters else {},
            limit=limit,
            stored=summary.stored,
            rejected=sum(summary.rejected.values()),
            failed=summary.failed,
            synth_model=summary.synth_model,
        )
        return summary

    def export_eval(self, out: Path) -> int:
        """Write the validated synthetic pairs as a retrieval evaluation set (JSONL; see
        ``training.synth.export``); returns how many questions.

        Raises:
            Forbidden: the identity may not build training data.
            FeedbackError: the store cannot be read.
            OSError: ``out`` cannot be written.
        """
        authorize(self.identity, Action.TRAIN)
        count = export_eval(self.backends.feedback_store, out, kinds=self.backends.synth_ledger.kinds())
        self.audit.record("synth-export-eval", target=str(out), questions=count)
        return count
