"""Service functions the pages call: recording answers and feedback, with input limits."""

import pytest

from app.config import Settings
from app.services import Services
from feedback.errors import InvalidFeedback, NotFound
from rag.records import Answer, Citation


@pytest.fixture
def services():
    return Services(Settings())


def answer(question="How many car parking spaces?") -> Answer:
    citation = Citation(
        n=1, source="Design/criteria.pdf", page=12, chunk_id="c1", score=0.03, text="412 car parking spaces."
    )
    return Answer(
        question=question,
        answer="412 [1].",
        found=True,
        citations=[citation],
        model_id="m",
        prompt_version="p1",
        latency_ms=1200,
    )


def test_every_answer_is_recorded_with_its_context(services):
    rec = services.chat.record_answer(answer(), session_id="s1", turn=1)
    stored = services.backends.feedback_store.get(rec.id)
    assert stored.feedback is None and stored.review.status == "unreviewed"
    assert stored.user == services.settings.user and stored.role == "admin"
    assert stored.context == "[1] (Design/criteria.pdf – page 12)\n412 car parking spaces."
    assert (stored.model_id, stored.prompt_version, stored.latency_ms) == ("m", "p1", 1200)


@pytest.mark.parametrize("rating", [0, 6, -1, 2.5, "3", True, None])
def test_rating_outside_1_to_5_is_rejected(services, rating):
    rec = services.chat.record_answer(answer(), session_id="s1", turn=1)
    with pytest.raises(InvalidFeedback, match="rating must be a whole number from 1 to 5"):
        services.chat.rate(rec.id, rating)
    assert services.backends.feedback_store.get(rec.id).feedback is None


def test_oversized_note_and_correction_are_rejected_with_the_limit(services):
    rec = services.chat.record_answer(answer(), session_id="s1", turn=1)
    with pytest.raises(InvalidFeedback, match="note is 5001 characters long; the limit is 5000"):
        services.chat.rate(rec.id, 3, note="x" * 5001)
    with pytest.raises(InvalidFeedback, match="better answer is 20001 characters"):
        services.chat.rate(rec.id, 3, correction="x" * 20001)


def test_rerating_updates_the_same_record(services):
    rec = services.chat.record_answer(answer(), session_id="s1", turn=1)
    services.chat.rate(rec.id, 2, note="wrong page")
    services.chat.rate(rec.id, 5, correction="  ", note="fixed")
    stored = services.backends.feedback_store.get(rec.id)
    assert (stored.feedback.rating, stored.feedback.label, stored.feedback.correction, stored.feedback.note) == (
        5,
        "Strongly agree",
        None,
        "fixed",
    )
    assert len(services.backends.feedback_store.list().items) == 1


def test_one_click_stores_the_rating_and_a_face_change_keeps_the_details(services):
    rec = services.chat.record_answer(answer(), session_id="s1", turn=1)
    services.chat.rate(rec.id, 2)
    assert services.backends.feedback_store.get(rec.id).feedback.rating == 2
    services.chat.rate(rec.id, 2, correction="412 spaces, page 12.", note="wrong page")
    services.chat.rate(rec.id, 4)  # a later face click keeps the better answer and the note
    stored = services.backends.feedback_store.get(rec.id).feedback
    assert (stored.rating, stored.correction, stored.note) == (4, "412 spaces, page 12.", "wrong page")
    services.chat.rate(rec.id, 4, correction=rec.answer + "  ", note=None)  # the pre-filled answer, unedited
    stored = services.backends.feedback_store.get(rec.id).feedback
    assert (stored.rating, stored.correction, stored.note) == (4, None, None)


def test_feedback_on_another_users_answer_is_refused(services, monkeypatch):
    rec = services.chat.record_answer(answer(), session_id="s1", turn=1)
    monkeypatch.setenv("RAGBOT_USER", "someone-else")
    other = Services(Settings())
    with pytest.raises(NotFound):
        other.chat.rate(rec.id, 4)
    with pytest.raises(NotFound):
        other.chat.rate("no-such-id", 4)


def test_conversations_are_per_user(services, monkeypatch):
    services.chat.record_answer(answer("first question"), session_id="s1", turn=1)
    services.chat.record_answer(answer("follow-up"), session_id="s1", turn=2)
    services.chat.record_answer(answer("another topic"), session_id="s2", turn=1)
    sessions = services.chat.conversations()
    assert [s.session_id for s in sessions] == ["s2", "s1"]
    assert sessions[1].first_question == "first question" and sessions[1].turns == 2
    assert [t.question for t in services.chat.conversation("s1")] == ["first question", "follow-up"]
    monkeypatch.setenv("RAGBOT_USER", "someone-else")
    assert Services(Settings()).chat.conversations() == []


def test_a_rating_given_while_the_store_is_down_is_queued_not_lost(services, monkeypatch):
    from feedback.errors import StoreUnavailable

    rec = services.chat.record_answer(answer(), session_id="s1", turn=1)
    inner = services.backends.feedback_store.inner

    def down(*args, **kwargs):
        raise StoreUnavailable("database is locked")

    with monkeypatch.context() as m:
        for method in ("get", "set_feedback"):
            m.setattr(inner, method, down)
        rated = services.chat.rate(rec.id, 2, note="wrong page")
        assert rated.feedback.rating == 2 and services.chat.last_write_queued() and services.feedback.pending() == 1
    assert services.backends.feedback_store.flush() == (1, 0)
    assert inner.get(rec.id).feedback.note == "wrong page"
