"""The gate: is a candidate model better than the served one on the same questions, beyond noise?

Both models answered the same evaluation questions; each answer has per-question figures
(``training.evaluate``): its similarity to the reference, whether it states the reference's
numbers, and with a judge its score and whether that score is at least 4. For every metric the
gate takes the per-question differences (candidate minus served, questions where either has no
figure left out) and a bootstrap confidence interval of their mean, resampling questions
(``scipy.stats.bootstrap``, percentile method, a fixed seed: the same answers give the same
verdict).

* **worse** — the interval lies entirely below 0 on any measured metric;
* **better** — not worse, at least ``min_questions`` questions, and on at least one of the chosen
  metrics the interval lies entirely above that metric's ``min_gain``;
* **no better** — anything else (including too few questions to tell).

The intervals are Bonferroni-adjusted for the number of metrics measured (four metrics at 95%
family-wise are four 98.75% intervals), so a candidate that is no different gets one "better" in
twenty runs at most, not one in five.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

Metric = Literal["numbers_right", "similarity", "judge_mean", "judge_good"]
METRICS: tuple[Metric, ...] = ("numbers_right", "similarity", "judge_mean", "judge_good")
LABELS: dict[str, str] = {
    "numbers_right": "numbers right",
    "similarity": "similarity to the reference",
    "judge_mean": "judge mean score",
    "judge_good": "judge score >= 4",
}
Verdict = Literal["better", "no better", "worse"]
VERDICTS: tuple[Verdict, ...] = ("better", "no better", "worse")
GOOD_SCORE = 4.0
"""A judge score at or above this is a good answer (the seed's "above 4"; ``training.labels``)."""


class GateOptions(BaseModel):
    """The thresholds (``RAGBOT_GATE_*`` settings; README, "The loop", says why these defaults)."""

    metrics: tuple[Metric, ...] = Field(default=METRICS, min_length=1, description="Metrics a candidate may win on.")
    min_gain: dict[str, float] = Field(
        default_factory=lambda: {"numbers_right": 0.0, "similarity": 0.01, "judge_mean": 0.1, "judge_good": 0.0},
        description="Per metric, the least lower bound of the interval that counts as a gain.",
    )
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0, description="Family-wise, over the metrics measured.")
    resamples: int = Field(default=2000, ge=100, description="Bootstrap resamples.")
    min_questions: int = Field(default=20, ge=2, description="Fewest questions on which 'better' may be said.")
    seed: int = 0


class MetricDiff(BaseModel):
    """One metric: the two models' means over the paired questions and the difference's interval."""

    metric: Metric
    questions: int = Field(description="Questions where both models have a figure.")
    candidate: float | None = None
    served: float | None = None
    difference: float | None = None
    low: float | None = None
    high: float | None = None
    min_gain: float = 0.0
    outcome: Literal["better", "worse", "same", "not measured"] = "not measured"

    def describe(self) -> str:
        """``similarity to the reference +0.0412 [+0.0101, +0.0730] on 40 questions (better)``."""
        if self.outcome == "not measured":
            return f"{LABELS[self.metric]}: not measured ({self.questions} paired questions)"
        return (
            f"{LABELS[self.metric]} {self.difference:+.4f} [{self.low:+.4f}, {self.high:+.4f}] "
            f"on {self.questions} questions ({self.outcome})"
        )


class GateResult(BaseModel):
    """The verdict, why, and every metric's interval."""

    verdict: Verdict
    reason: str
    questions: int
    level: float = Field(description="The confidence level of each interval (Bonferroni-adjusted).")
    metrics: list[MetricDiff]
    options: GateOptions

    def summary(self) -> str:
        """One line per metric under the verdict and its reason."""
        lines = [f"{self.verdict}: {self.reason}"]
        lines += [f"  {m.describe()}" for m in self.metrics]
        return "\n".join(lines)


Figures = Mapping[str, Sequence[float | None]]
"""Per metric, one figure per question (None where the question has none), in question order."""


def interval(differences: np.ndarray, level: float, resamples: int, seed: int) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of ``differences`` (one per question).

    Percentile, not BCa: BCa's acceleration is undefined when the differences are all equal,
    which 0/1 metrics (numbers right) often are on small sets.
    """
    from scipy.stats import bootstrap

    if np.all(differences == differences[0]):
        value = float(differences[0])
        return value, value
    result = bootstrap(
        (differences,),
        np.mean,
        confidence_level=level,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _pairs(candidate: Sequence[float | None], served: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    if len(candidate) != len(served):
        raise ValueError(f"the models answered different numbers of questions ({len(candidate)} and {len(served)})")
    kept = [(c, s) for c, s in zip(candidate, served, strict=True) if c is not None and s is not None]
    return np.array([c for c, _ in kept], dtype=float), np.array([s for _, s in kept], dtype=float)


def decide(candidate: Figures, served: Figures, options: GateOptions | None = None) -> GateResult:
    """The gate's verdict on ``candidate`` against ``served``: the same questions, in the same order.

    Raises:
        ValueError: the two models' figures cover different numbers of questions.
    """
    options = options or GateOptions()
    paired = {m: _pairs(candidate.get(m) or [], served.get(m) or []) for m in METRICS if m in candidate or m in served}
    measured = [m for m in METRICS if m in paired and len(paired[m][0]) >= 2]
    level = 1 - (1 - options.confidence) / max(1, len(measured))
    diffs: list[MetricDiff] = []
    for metric in METRICS:
        if metric not in paired:
            continue
        c, s = paired[metric]
        gain = options.min_gain.get(metric, 0.0)
        if metric not in measured:
            diffs.append(MetricDiff(metric=metric, questions=len(c), min_gain=gain))
            continue
        low, high = interval(c - s, level, options.resamples, options.seed)
        outcome = "worse" if high < 0 else "better" if low > gain else "same"
        diffs.append(
            MetricDiff(
                metric=metric,
                questions=len(c),
                candidate=float(c.mean()),
                served=float(s.mean()),
                difference=float((c - s).mean()),
                low=low,
                high=high,
                min_gain=gain,
                outcome=outcome,
            )
        )
    questions = max((len(v) for v in (*candidate.values(), *served.values())), default=0)
    verdict, reason = _verdict(diffs, questions, options)
    return GateResult(verdict=verdict, reason=reason, questions=questions, level=level, metrics=diffs, options=options)


def _verdict(diffs: list[MetricDiff], questions: int, options: GateOptions) -> tuple[Verdict, str]:
    worse = [d for d in diffs if d.outcome == "worse"]
    if worse:
        return "worse", "worse beyond noise on " + ", ".join(LABELS[d.metric] for d in worse)
    won = [d for d in diffs if d.outcome == "better" and d.metric in options.metrics]
    if not any(d.outcome != "not measured" for d in diffs):
        return "no better", "nothing measured: fewer than 2 questions with figures for both models"
    few = [d for d in won if d.questions < options.min_questions]
    if few:  # a metric is won on its own paired questions, not on the whole set's count
        return "no better", (
            "ahead on "
            + ", ".join(f"{LABELS[d.metric]} ({d.questions} questions with figures for both)" for d in few)
            + f", too few to say better (at least {options.min_questions})"
        )
    if won:
        return "better", "better beyond noise on " + ", ".join(LABELS[d.metric] for d in won) + ", worse on none"
    measured = {d.metric for d in diffs if d.outcome != "not measured"}
    chosen = (
        ", ".join(LABELS[m] for m in options.metrics if m in measured) or "none of the chosen metrics (not measured)"
    )
    return "no better", f"no gain beyond noise on {chosen}"
