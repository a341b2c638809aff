"""The review queue on DynamoDB beyond the contract: the same answers as SQLite on a mixed data set
for every order and filter, the reads it makes (the by_judge index, a bounded number of queries,
never a Scan), exact order of scores that differ in the last bit, and a review that loses a race
refused with Conflict. Against moto's server over HTTP (``ReviewQueueContract`` itself runs in
test_dynamodb.py)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from feedback.errors import Conflict
from feedback.records import Feedback, JudgeScore, Review
from feedback.stores.base import ORDERS, InteractionFilter
from feedback.stores.dynamodb import DynamoDBFeedbackStore
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import T0, ids, make

pytestmark = pytest.mark.integration

SCORES = [None, 0.0, 0.3, 0.1 + 0.2, 1.0, 2.5, 2.5, 3.0, 4.0, 4.5, 5.0]
SOURCES = ["Design/a.pdf", "Design/b.pdf", "Design", "Specs/c.pdf", "notes.md"]


def mixed(n: int, seed: int = 7):
    """``n`` answers with random scores (some unparsable, some unjudged), ratings, reviews,
    corrections, users, times (some equal) and sources, a document named like a folder among them."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        judged = rng.random() < 0.8
        out.append(
            make(
                f"r{i:03d}",
                minutes=rng.randrange(n // 2),
                user=rng.choice(["ana", "bo"]),
                sources=tuple(rng.sample(SOURCES, rng.randrange(3))),
                feedback=Feedback(rating=rng.randint(1, 5), correction=rng.choice([None, "fix"]))
                if rng.random() < 0.7
                else None,
                judge=JudgeScore(score=rng.choice(SCORES), judge_model="j") if judged else None,
                review=Review(status=rng.choice(["unreviewed", "validated", "rejected"])),
            )
        )
    return out


FILTERS = [
    InteractionFilter(),
    InteractionFilter(max_judge_score=2.5),
    InteractionFilter(min_judge_score=0.3, max_judge_score=4.0),
    InteractionFilter(min_judge_score=4.6, max_judge_score=4.4),
    InteractionFilter(judge_unparsable=True),
    InteractionFilter(judge_unparsable=False),
    InteractionFilter(judged=False),
    InteractionFilter(user="ana", max_judge_score=3.0),
    InteractionFilter(source_prefix="Design", min_rating=2),
    InteractionFilter(review_status="unreviewed", has_correction=True),
    InteractionFilter(rated=False),
    InteractionFilter(since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=20), min_judge_score=1.0),
]


def pages(store, filters, order, limit):
    seen, cursor = [], None
    while True:
        page = store.list(filters, limit=limit, cursor=cursor, order=order)
        seen += ids(page)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_every_order_filter_and_grouping_answers_as_sqlite_does(make_dynamodb_store, tmp_path):
    """Two write shards, so every listing merges partitions (the contract runs on one). Every
    order under every filter in one page, the judge and rating orders paged under three filters
    (scores tie across page ends), and every grouping. moto answers a query in ~30 ms, so the
    combinations are chosen, not multiplied out."""
    dynamodb = make_dynamodb_store(write_shards=2)
    sqlite = SQLiteFeedbackStore(tmp_path / "feedback.db")
    for record in mixed(40):
        dynamodb.put(record)
        sqlite.put(record)
    for filters in FILTERS:
        for order in ORDERS:
            expected = ids(sqlite.list(filters, limit=100, order=order))
            assert ids(dynamodb.list(filters, limit=100, order=order)) == expected, (filters, order)
    for filters in FILTERS[:3]:
        for order in ("judge_asc", "judge_desc", "rating_asc", "oldest"):
            assert pages(dynamodb, filters, order, 6) == pages(sqlite, filters, order, 100), (filters, order)
    for filters in FILTERS[::3]:
        for by in ("document", "judge_band", "rating", "review_status"):
            assert dynamodb.count_groups(filters, by=by) == sqlite.count_groups(filters, by=by), (filters, by)
    assert dynamodb.count_groups(by="document")["Design"] > 0, "a document named like a folder is counted"
    sqlite.close()


def calls(store: DynamoDBFeedbackStore) -> list[tuple[str, str | None]]:
    """(operation, index) of every request the store makes from now on."""
    made: list[tuple[str, str | None]] = []

    def note(model, params, **_):
        made.append((model.name, params.get("IndexName")))

    store.client.meta.events.register("before-parameter-build.dynamodb", note)
    return made


def test_the_judge_order_reads_one_score_at_a_time_on_by_judge(dynamodb_store):
    for i in range(30):
        score = [1.0, 2.5, 4.0][i % 3]
        dynamodb_store.put(make(f"i{i:02d}", minutes=i, judge=JudgeScore(score=score, judge_model="j")))
    dynamodb_store.put(make("unjudged", minutes=99))
    made = calls(dynamodb_store)
    first = dynamodb_store.list(InteractionFilter(max_judge_score=2.5), limit=4, order="judge_desc")
    assert ids(first) == ["i28", "i25", "i22", "i19"]
    # The highest score at or below 2.5, then that score's entries: two queries, both on by_judge.
    assert made == [("Query", "by_judge"), ("Query", "by_judge"), ("BatchGetItem", None)]
    made.clear()
    second = dynamodb_store.list(
        InteractionFilter(max_judge_score=2.5), limit=4, order="judge_desc", cursor=first.next_cursor
    )
    assert ids(second) == ["i16", "i13", "i10", "i07"]
    assert made == [("Query", "by_judge"), ("BatchGetItem", None)], "the cursor's score resumes by key"
    made.clear()
    rest = pages(dynamodb_store, InteractionFilter(max_judge_score=2.5), "judge_desc", 4)
    assert len(rest) == 20 and rest[-1] == "i00"
    assert set(made) <= {("Query", "by_judge"), ("BatchGetItem", None)}, "never a Scan"


def test_scores_that_differ_in_the_last_bit_keep_their_order(dynamodb_store):
    for name, score in [("low", 0.3), ("high", 0.1 + 0.2), ("zero", -0.0), ("top", 5.0)]:
        dynamodb_store.put(make(name, judge=JudgeScore(score=score, judge_model="j")))
    assert pages(dynamodb_store, None, "judge_asc", 1) == ["zero", "low", "high", "top"]
    assert pages(dynamodb_store, InteractionFilter(max_judge_score=0.3), "judge_desc", 1) == ["low", "zero"]


def test_count_groups_reads_the_index_never_the_records(dynamodb_store):
    for i in range(12):
        dynamodb_store.put(make(f"i{i:02d}", minutes=i, sources=("Design/a.pdf",), feedback=Feedback(rating=1 + i % 5)))
    made = calls(dynamodb_store)
    assert dynamodb_store.count_groups(InteractionFilter(min_rating=4), by="document") == {"Design/a.pdf": 4}
    # The first read through an older index's attribute checks the projections, once per store.
    assert made == [("DescribeTable", None), ("Query", "by_rating"), ("Query", "by_rating")]
    made.clear()
    assert dynamodb_store.count_groups(InteractionFilter(min_rating=4), by="document") == {"Design/a.pdf": 4}
    assert set(made) == {("Query", "by_rating")}
    with pytest.raises(ValueError, match="by='mood'"):
        dynamodb_store.count_groups(by="mood")


def test_a_review_that_loses_the_race_is_refused_not_written(dynamodb_store):
    """A second reviewer saves between our read and our conditional write: the write fails on the
    version, the record is read again, and the review found there is not the one we opened."""
    rival = DynamoDBFeedbackStore(dynamodb_store.table_name)
    dynamodb_store.put(make("r"))
    theirs = Review(status="rejected", reviewer="sme2", reviewed_at=T0 + timedelta(hours=1))
    puts = []

    def sneak_in(**_):
        puts.append(1)
        if len(puts) == 1:
            rival.set_review("r", theirs, expected_reviewed_at=None)

    dynamodb_store.client.meta.events.register("before-call.dynamodb.PutItem", sneak_in)
    mine = Review(status="validated", reviewer="sme1", reviewed_at=T0 + timedelta(hours=1, seconds=1))
    with pytest.raises(Conflict, match="sme2 changed the review of this answer since you opened it"):
        dynamodb_store.set_review("r", mine, expected_reviewed_at=None)
    assert len(puts) == 1 and dynamodb_store.get("r").review == theirs
    rival.close()
