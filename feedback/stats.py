"""Feedback statistics for the admin page and ``ragbot feedback stats``.

Computed in one streaming pass over ``FeedbackStore.list`` pages, so they work on any store and
any number of records; what is kept in memory grows only with the number of days and of cited
documents, never with the number of records.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from feedback.records import LIKERT_LABELS
from feedback.stores.base import FeedbackStore, InteractionFilter
from feedback.stores.paging import PAGE_SIZE, iter_interactions

TOP_SOURCES = 10
HOURLY_SPAN = timedelta(days=3)
"""Data spanning at most this long is trended per hour (one day of data is 24 points, not one)."""
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


class TrendPoint(BaseModel):
    """Interactions created in one hour or one UTC day starting at ``start``; empty buckets
    between the first and the last are present with zero counts."""

    start: datetime
    count: int
    rated: int
    negative: int
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
    trend: list[TrendPoint] = []
    trend_unit: Literal["hour", "day"] = "day"
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
    hours: dict[datetime, _Day] = {}
    unreadable: list[str] = []

    for i in iter_interactions(store, filters, page_size=page_size, unreadable=unreadable):
        total += 1
        created = _utc(i.created_at)
        buckets_of_i = (
            days.setdefault(created.date(), _Day()),
            hours.setdefault(created.replace(minute=0, second=0, microsecond=0), _Day()),
        )
        fb = i.feedback
        for bucket in buckets_of_i:
            bucket.count += 1
            if fb is not None:
                bucket.rated += 1
                bucket.rating_sum += fb.rating
                bucket.negative += fb.negative
        if fb is not None:
            ratings[fb.rating] += 1
            if fb.correction:
                with_correction += 1
            if fb.negative:
                negative_sources.update(i.sources)
        score = i.judge.score if i.judge is not None else None
        buckets[judge_bucket(score)] += 1
        if score is not None:
            judged += 1
            judge_sum += score

    rated = sum(ratings.values())
    negative = ratings[1] + ratings[2]
    hourly = bool(hours) and max(hours) - min(hours) <= HOURLY_SPAN
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
        trend=_trend(hours, timedelta(hours=1))
        if hourly
        else _trend({_midnight(d): s for d, s in days.items()}, timedelta(days=1)),
        trend_unit="hour" if hourly else "day",
        negative_sources=[
            SourceCount(source=source, count=count)
            for source, count in sorted(negative_sources.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]
        ],
        judge_scores=[BucketCount(bucket=b, count=buckets[b]) for b in JUDGE_BUCKETS],
        judged=judged,
        mean_judge_score=judge_sum / judged if judged else None,
        unreadable=len(unreadable),
    )


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _trend(buckets: dict[datetime, _Day], step: timedelta) -> list[TrendPoint]:
    """Every bucket from the first to the last, the empty ones with zeros, so a chart's gaps are real."""
    if not buckets:
        return []
    points, start, last = [], min(buckets), max(buckets)
    while start <= last:
        b = buckets.get(start) or _Day()
        points.append(
            TrendPoint(
                start=start,
                count=b.count,
                rated=b.rated,
                negative=b.negative,
                negative_share=b.negative / b.rated if b.rated else None,
            )
        )
        start += step
    return points
