"""The judge's run logic (concurrency, retries, stopping, interruption, the background worker) and the
agreement statistics, on the real SQLite store with a scripted judge model standing in for the
model (the model path itself is tested over HTTP in tests/app/test_cli_judge.py)."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.errors import JudgeModelError, JudgeThrottled, NotFound
from feedback.judge import Judge, JudgeWorker, RetryPolicy, score_to_likert
from feedback.judge.agreement import compare
from feedback.records import JudgeScore
from feedback.stores.base import InteractionFilter
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import ids, make

GOOD = "<thinking>fine</thinking><scoring>4</scoring><reason>ok</reason>"
FAST = RetryPolicy(attempts=3, backoff=0.001)


class ScriptedModel:
    """Replies ``GOOD`` (or what ``behave(question)`` returns or raises), recording each call."""

    def __init__(self, behave=None, *, max_concurrency: int = 8, delay: float = 0.0):
        self.model_id = "scripted-judge"
        self.max_concurrency = max_concurrency
        self.behave = behave
        self.delay = delay
        self.calls: list[str] = []
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def complete(self, messages) -> str:
        question = messages[-1]["content"].split("<question>\n", 1)[1].split("\n", 1)[0]
        with self._lock:
            self.calls.append(question)
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)
            return self.behave(question) if self.behave else GOOD
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture
def store(tmp_path):
    s = SQLiteFeedbackStore(tmp_path / "feedback.db")
    for i in range(12):
        s.put(make(f"i{i:02d}", minutes=i, question=f"q{i:02d}"))
    yield s
    s.close()


def test_concurrency_is_bounded_by_the_setting_and_by_the_model():
    assert Judge(None, ScriptedModel(max_concurrency=1), concurrency=8).concurrency == 1
    assert Judge(None, ScriptedModel(max_concurrency=8), concurrency=3).concurrency == 3


def test_a_run_keeps_at_most_concurrency_requests_in_flight(store):
    model = ScriptedModel(delay=0.02)
    summary = Judge(store, model, concurrency=3).run()
    assert summary.scored == 12 and model.peak == 3
    assert sorted(model.calls) == [f"q{i:02d}" for i in range(12)]


def test_throttling_is_retried_until_the_attempts_run_out(store):
    attempts = {"q11": 0, "q10": 0}

    def behave(question):
        attempts[question] += 1
        if question == "q10" or attempts[question] < 3:
            raise JudgeThrottled("429")
        return GOOD

    summary = Judge(store, ScriptedModel(behave), retry=FAST).run(limit=2)
    assert attempts == {"q11": 3, "q10": 3}
    assert (summary.scored, summary.failed) == (1, 1) and "429" in summary.errors[0]


def test_a_run_stops_after_failures_in_a_row_and_the_next_one_retries_them(store):
    def down(question):
        raise JudgeModelError("connection refused")

    model = ScriptedModel(down)
    summary = Judge(store, model, concurrency=2, max_consecutive_failures=4).run()
    assert summary.failed >= 4 and len(model.calls) < 12
    assert summary.stopped and "4 failures in a row" in summary.stopped and "connection refused" in summary.stopped
    assert ids(store.list(InteractionFilter(judged=True))) == []
    summary = Judge(store, ScriptedModel()).run()
    assert (summary.selected, summary.scored) == (12, 12)


def test_an_interrupted_run_keeps_what_it_scored_and_the_next_run_sends_nothing_twice(store):
    model = ScriptedModel(delay=0.01)

    def interrupt(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Judge(store, model, concurrency=2).run(progress=interrupt)
    stored = len(store.list(InteractionFilter(judged=True)).items)
    assert 2 <= stored <= 4 and stored == len(model.calls)  # the requests in flight finished and were stored
    summary = Judge(store, model, concurrency=2).run()
    assert summary.selected == 12 - stored
    assert sorted(model.calls) == [f"q{i:02d}" for i in range(12)]  # each asked exactly once


def test_a_record_scored_meanwhile_is_skipped(store):
    judge = Judge(store, ScriptedModel(), concurrency=1)
    selected = judge.select(limit=3)
    store.set_judge(selected[1], JudgeScore(score=1.0, judge_model="someone else"))
    original_select = judge.select
    judge.select = lambda *a, **k: selected  # the listing was taken before the other write
    summary = judge.run()
    judge.select = original_select
    assert (summary.scored, summary.skipped) == (2, 1)
    assert store.get(selected[1]).judge.judge_model == "someone else"


def test_rescore_and_limit_select_newest_first(store):
    judge = Judge(store, ScriptedModel())
    judge.run(limit=5)
    assert judge.select(limit=2) == ["i06", "i05"]
    assert judge.select(limit=2, rescore=True) == ["i11", "i10"]
    with pytest.raises(ValueError, match="limit=0"):
        judge.select(limit=0)


def test_judge_one_record(store):
    judge = Judge(store, ScriptedModel(lambda q: "no tags at all"))
    record = judge.judge("i03")
    assert record.judge.score is None and record.judge.raw == "no tags at all" and record.judge.issues == ["no_tags"]
    with pytest.raises(NotFound):
        judge.judge("missing")


def test_replies_of_every_shape_a_server_sends_are_stored_and_the_run_goes_on(store):
    """Issue 24, row 1: content as a list of parts, an object or null aborted every run."""
    shapes = {
        "q00": [{"type": "text", "text": GOOD}],
        "q01": {"type": "text", "text": GOOD},
        "q02": None,
        "q03": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}],
        "q04": 4,
    }
    summary = Judge(store, ScriptedModel(lambda q: shapes.get(q, GOOD)), concurrency=2).run()
    assert (summary.selected, summary.scored, summary.unparsable, summary.failed) == (12, 9, 3, 0)
    assert store.get("i00").judge.score == 4.0 and store.get("i00").judge.raw == GOOD
    assert store.get("i01").judge.score == 4.0
    assert store.get("i02").judge.issues == ["empty_reply"] and store.get("i02").judge.raw == ""
    image = store.get("i03").judge
    assert image.score is None and image.issues == ["not_text"] and "image_url" in image.raw
    assert store.get("i04").judge.raw == "4" and store.get("i04").judge.score is None


def test_a_huge_reply_is_stored_cut_and_says_so(store):
    """Issue 24, row 5: a 50 MB reply was stored whole, raw and thinking."""
    thinking = "blah " * 200_000  # 1 MB stands in for 50: the cap, not the size, is under test
    reply = f"<thinking>{thinking}</thinking><scoring>3</scoring><reason>ok</reason>"
    judge = Judge(store, ScriptedModel(lambda q: reply), max_reply_chars=5_000)
    record = judge.judge("i03")
    assert record.judge.score == 3.0  # read from the whole reply
    assert "reply_cut" in record.judge.issues
    assert len(record.judge.raw) < 5_100 and record.judge.raw.startswith(reply[:5_000])
    assert "more characters not stored" in record.judge.raw
    assert len(record.judge.thinking) < 5_100 and record.judge.reason == "ok"
    stored = store.get("i03").judge
    assert stored.raw == record.judge.raw and "reply_cut" in stored.issues
    short = Judge(store, ScriptedModel(), max_reply_chars=5_000).judge("i04").judge
    assert short.raw == GOOD and "reply_cut" not in short.issues
    with pytest.raises(ValueError, match="max_reply_chars"):
        Judge(store, ScriptedModel(), max_reply_chars=0)


@given(st.text(max_size=300), st.integers(1, 200))
def test_a_cut_text_keeps_its_start_and_says_how_much_is_left_out(text, limit):
    from feedback.judge.runner import cut

    kept, was_cut = cut(text, limit)
    assert was_cut is (len(text) > limit)
    if was_cut:
        assert kept.startswith(text[:limit]) and f"{len(text) - limit:,} more characters" in kept
    else:
        assert kept == text


def test_the_background_worker_scores_what_it_is_given_and_survives_failures(store):
    def behave(question):
        if question == "q01":
            raise JudgeModelError("boom")
        return GOOD

    worker = JudgeWorker(Judge(store, ScriptedModel(behave)), maxsize=10)
    assert all(worker.submit(i) for i in ("i00", "i01", "missing", "i02"))
    assert worker.wait_idle(timeout=10)
    assert (worker.judged, worker.failed) == (2, 2)
    assert {r.id for r in store.list(InteractionFilter(judged=True)).items} == {"i00", "i02"}
    worker.stop()


def test_the_background_queue_is_bounded(store):
    release = threading.Event()
    worker = JudgeWorker(Judge(store, ScriptedModel(lambda q: (release.wait(10), GOOD)[1])), maxsize=2)
    accepted = [worker.submit(f"i{i:02d}") for i in range(6)]
    # One is being judged, two wait; the rest are dropped and stay unjudged for the next run.
    assert accepted.count(True) in (2, 3) and worker.dropped == accepted.count(False)
    release.set()
    assert worker.wait_idle(timeout=10)
    worker.stop()


# -- agreement ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "likert"),
    [
        (0.0, 1),
        (1.0, 1),
        (1.49, 1),
        (1.5, 2),
        (2.0, 2),
        (2.5, 3),
        (3.49, 3),
        (3.5, 4),
        (4.0, 4),
        (4.49, 4),
        (4.5, 5),
        (5.0, 5),
    ],
)
def test_score_to_likert(score, likert):
    assert score_to_likert(score) == likert


@given(st.floats(0.0, 5.0), st.floats(0.0, 5.0))
def test_the_mapping_is_monotone_and_onto_1_to_5(a, b):
    if a <= b:
        assert score_to_likert(a) <= score_to_likert(b)
    assert 1 <= score_to_likert(a) <= 5


@pytest.mark.parametrize("bad", [-0.1, 5.1, float("nan"), float("inf")])
def test_a_score_off_the_scale_is_refused(bad):
    with pytest.raises(ValueError, match="0.0 to 5.0"):
        score_to_likert(bad)


def test_undefined_statistics_are_none():
    empty = compare([], "users")
    assert (empty.n, empty.kappa, empty.spearman, empty.mae) == (0, None, None, None)
    constant = compare([(3.0, 3), (3.2, 3)], "users")  # one class on both sides: kappa and rho are 0/0
    assert (constant.n, constant.kappa, constant.spearman, constant.mae) == (2, None, None, 0.0)
    perfect = compare([(1.0, 1), (3.0, 3), (5.0, 5)], "users")
    assert (perfect.kappa, perfect.spearman, perfect.mae) == (1.0, 1.0, 0.0)
