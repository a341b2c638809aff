"""Feedback statistics for the admin page and ``ragbot feedback stats``.

Computed in one streaming pass over ``FeedbackStore.list`` pages, so they work on any store and
any number of records; what is kept in memory grows only with the number of days and of cited
documents, never with the number of records.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date

from pydantic import BaseModel

from feedback.export import PAGE_SIZE, iter_interactions
from feedback.records import LIKERT_LABELS, Interaction
from feedback.stores.base import FeedbackStore, InteractionFilter

TOP_SOURCES = 10
JUDGE_BUCKETS: tuple[str, ...] = ("0–1", "1–2", "2–3", "3–4", "4–5", "unscored")
"""AI judge score buckets: [0, 1), [1, 2), [2, 3), [3, 4), [4, 5] — each includes its lower edge,
the last also 5.0 — and "unscored" (never judged, or the judge's reply had no usable score)."""


class RatingCount(BaseModel):
    rating: int
    label: str
    count: int


class DayStats(BaseModel):
    """Interactions created on one UTC day."""

    day: date
    count: int
    rated: int
    mean_rating: float | None
    negative_share: float | None


class SourceCount(BaseModel):
    source: str
    count: int


class BucketCount(BaseModel):
    bucket: str
    count: int


class FeedbackStats(BaseModel):
    """Counts and shares over the interactions that matched the filters.

    ``negative_share`` and ``mean_rating`` are over rated interactions only (None when none is
    rated). ``unreadable`` counts stored records that no longer validate and were left out of
    every figure (the store logs their ids and why). ``negative_sources`` counts, per cited document, the negatively rated (1–2) answers
    that cited it, most first (ties by name), at most ``TOP_SOURCES``.
    """

    total: int
    rated: int
    unrated: int
    ratings: list[RatingCount]
    negative: int
    negative_share: float | None
    mean_rating: float | None
    with_correction: int
    per_day: list[DayStats]
    negative_sources: list[SourceCount]
    judge_scores: list[BucketCount]
    judged: int
    mean_judge_score: float | None
    unreadable: int = 0

    @property
    def rating_counts(self) -> dict[int, int]:
        return {r.rating: r.count for r in self.ratings}

    @property
    def judge_counts(self) -> dict[str, int]:
        return {b.bucket: b.count for b in self.judge_scores}


def judge_bucket(score: float | None) -> str:
    """The ``JUDGE_BUCKETS`` name a judge score falls in."""
    if score is None:
        return "unscored"
    return JUDGE_BUCKETS[min(int(score), 4)]


class _Day:
    __slots__ = ("count", "rated", "rating_sum", "negative")

    def __init__(self) -> None:
        self.count = self.rated = self.rating_sum = self.negative = 0


def feedback_stats(
    store: FeedbackStore, filters: InteractionFilter | None = None, *, page_size: int = PAGE_SIZE
) -> FeedbackStats:
    """Statistics over the interactions in ``store`` that match ``filters`` (all when None).

    Users' questions only unless ``filters.origin`` says otherwise: generated question–answer
    pairs (``ragbot synth``) are no one's rating of the product and never mix into its figures.

    Raises:
        StoreUnavailable: the store cannot be read.
    """
    filters = filters or InteractionFilter()
    if filters.origin is None:
        filters = filters.model_copy(update={"origin": "user"})
    total = with_correction = judged = 0
    judge_sum = 0.0
    ratings: Counter[int] = Counter()
    buckets: Counter[str] = Counter()
    negative_sources: Counter[str] = Counter()
    days: dict[date, _Day] = {}
    unreadable: list[str] = []

    for i in iter_interactions(store, filters, page_size=page_size, unreadable=unreadable):
        total += 1
        day = days.setdefault(_utc_day(i), _Day())
        day.count += 1
        fb = i.feedback
        if fb is not None:
            ratings[fb.rating] += 1
            day.rated += 1
            day.rating_sum += fb.rating
            if fb.correction:
                with_correction += 1
            if fb.negative:
                day.negative += 1
                negative_sources.update(i.sources)
        score = i.judge.score if i.judge is not None else None
        buckets[judge_bucket(score)] += 1
        if score is not None:
            judged += 1
            judge_sum += score

    rated = sum(ratings.values())
    negative = ratings[1] + ratings[2]
    return FeedbackStats(
        total=total,
        rated=rated,
        unrated=total - rated,
        ratings=[RatingCount(rating=r, label=label, count=ratings[r]) for r, label in LIKERT_LABELS.items()],
        negative=negative,
        negative_share=negative / rated if rated else None,
        mean_rating=sum(r * n for r, n in ratings.items()) / rated if rated else None,
        with_correction=with_correction,
        per_day=[
            DayStats(
                day=d,
                count=s.count,
                rated=s.rated,
                mean_rating=s.rating_sum / s.rated if s.rated else None,
                negative_share=s.negative / s.rated if s.rated else None,
            )
            for d, s in sorted(days.items())
        ],
        negative_sources=[
            SourceCount(source=source, count=count)
            for source, count in sorted(negative_sources.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]
        ],
        judge_scores=[BucketCount(bucket=b, count=buckets[b]) for b in JUDGE_BUCKETS],
        judged=judged,
        mean_judge_score=judge_sum / judged if judged else None,
        unreadable=len(unreadable),
    )


def _utc_day(i: Interaction) -> date:
    created = i.created_at if i.created_at.tzinfo else i.created_at.replace(tzinfo=UTC)
    return created.astimezone(UTC).date()

