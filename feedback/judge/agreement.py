"""How far the judge agrees with people: users' ratings and SMEs' scores.

The judge scores 0.0–5.0; users rate on the 5-level Likert scale. To compare them the score is
binned to 1–5 by rounding half up, 0 joining 1 (``score_to_likert``):

=============  ======  =====================
judge score    Likert  label
=============  ======  =====================
0.0 – <1.5     1       Strongly disagree
1.5 – <2.5     2       Disagree
2.5 – <3.5     3       Neutral
3.5 – <4.5     4       Agree
4.5 – 5.0      5       Strongly agree
=============  ======  =====================

so a whole score k from 1 to 5 lands on Likert k. Against SMEs, the SME's score (``Review.sme_score``,
on the judge's scale; an SME who validated without writing one accepted the judge's score) is
binned the same way. For each comparison:

* ``kappa`` — Cohen's kappa with **quadratic** weights (scikit-learn's ``cohen_kappa_score``) on
  the two 1–5 values. Quadratic, not linear: the scale is ordinal, and a judge that says 5 where
  the user said 1 must cost far more than one that is off by one; quadratic weights are also
  the usual choice for Likert agreement (and equal the intraclass correlation for large n).
* ``spearman`` — Spearman's rank correlation (SciPy) between the judge's unbinned score and the
  person's rating or score: ranks need no binning, so none is done.
* ``mae`` — the mean absolute difference in Likert points between the two binned values.
* ``confusion`` — counts, ``confusion[h - 1][j - 1]`` for person h and judge j (rows: the person).

A statistic that is undefined (no pairs, or one side constant) is None.

Only interactions whose judge reply had a usable score take part.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from feedback.records import Interaction
from feedback.stores.base import FeedbackStore, InteractionFilter

LIKERT = (1, 2, 3, 4, 5)
KAPPA_WEIGHTS = "quadratic"
MAPPING = "judge score 0.0–5.0 to Likert 1–5: round half up, 0 joins 1 ([0, 1.5)→1, [1.5, 2.5)→2, [2.5, 3.5)→3, [3.5, 4.5)→4, [4.5, 5]→5)"


def score_to_likert(score: float) -> int:
    """The Likert level (1–5) of a 0.0–5.0 score: round half up, 0 joins 1. Raises ValueError
    for a score outside 0–5 or not a number."""
    if not (isinstance(score, int | float) and math.isfinite(score) and 0.0 <= score <= 5.0):
        raise ValueError(f"score={score!r} is not a number from 0.0 to 5.0")
    return min(5, max(1, math.floor(score + 0.5)))


class Agreement(BaseModel):
    """The judge against one kind of person (see the module docstring for each figure)."""

    against: Literal["users", "smes"]
    n: int
    kappa: float | None
    spearman: float | None
    mae: float | None
    labels: list[int] = list(LIKERT)
    confusion: list[list[int]]


class AgreementReport(BaseModel):
    """Agreement with users' ratings and with SMEs' scores over the matching interactions.

    ``judged`` counts the matching interactions whose judge reply had a usable score.
    """

    judged: int
    users: Agreement
    smes: Agreement
    kappa_weights: str = KAPPA_WEIGHTS
    mapping: str = MAPPING


def _defined(value: float) -> float | None:
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def compare(pairs: Iterable[tuple[float, float]], against: Literal["users", "smes"]) -> Agreement:
    """Agreement over (judge score 0–5, person's value) pairs; the person's value is a Likert
    rating 1–5 (users) or a score 0–5 (SMEs), binned with ``score_to_likert`` either way.

    Raises ValueError for a value outside its scale."""
    pairs = list(pairs)
    judge = [score_to_likert(j) for j, _ in pairs]
    person = [score_to_likert(p) for _, p in pairs]
    confusion = [[0] * len(LIKERT) for _ in LIKERT]
    for p, j in zip(person, judge, strict=True):
        confusion[p - 1][j - 1] += 1
    if not pairs:
        return Agreement(against=against, n=0, kappa=None, spearman=None, mae=None, confusion=confusion)
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        # Undefined (0/0) when a side is constant: sklearn's UndefinedMetricWarning and SciPy's
        # ConstantInputWarning become None in the report, not noise on the console.
        warnings.simplefilter("ignore")
        kappa = cohen_kappa_score(person, judge, labels=list(LIKERT), weights=KAPPA_WEIGHTS)
        rho = spearmanr([j for j, _ in pairs], [p for _, p in pairs]).statistic if len(pairs) > 1 else math.nan
    mae = sum(abs(p - j) for p, j in zip(person, judge, strict=True)) / len(pairs)
    return Agreement(
        against=against,
        n=len(pairs),
        kappa=_defined(kappa),
        spearman=_defined(rho),
        mae=round(mae, 6),
        confusion=confusion,
    )


def sme_score(interaction: Interaction) -> float | None:
    """The score an SME stands by: their own (``sme_score``) on a validated review, or the judge's
    score when they validated it without writing one; None when no SME validated the record."""
    review = interaction.review
    if review.status != "validated":
        return None
    if review.sme_score is not None:
        return review.sme_score
    return interaction.judge.score if interaction.judge is not None else None


def agreement(store: FeedbackStore, filters: InteractionFilter | None = None) -> AgreementReport:
    """Agreement of the judge with users and SMEs over the matching judged interactions.

    Streams the store page by page; keeps two numbers per compared interaction.

    Raises:
        StoreUnavailable: the store cannot be read.
    """
    filters = (filters or InteractionFilter()).model_copy(update={"judged": True})
    users: list[tuple[float, float]] = []
    smes: list[tuple[float, float]] = []
    judged = 0
    cursor = None
    while True:
        page = store.list(filters, limit=500, cursor=cursor)
        for record in page.items:
            if record.judge is None or record.judge.score is None:
                continue
            judged += 1
            if record.feedback is not None:
                users.append((record.judge.score, record.feedback.rating))
            sme = sme_score(record)
            if sme is not None:
                smes.append((record.judge.score, sme))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return AgreementReport(judged=judged, users=compare(users, "users"), smes=compare(smes, "smes"))
