"""common.bounded_run: the bounded worker pool, the stop after failures in a row, the errors kept,
and the retry loop that the judge and synth runs share, on real threads."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.bounded_run import MAX_ERRORS_KEPT, RetryPolicy, Stopped, retry_call, run_bounded


class Down(Exception):
    """A failed item."""


class Throttled(Exception):
    """A retryable error."""


class Tracker:
    """Counts the work in flight and its peak."""

    def __init__(self) -> None:
        self.active = self.peak = 0
        self.started: list[int] = []
        self.finished: list[int] = []
        self.lock = threading.Lock()

    def __enter__(self):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)

    def __exit__(self, *exc):
        with self.lock:
            self.active -= 1


def test_no_more_than_concurrency_items_are_worked_on_at_once_and_every_result_is_handled():
    tracker, handled = Tracker(), []

    def work(i, stop):
        with tracker:
            time.sleep(0.02)
            return i * i

    report = run_bounded(
        range(12),
        work,
        lambda i, r: handled.append((i, r)),
        concurrency=3,
        failures=Down,
        max_consecutive_failures=2,
    )
    assert tracker.peak == 3
    assert sorted(handled) == [(i, i * i) for i in range(12)]
    assert (report.done, report.failed, report.errors, report.stopped) == (12, 0, [], None)


@settings(max_examples=30, deadline=None)
@given(concurrency=st.integers(1, 4), count=st.integers(0, 14))
def test_items_are_read_at_most_twice_concurrency_ahead_of_the_results(concurrency, count):
    tracker, taken, gaps, threads = Tracker(), [], [], set()

    def items():
        for i in range(count):
            taken.append(i)
            yield i

    def work(i, stop):
        threads.add(threading.current_thread().name)
        with tracker:
            time.sleep(0.001)
            return i

    report = run_bounded(
        items(),
        work,
        lambda i, r: None,
        concurrency=concurrency,
        failures=Down,
        max_consecutive_failures=1,
        progress=lambda done: gaps.append(len(taken) - done),
        name="bounded-test",
    )
    assert report.done == count and len(taken) == count
    assert tracker.peak <= concurrency
    assert all(gap < 2 * concurrency for gap in gaps), gaps
    assert all(name.startswith("bounded-test") for name in threads)


def serial(outcomes: list[bool]):
    """Work that fails where ``outcomes`` says False, each item starting only once the one before
    it is fully counted: the order of failures is then exactly the items' order."""
    counted = threading.Condition()
    state = {"done": 0}

    def progress(done):
        with counted:
            state["done"] = done
            counted.notify_all()

    def work(i, stop):
        with counted:
            assert counted.wait_for(lambda: state["done"] >= i or stop.is_set(), timeout=10)
        if stop.is_set():
            raise Stopped
        if not outcomes[i]:
            raise Down(f"item {i} failed")
        return i

    return work, progress


@settings(max_examples=60, deadline=None)
@given(outcomes=st.lists(st.booleans(), max_size=30), limit=st.integers(1, 4), concurrency=st.integers(1, 3))
def test_a_run_stops_after_n_failures_in_a_row_and_keeps_the_first_errors(outcomes, limit, concurrency):
    work, progress = serial(outcomes)
    handled = []
    report = run_bounded(
        range(len(outcomes)),
        work,
        lambda i, r: handled.append(r),
        concurrency=concurrency,
        failures=Down,
        max_consecutive_failures=limit,
        progress=progress,
    )
    # What the run should do, item by item.
    expected_done, streak, stopped_at = len(outcomes), 0, None
    for i, ok in enumerate(outcomes):
        streak = 0 if ok else streak + 1
        if streak == limit:
            expected_done, stopped_at = i + 1, i
            break
    seen = outcomes[:expected_done]
    failed = [i for i, ok in enumerate(seen) if not ok]
    assert report.done == expected_done
    assert handled == [i for i, ok in enumerate(seen) if ok]
    assert report.failed == len(failed)
    assert report.errors == [f"item {i} failed" for i in failed[:MAX_ERRORS_KEPT]]
    if stopped_at is None:
        assert report.stopped is None
    else:
        assert report.stopped == f"stopped after {limit} failures in a row; the last: item {stopped_at} failed"


def test_errors_kept_stay_bounded_on_a_long_failing_run_and_describe_names_the_item():
    def work(i, stop):
        raise Down("connection refused")

    report = run_bounded(
        range(40),
        work,
        lambda i, r: None,
        concurrency=4,
        failures=Down,
        max_consecutive_failures=1000,
        describe=lambda i, e: f"item {i}: {e}",
    )
    assert (report.done, report.failed, report.stopped) == (40, 40, None)
    assert len(report.errors) == MAX_ERRORS_KEPT
    assert all(e.startswith("item ") and e.endswith(": connection refused") for e in report.errors)


def test_a_failure_without_a_message_is_kept_by_its_type():
    def work(i, stop):
        raise Down

    report = run_bounded([1], work, lambda i, r: None, concurrency=1, failures=Down, max_consecutive_failures=5)
    assert report.errors == ["Down"]


def test_an_error_not_named_a_failure_ends_the_run_after_the_work_in_flight_finishes():
    tracker = Tracker()

    def work(i, stop):
        if stop.is_set():
            raise Stopped
        with tracker:
            tracker.started.append(i)
            if i == 0:
                raise ValueError("the store is unreachable")
            time.sleep(0.05)
            tracker.finished.append(i)
            return i

    with pytest.raises(ValueError, match="unreachable"):
        run_bounded(range(50), work, lambda i, r: None, concurrency=2, failures=Down, max_consecutive_failures=3)
    assert tracker.active == 0  # nothing still running once the error is raised
    assert sorted(tracker.finished) == sorted(i for i in tracker.started if i != 0)
    assert len(tracker.started) <= 4  # what was queued when the error came; nothing more started


def test_an_interrupt_in_the_handler_is_raised_and_stops_the_rest():
    started = []

    def work(i, stop):
        if stop.is_set():
            raise Stopped
        started.append(i)
        time.sleep(0.01)
        return i

    def handle(i, r):
        if i == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_bounded(range(100), work, handle, concurrency=2, failures=Down, max_consecutive_failures=3)
    assert len(started) <= 6


@pytest.mark.parametrize("bad", [{"concurrency": 0}, {"max_consecutive_failures": 0}])
def test_bad_settings_are_refused_naming_the_value(bad):
    kwargs = {"concurrency": 1, "failures": Down, "max_consecutive_failures": 1} | bad
    with pytest.raises(ValueError, match=f"{next(iter(bad))}=0 must be 1 or more"):
        run_bounded([1], lambda i, stop: i, lambda i, r: None, **kwargs)


class RecordedWaits(threading.Event):
    """A stop event that records how long each retry would wait instead of waiting; ``stop_after``
    waits, it reports the run stopped."""

    def __init__(self, stop_after: int | None = None) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.stop_after = stop_after

    def wait(self, timeout=None) -> bool:
        self.waits.append(timeout)
        return self.stop_after is not None and len(self.waits) >= self.stop_after


def flaky(errors: list[BaseException]):
    calls = []

    def call():
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "reply"

    return call, calls


def test_retryable_errors_are_retried_with_growing_waits_until_the_call_succeeds():
    call, calls = flaky([Throttled("429"), Throttled("429"), Throttled("429")])
    stop = RecordedWaits()
    policy = RetryPolicy(attempts=5, backoff=1.0, max_backoff=3.0)
    assert retry_call(call, retryable=Throttled, policy=policy, stop=stop) == "reply"
    assert len(calls) == 4
    assert 0.5 <= stop.waits[0] <= 1.0 and 1.0 <= stop.waits[1] <= 2.0 and 2.0 <= stop.waits[2] <= 3.0


def test_the_last_retryable_error_is_raised_when_the_attempts_run_out():
    call, calls = flaky([Throttled(f"429 #{n}") for n in range(1, 4)])
    stop = RecordedWaits()
    with pytest.raises(Throttled, match="#3"):
        retry_call(call, retryable=Throttled, policy=RetryPolicy(attempts=3, backoff=0.01), stop=stop)
    assert len(calls) == 3 and len(stop.waits) == 2


def test_other_errors_are_not_retried():
    call, calls = flaky([Down("bad key"), Throttled("429")])
    stop = RecordedWaits()
    with pytest.raises(Down, match="bad key"):
        retry_call(call, retryable=Throttled, policy=RetryPolicy(attempts=5), stop=stop)
    assert len(calls) == 1 and stop.waits == []


def test_a_stop_while_waiting_to_retry_gives_up_at_once():
    call, calls = flaky([Throttled("429")] * 5)
    with pytest.raises(Stopped):
        retry_call(call, retryable=Throttled, policy=RetryPolicy(attempts=5), stop=RecordedWaits(stop_after=2))
    assert len(calls) == 2


def test_without_a_stop_event_the_retry_sleeps():
    call, calls = flaky([Throttled("429")])
    started = time.perf_counter()
    assert retry_call(call, retryable=Throttled, policy=RetryPolicy(attempts=2, backoff=0.05)) == "reply"
    assert time.perf_counter() - started >= 0.025 and len(calls) == 2


@given(
    attempt=st.integers(1, 12),
    backoff=st.floats(0, 100, allow_nan=False),
    max_backoff=st.floats(0, 1000, allow_nan=False),
)
def test_a_delay_is_between_half_and_all_of_the_doubled_backoff_and_never_over_the_cap(attempt, backoff, max_backoff):
    delay = RetryPolicy(backoff=backoff, max_backoff=max_backoff).delay(attempt)
    full = backoff * 2 ** (attempt - 1)
    assert min(full / 2, max_backoff) <= delay <= min(full, max_backoff)


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"backoff": -1.0}, {"max_backoff": -1.0}])
def test_a_policy_that_cannot_work_is_refused(bad):
    with pytest.raises(ValueError, match="must be"):
        RetryPolicy(**bad)
