"""The SME review service over the real SQLite store: verdicts with reviewer and time, two SMEs
on one answer, the bulk validation, and who may do what."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.services import Backends, Forbidden, Identity, Services
from feedback.errors import Conflict, InvalidFeedback
from feedback.records import Feedback, JudgeScore
from feedback.stores.base import InteractionFilter
from tests.feedback.contract import make


@pytest.fixture
def backends():
    b = Backends(Settings())
    store = b.feedback_store
    for minute, (name, score, rating) in enumerate(
        [("a", 4.5, 5), ("b", 1.0, 1), ("c", 4.0, None), ("d", None, 2), ("e", 3.0, 4)]
    ):
        store.put(
            make(name, minutes=minute, feedback=Feedback(rating=rating, correction="Use 412.") if rating else None)
        )
        if score is not None:
            store.set_judge(name, JudgeScore(score=score, reason="because", judge_model="j"))
    return b


def as_(backends, user, role) -> Services:
    return Services(backends=backends, identity=Identity(user=user, role=role))


def test_validate_override_reject_write_the_reviewer_and_time(backends):
    sme = as_(backends, "sam@x.io", "sme")
    record = sme.review.open("b")
    validated = sme.review.validate_ai("b", opened=record.review.reviewed_at, reference_answer="412 car spaces [1].")
    assert (validated.review.status, validated.review.sme_score, validated.review.reviewer) == (
        "validated",
        1.0,
        "sam@x.io",
    )
    assert validated.review.reference_answer == "412 car spaces [1]." and validated.review.reviewed_at is not None
    overridden = sme.review.review("b", opened=validated.review.reviewed_at, status="validated", sme_score=0.5)
    assert overridden.review.sme_score == 0.5 and overridden.review.reference_answer == "412 car spaces [1]."
    rejected = sme.review.review("e", opened=None, status="rejected")
    assert rejected.review.status == "rejected"
    events = [(e.action, e.target) for e in as_(backends, "root", "admin").audit.events().items]
    assert events[:3] == [("review", "e"), ("review", "b"), ("review", "b")]


def test_the_second_of_two_smes_on_one_answer_is_told_not_overwritten(backends):
    first, second = as_(backends, "sam@x.io", "sme"), as_(backends, "kim@x.io", "sme")
    opened_by_both = first.review.open("a").review.reviewed_at
    first.review.validate_ai("a", opened=opened_by_both)
    with pytest.raises(Conflict, match="sam@x.io changed the review of this answer since you opened it"):
        second.review.review("a", opened=opened_by_both, status="rejected")
    assert backends.feedback_store.get("a").review.status == "validated"


def test_bad_scores_and_missing_ai_scores_are_refused(backends):
    sme = as_(backends, "sam@x.io", "sme")
    with pytest.raises(InvalidFeedback, match="from 0.0 to 5.0"):
        sme.review.review("a", opened=None, status="validated", sme_score=7)
    with pytest.raises(InvalidFeedback, match="no AI score to validate"):
        sme.review.validate_ai("d", opened=None)


def test_bulk_validation_of_high_scores_skips_what_was_reviewed(backends):
    sme = as_(backends, "sam@x.io", "sme")
    sme.review.review("c", opened=None, status="rejected")
    result = sme.review.validate_high_scores(min_score=4.0)
    assert (result.done, result.skipped) == (1, 0)
    assert backends.feedback_store.get("a").review.sme_score == 4.5
    assert backends.feedback_store.get("c").review.status == "rejected"


def test_the_queue_sorts_groups_and_is_for_smes_and_admins(backends):
    sme = as_(backends, "sam@x.io", "sme")
    page = sme.review.queue(InteractionFilter(max_judge_score=4.0), order="judge_asc")
    assert [i.id for i in page.items] == ["b", "e", "c"]
    assert sme.review.groups(by="judge_band")["4–5"] == 2
    engineer = as_(backends, "eve@x.io", "engineer")
    for call in (
        lambda: engineer.review.queue(),
        lambda: engineer.review.open("a"),
        lambda: engineer.review.review("a", opened=None, status="validated"),
        lambda: engineer.review.validate_high_scores(),
    ):
        with pytest.raises(Forbidden):
            call()
    assert backends.feedback_store.get("a").review.status == "unreviewed"


def test_a_verdict_without_a_score_stores_and_audits_no_score(backends):
    sme = as_(backends, "sam@x.io", "sme")
    rejected = sme.review.review("a", opened=None, status="rejected")
    assert rejected.review.sme_score is None
    sme.review.review("b", opened=None, status="rejected", sme_score=0.5)
    events = {e.target: e.detail for e in as_(backends, "root", "admin").audit.events().items}
    assert events["a"] == {"status": "rejected"}
    assert events["b"] == {"status": "rejected", "sme_score": 0.5}


def test_the_queue_total_counts_what_each_order_lists_over_all_pages(backends):
    sme = as_(backends, "sam@x.io", "sme")
    # Scored: a, b, c, e (d never judged); rated: a, b, d, e (c unrated).
    for order in ("newest", "oldest", "judge_asc", "judge_desc", "rating_asc", "rating_desc"):
        listed, cursor = [], None
        while True:
            page = sme.review.queue(order=order, limit=2, cursor=cursor)
            listed += [i.id for i in page.items]
            if (cursor := page.next_cursor) is None:
                break
        assert sme.review.count(order=order) == len(listed), order
    assert sme.review.count(order="judge_asc") == 4 and sme.review.count(order="rating_desc") == 4
    assert sme.review.count(InteractionFilter(min_rating=4), order="newest") == 2
    backends.feedback_store.set_judge("d", JudgeScore(score=None, raw="no tags", judge_model="j"))
    assert sme.review.count(order="judge_asc") == 4  # a reply without a score is not listed by score
    with pytest.raises(Forbidden):
        as_(backends, "eve@x.io", "engineer").review.count()
