"""The settings of the loop (README, "The loop"): the gate's thresholds, the frozen evaluation set,
how often the app looks for a newly promoted model.

A base class of ``app.config.Settings``, so they are read with every other ``RAGBOT_`` setting
from the same sources; kept here so that ``app/config.py`` stays one readable file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

GateMetric = Literal["numbers_right", "similarity", "judge_mean", "judge_good"]


class LoopSettings(BaseSettings):
    """Fields of ``Settings`` for the loop; see ``training.gate`` for what each threshold decides."""

    gate_metrics: Annotated[list[GateMetric], NoDecode] = Field(
        default=["numbers_right", "similarity", "judge_mean", "judge_good"],
        min_length=1,
        description="Metrics a candidate model may win on, comma-separated (the judge's only when a judge is set).",
    )
    gate_min_numbers_gain: float = Field(
        default=0.0, ge=0.0, le=1.0, allow_inf_nan=False, description="Least gain in numbers right that counts."
    )
    gate_min_similarity_gain: float = Field(
        default=0.01, ge=0.0, le=1.0, allow_inf_nan=False, description="Least gain in similarity that counts."
    )
    gate_min_judge_mean_gain: float = Field(
        default=0.1,
        ge=0.0,
        le=5.0,
        allow_inf_nan=False,
        description="Least gain in the judge's mean score that counts.",
    )
    gate_min_judge_good_gain: float = Field(
        default=0.0, ge=0.0, le=1.0, allow_inf_nan=False, description="Least gain in the share judged 4 or more."
    )
    gate_confidence: float = Field(
        default=0.95, gt=0.5, lt=1.0, allow_inf_nan=False, description="Confidence of the gate, over all its metrics."
    )
    gate_min_questions: int = Field(default=20, ge=2, description="Fewest evaluation questions to call a model better.")
    eval_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Share of newly validated references and synthetic pairs frozen into the evaluation set.",
    )
    model_check_s: float = Field(
        default=5.0,
        ge=0.0,
        le=3600.0,
        allow_inf_nan=False,
        description="How often, in seconds, the app checks whether another model was promoted (0: every answer).",
    )
    ab_share: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Share of new conversations answered by the candidate model in a blind A/B test (0: none).",
    )
    ab_candidate: str | None = Field(
        default=None,
        description="The registry id of the candidate to A/B test (unset: the newest the gate called better, never promoted).",
    )
    ab_alpha: float = Field(
        default=0.05, gt=0.0, lt=0.5, allow_inf_nan=False, description="Significance level of the A/B test."
    )
    ab_power: float = Field(
        default=0.8,
        gt=0.5,
        lt=1.0,
        allow_inf_nan=False,
        description="Power the A/B test's count still needed is sized for.",
    )
    ab_min_effect: float = Field(
        default=0.05,
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Smallest difference in negative share worth deciding on in an A/B test.",
    )
    loop_model_data_url: str | None = Field(
        default=None,
        description="Set by a loop job on SageMaker: the S3 artifact its candidate becomes; the candidate is then "
        "registered in the SageMaker Model Registry (RAGBOT_SAGEMAKER_REGISTRY_*).",
    )

    @field_validator("gate_metrics", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @property
    def evalsets_dir(self):
        """Where the frozen evaluation sets live (``training.evalset``)."""
        return self.home.expanduser().resolve() / "evalsets"

    @property
    def loop_dir(self):
        """Where loop runs keep their state, lock and served answers (``training.loop``)."""
        return self.home.expanduser().resolve() / "loop"

    def gate_options(self):
        """The gate's thresholds (``training.gate.GateOptions``) from these settings."""
        from training.gate import GateOptions

        return GateOptions(
            metrics=tuple(self.gate_metrics),
            min_gain={
                "numbers_right": self.gate_min_numbers_gain,
                "similarity": self.gate_min_similarity_gain,
                "judge_mean": self.gate_min_judge_mean_gain,
                "judge_good": self.gate_min_judge_good_gain,
            },
            confidence=self.gate_confidence,
            min_questions=self.gate_min_questions,
        )
