"""The gate's verdict on per-question figures: identical models are no better, a uniform gain beyond
the threshold is better, a loss on any metric is worse, and a candidate whose figures are the served
model's shuffled over the questions is never better (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest

from training.gate import GateOptions, decide, interval

RNG = np.random.default_rng(7)


def figures(n: int = 40, *, shift: float = 0.0, judge: bool = True) -> dict[str, list]:
    sims = np.clip(RNG.normal(0.6, 0.15, n) + shift, -1, 1)
    numbers = [None if i % 5 == 0 else float(i % 3 != 0) for i in range(n)]
    out = {"similarity": list(sims), "numbers_right": numbers}
    if judge:
        scores = [None if i % 11 == 0 else float(i % 6) for i in range(n)]
        out |= {"judge_mean": scores, "judge_good": [None if s is None else float(s >= 4) for s in scores]}
    return out


def test_identical_models_are_no_better():
    served = figures()
    result = decide(served, served)
    assert result.verdict == "no better"
    assert all(m.low == m.high == 0.0 for m in result.metrics)
    assert result.reason.startswith("no gain beyond noise on numbers right, similarity to the reference")
    # Without a judge the reason names only what was measured.
    plain = figures(judge=False)
    assert decide(plain, plain).reason == "no gain beyond noise on numbers right, similarity to the reference"


def test_a_uniform_gain_beyond_the_threshold_is_better_and_below_it_is_not():
    served = figures()
    better = served | {"similarity": [s + 0.05 for s in served["similarity"]]}
    result = decide(better, served)
    assert result.verdict == "better"
    sim = next(m for m in result.metrics if m.metric == "similarity")
    assert sim.low == pytest.approx(0.05) and sim.outcome == "better"
    assert result.reason == "better beyond noise on similarity to the reference, worse on none"
    # The same gain under the similarity threshold (0.01 by default) is no gain.
    small = served | {"similarity": [s + 0.005 for s in served["similarity"]]}
    assert decide(small, served).verdict == "no better"
    # A metric that is not chosen cannot make a candidate better.
    assert decide(better, served, GateOptions(metrics=("numbers_right",))).verdict == "no better"


def test_a_loss_on_any_metric_is_worse_whatever_the_gains():
    served = figures()
    numbers = [None if x is None else 0.0 for x in served["numbers_right"]]  # every number now wrong
    candidate = served | {"similarity": [s + 0.2 for s in served["similarity"]], "numbers_right": numbers}
    result = decide(candidate, served)
    assert result.verdict == "worse"
    assert result.reason == "worse beyond noise on numbers right"
    assert next(m for m in result.metrics if m.metric == "numbers_right").high < 0


def test_too_few_questions_never_say_better_but_can_say_worse():
    served = figures(8, judge=False)
    better = served | {"similarity": [s + 0.2 for s in served["similarity"]]}
    result = decide(better, served)
    assert result.verdict == "no better"
    assert "(8 questions with figures for both), too few to say better (at least 20)" in result.reason
    worse = served | {"similarity": [s - 0.2 for s in served["similarity"]]}
    assert decide(worse, served).verdict == "worse"


def test_questions_without_a_figure_are_left_out_pairwise_and_unmeasured_metrics_say_so():
    served = {"similarity": [0.5, 0.6, 0.7], "numbers_right": [None, None, 1.0]}
    candidate = {"similarity": [0.5, 0.6, 0.7], "numbers_right": [1.0, None, 1.0]}
    result = decide(candidate, served)
    numbers = next(m for m in result.metrics if m.metric == "numbers_right")
    assert numbers.outcome == "not measured" and numbers.questions == 1
    assert numbers.describe() == "numbers right: not measured (1 paired questions)"
    # One measured metric: its interval is at the full confidence, no Bonferroni share.
    assert result.level == pytest.approx(0.95)
    with pytest.raises(ValueError, match="different numbers of questions"):
        decide({"similarity": [0.5]}, {"similarity": [0.5, 0.6]})


def test_the_interval_is_bonferroni_adjusted_and_repeatable():
    served, candidate = figures(), figures()
    first, again = decide(candidate, served), decide(candidate, served)
    assert first == again  # a fixed seed: the same answers give the same verdict
    assert first.level == pytest.approx(1 - 0.05 / 4)
    diffs = np.array(candidate["similarity"]) - np.array(served["similarity"])
    low, high = interval(diffs, 0.95, 2000, 0)
    assert low < diffs.mean() < high
    wide_low, wide_high = interval(diffs, first.level, 2000, 0)
    assert wide_low <= low and wide_high >= high


def test_a_shuffled_candidate_is_rarely_better():
    """The served model's own figures, reassigned to other questions: no real gain to find, so
    "better" may only come by chance, at most as often as the confidence level allows. (A single
    shuffle can line up every 1 against a 0, so "never" holds for no gate.)"""
    rng = np.random.default_rng(7)
    better = 0
    for _ in range(100):
        n = 40
        served = {
            "similarity": list(rng.uniform(0.3, 0.9, n)),
            "numbers_right": [float(rng.integers(0, 2)) if i % 3 else None for i in range(n)],
        }
        order = rng.permutation(n)
        shuffled = {k: [v[i] for i in order] for k, v in served.items()}
        better += decide(shuffled, served, GateOptions(resamples=500, min_gain={})).verdict == "better"
    assert better <= 5


def test_a_metric_won_on_too_few_paired_questions_is_no_better():
    """Numbers right paired on 3 questions (all 0 -> 1) among 30: ahead, but not on enough of its own."""
    n = 30
    served = {"similarity": [0.5] * n, "numbers_right": [0.0 if i < 3 else None for i in range(n)]}
    candidate = {"similarity": [0.5] * n, "numbers_right": [1.0 if i < 3 else None for i in range(n)]}
    result = decide(candidate, served, GateOptions(min_gain={}))
    assert result.verdict == "no better" and "3 questions with figures for both" in result.reason
