"""common.deadline: the arithmetic of a request's deadline, and its watchdog on a real socket."""

import socket
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.deadline import Deadline, DeadlinePassed, until


@given(st.floats(min_value=1e-3, max_value=1e6), st.none() | st.floats(min_value=0, max_value=1e6))
def test_cap_never_exceeds_the_timeout_nor_the_time_left(seconds, timeout):
    deadline = Deadline(seconds)
    capped = deadline.cap(timeout)
    assert capped is not None and capped >= min(0.001, timeout if timeout is not None else 1)
    assert capped <= max(seconds, 0.001) + 1e-6
    if timeout is not None:
        assert capped <= max(timeout, 0.001)


def test_no_deadline_leaves_timeouts_alone():
    deadline = Deadline(None)
    assert deadline.cap(5.0) == 5.0 and deadline.cap(None) is None and not deadline.expired


@pytest.mark.parametrize("seconds", [0, -1, float("nan")])
def test_a_deadline_must_be_positive(seconds):
    with pytest.raises(ValueError, match="more than 0"):
        Deadline(seconds)


def test_until_stops_between_chunks():
    def slow():
        while True:
            time.sleep(0.05)
            yield b"x"

    began = time.monotonic()
    with pytest.raises(DeadlinePassed):
        for _ in until(slow(), Deadline(0.3)):
            pass
    assert time.monotonic() - began < 0.6


def test_watch_wakes_a_read_blocked_on_a_socket():
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(5.0)
        deadline = Deadline(0.3)

        class Stream:  # what botocore's body holds: a response whose connection has the socket
            class _connection:
                sock = a

        deadline.watch(Stream)
        began = time.monotonic()
        data = a.recv(10)  # nothing is ever sent: only the watchdog ends this
        assert data == b"" and deadline.fired and time.monotonic() - began < 2.0
        deadline.close()
