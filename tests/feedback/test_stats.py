"""Feedback statistics on known data sets, against the real SQLite store."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from feedback.records import Feedback, Interaction, JudgeScore
from feedback.stats import JUDGE_BUCKETS, feedback_stats, judge_bucket
from feedback.stores.base import InteractionFilter
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import T0, make

# The pilot of SPEC.md section 8: 118 rated answers, 53 of them negative (rating 1 or 2).
PILOT_RATINGS = {1: 24, 2: 29, 3: 15, 4: 28, 5: 22}
PILOT_UNRATED = 12


@pytest.fixture
def store(tmp_path):
    s = SQLiteFeedbackStore(tmp_path / "feedback.db")
    yield s
    s.close()


def at(record: Interaction, **update) -> Interaction:
    return Interaction.model_validate(record.model_dump() | update)


@pytest.fixture
def pilot(store) -> list[Interaction]:
    """130 interactions over three days: 118 rated as in the pilot, 12 unrated.

    Negative answers cite ``Design/criteria.pdf`` (all 53) and ``Specs/parking.pdf`` (every
    other one, 27); positive ones cite ``Specs/other.pdf``. Every fifth rated answer has a
    correction.
    """
    ratings = [r for r, n in PILOT_RATINGS.items() for _ in range(n)]
    records = []
    for i, rating in enumerate(ratings):
        sources = (
            ("Design/criteria.pdf", "Specs/parking.pdf")
            if rating <= 2 and i % 2 == 0
            else (("Design/criteria.pdf",) if rating <= 2 else ("Specs/other.pdf",))
        )
        records.append(
            make(
                f"r{i:03d}",
                minutes=i * 30,  # 118 answers half an hour apart: 2025-03-14 09:00 to 2025-03-16 19:30
                sources=sources,
                feedback=Feedback(rating=rating, correction="Better answer." if i % 5 == 0 else None),
            )
        )
    records += [make(f"u{i:02d}", minutes=i, user="bo") for i in range(PILOT_UNRATED)]
    for r in records:
        store.put(r)
    return records


def test_the_pilot_numbers(store, pilot):
    stats = feedback_stats(store)
    assert stats.total == 130 and stats.rated == 118 and stats.unrated == 12
    assert stats.rating_counts == PILOT_RATINGS
    assert [(r.rating, r.label) for r in stats.ratings] == [
        (1, "Strongly disagree"),
        (2, "Disagree"),
        (3, "Neutral"),
        (4, "Agree"),
        (5, "Strongly agree"),
    ]
    assert stats.negative == 53
    assert stats.negative_share == pytest.approx(53 / 118) == pytest.approx(0.449, abs=5e-4)
    assert stats.mean_rating == pytest.approx((24 * 1 + 29 * 2 + 15 * 3 + 28 * 4 + 22 * 5) / 118)
    assert stats.with_correction == len(range(0, 118, 5))
    assert [(s.source, s.count) for s in stats.negative_sources] == [
        ("Design/criteria.pdf", 53),
        ("Specs/parking.pdf", 27),
    ]


def test_per_day_trend(store, pilot):
    stats = feedback_stats(store)
    days = {d.day.isoformat(): d for d in stats.per_day}
    assert list(days) == ["2025-03-14", "2025-03-15", "2025-03-16"]
    # 09:00 + 30 min steps: 30 on the first day (09:00–23:30), 48 on the second, 40 on the third;
    # the 12 unrated answers are on the first day.
    assert [(d.count, d.rated) for d in days.values()] == [(42, 30), (48, 48), (40, 40)]
    first_day = [r for r in pilot if r.feedback and r.created_at.date().isoformat() == "2025-03-14"]
    assert days["2025-03-14"].mean_rating == pytest.approx(sum(r.feedback.rating for r in first_day) / 30)
    assert days["2025-03-14"].negative_share == pytest.approx(sum(r.feedback.negative for r in first_day) / 30)
    assert days["2025-03-16"].negative_share == 0.0  # the last answers are all rated 4 and 5


def test_three_days_of_data_trend_per_hour(store, pilot):
    stats = feedback_stats(store)
    assert stats.trend_unit == "hour"
    # 2025-03-14 09:00 to 2025-03-16 19:00, every hour present: 15 + 24 + 20.
    assert len(stats.trend) == 59
    assert [p.start.hour for p in stats.trend[:2]] == [9, 10] and stats.trend[
        -1
    ].start.isoformat() == "2025-03-16T19:00:00+00:00"
    assert sum(p.count for p in stats.trend) == 130 and sum(p.rated for p in stats.trend) == 118
    assert (stats.trend[0].count, stats.trend[0].rated) == (14, 2)  # the 12 unrated answers came in the first hour
    assert sum(p.negative for p in stats.trend) == 53


def test_a_longer_span_trends_per_day_with_empty_days_present(store):
    store.put(make("first", feedback=Feedback(rating=1)))
    store.put(make("tenth", minutes=9 * 24 * 60, feedback=Feedback(rating=4)))
    stats = feedback_stats(store)
    assert stats.trend_unit == "day"
    assert [(p.start.day, p.count, p.negative_share) for p in stats.trend] == [
        (14, 1, 1.0),
        *[(d, 0, None) for d in range(15, 23)],
        (23, 1, 0.0),
    ]


def test_one_answer_is_one_hourly_point(store):
    store.put(make("only"))
    stats = feedback_stats(store)
    assert stats.trend_unit == "hour" and [(p.count, p.rated, p.negative_share) for p in stats.trend] == [(1, 0, None)]


def test_days_are_utc_days(store):
    new_york = timezone(timedelta(hours=-5))
    late_evening = (T0.replace(hour=23, minute=30) - timedelta(hours=-5)).astimezone(new_york)  # 04:30 UTC next day
    store.put(at(make("late", feedback=Feedback(rating=1)), created_at=late_evening))
    store.put(make("day", feedback=Feedback(rating=5)))
    stats = feedback_stats(store)
    assert [(d.day.isoformat(), d.count, d.negative_share) for d in stats.per_day] == [
        ("2025-03-14", 1, 0.0),
        ("2025-03-15", 1, 1.0),
    ]
    assert stats.per_day[0].mean_rating == 5.0


def test_an_empty_store(store):
    stats = feedback_stats(store)
    assert (stats.total, stats.rated, stats.negative, stats.with_correction, stats.judged) == (0, 0, 0, 0, 0)
    assert stats.negative_share is None and stats.mean_rating is None and stats.mean_judge_score is None
    assert stats.rating_counts == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert stats.per_day == [] and stats.negative_sources == []
    assert stats.judge_counts == dict.fromkeys(JUDGE_BUCKETS, 0)


def test_unrated_only_has_no_shares(store):
    store.put(make("a"))
    stats = feedback_stats(store)
    assert stats.total == 1 and stats.rated == 0 and stats.negative_share is None
    assert stats.per_day[0].mean_rating is None and stats.per_day[0].negative_share is None


@pytest.mark.parametrize(
    ("score", "bucket"),
    [
        (0.0, "0–1"),
        (0.99, "0–1"),
        (1.0, "1–2"),
        (2.5, "2–3"),
        (3.0, "3–4"),
        (3.99, "3–4"),
        (4.0, "4–5"),
        (5.0, "4–5"),
        (None, "unscored"),
    ],
)
def test_judge_bucket_edges(score, bucket):
    assert judge_bucket(score) == bucket


def test_judge_score_distribution(store):
    scores = [0.5, 1.0, 2.9, 3.0, 4.0, 4.2, 5.0]
    for i, score in enumerate(scores):
        store.put(make(f"j{i}", minutes=i, judge=JudgeScore(score=score, judge_model="judge")))
    store.put(make("raw-only", judge=JudgeScore(score=None, judge_model="judge", raw="no tags")))
    store.put(make("never-judged"))
    stats = feedback_stats(store)
    assert stats.judge_counts == {"0–1": 1, "1–2": 1, "2–3": 1, "3–4": 1, "4–5": 3, "unscored": 2}
    assert stats.judged == 7 and stats.mean_judge_score == pytest.approx(sum(scores) / 7)


def test_top_ten_sources_ties_by_name(store):
    # doc00 is cited by 12 negative answers, doc01 by 11, … ; doc10–doc11 fall off the top ten.
    n = 0
    for d in range(12):
        for _ in range(12 - d):
            store.put(
                make(f"n{n:03d}", minutes=n, sources=(f"doc{d:02d}.pdf", "shared.pdf"), feedback=Feedback(rating=2))
            )
            n += 1
    store.put(make("positive", sources=("doc11.pdf",), feedback=Feedback(rating=5)))
    stats = feedback_stats(store)
    assert [(s.source, s.count) for s in stats.negative_sources] == [
        ("shared.pdf", n),
        *[(f"doc{d:02d}.pdf", 12 - d) for d in range(9)],
    ]


def test_a_document_cited_twice_by_one_answer_counts_once(store):
    record = make("a", sources=("a.pdf", "a.pdf", "b.pdf"), feedback=Feedback(rating=1))
    store.put(record)
    assert [(s.source, s.count) for s in feedback_stats(store).negative_sources] == [("a.pdf", 1), ("b.pdf", 1)]


def test_filters_apply(store, pilot):
    assert feedback_stats(store, InteractionFilter(user="bo")).total == PILOT_UNRATED
    negative = feedback_stats(store, InteractionFilter(max_rating=2))
    assert negative.total == negative.rated == negative.negative == 53 and negative.negative_share == 1.0
    windowed = feedback_stats(store, InteractionFilter(since=T0 + timedelta(days=1)))
    assert [d.day.isoformat() for d in windowed.per_day] == ["2025-03-15", "2025-03-16"]


def test_small_pages_give_the_same_answer(store, pilot):
    assert feedback_stats(store, page_size=7) == feedback_stats(store)


def test_stats_read_the_store_page_by_page(store, pilot):
    calls = []

    class Counting:
        def list(self, filters=None, *, limit=50, cursor=None):
            calls.append(limit)
            return store.list(filters, limit=limit, cursor=cursor)

    assert feedback_stats(Counting(), page_size=50).total == 130
    assert calls == [50, 50, 50]


def test_stats_serialise_to_json(store, pilot):
    stats = feedback_stats(store)
    again = type(stats).model_validate_json(stats.model_dump_json())
    assert again == stats


def test_statistics_count_users_questions_only_unless_asked_for_synthetic_pairs(tmp_path):
    from feedback.stats import feedback_stats
    from feedback.stores.base import InteractionFilter
    from feedback.stores.sqlite import SQLiteFeedbackStore
    from tests.feedback.contract import make

    store = SQLiteFeedbackStore(tmp_path / "f.db")
    store.put(make("u", feedback=Feedback(rating=1)))
    store.put(make("s1", minutes=1, user="synth", origin="synthetic"))
    store.put(make("s2", minutes=2, user="synth", origin="synthetic"))
    users = feedback_stats(store)
    assert (users.total, users.rated, users.negative_share) == (1, 1, 1.0)
    assert feedback_stats(store, InteractionFilter(origin="synthetic")).total == 2
