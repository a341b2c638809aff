"""A total deadline for one request, on top of the per-read timeouts of the HTTP clients.

A read timeout bounds the wait for the *next* bytes, not for the whole reply: a server that
sends one byte every 50 s never trips a 120 s read timeout and never finishes. A ``Deadline``
bounds the whole request (connecting, retries, the headers, every byte of the body or stream).

Two ways to enforce it, for the two HTTP stacks under ragbot's backends:

- ``capped(deadline)`` around a pull from an httpx/httpcore response: every socket read made
  while it is active gets its timeout cut to what is left of the deadline (``DeadlineBackend``
  wraps httpcore's network backend to do so), so the read fails as a timeout once it is spent.
- ``Deadline.watch(stream)``: for botocore's urllib3 responses, whose reads cannot be reached,
  a timer shuts the response's socket down when the deadline passes; the blocked read wakes up
  with an error (or an early end), and the caller asks ``deadline.expired`` to say why.

Either way the caller, not this module, turns the failure into its own error, naming the setting.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class Deadline:
    """The end of one request's time.

    Args:
        seconds: the time allowed from now; ``None`` for no deadline (only the read timeouts).

    Raises:
        ValueError: ``seconds`` is not more than 0.
    """

    def __init__(self, seconds: float | None):
        if seconds is not None and not seconds > 0:
            raise ValueError(f"a deadline must be more than 0 seconds, got {seconds!r}")
        self.seconds = seconds
        self._end = time.monotonic() + seconds if seconds is not None else math.inf
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.fired = False
        """Whether ``watch``'s timer shut a socket down."""

    @property
    def remaining(self) -> float:
        """Seconds left (``inf`` without a deadline, 0 once passed)."""
        return max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self._end

    def cap(self, timeout: float | None) -> float | None:
        """``timeout`` cut to the time left (``None``, no timeout, becomes the time left); never
        below a millisecond, as a zero socket timeout would mean "do not block" rather than "fail"."""
        if self.seconds is None:
            return timeout
        left = max(self.remaining, 0.001)
        return left if timeout is None else min(timeout, left)

    def watch(self, stream: Any) -> None:
        """Shut the socket under ``stream`` (an httpx or urllib3 response, a botocore body or
        event stream) down when the deadline passes, so a read blocked on it returns. Does nothing
        without a deadline or when no socket can be found (the read timeouts still apply)."""
        if self.seconds is None:
            return
        sock = socket_of(stream)
        if sock is None:
            return

        def fire() -> None:
            self.fired = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.remaining, fire)
            self._timer.daemon = True
            self._timer.start()

    def close(self) -> None:
        """Stop watching (call it when the reply is read or abandoned)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DeadlinePassed(Exception):
    """A request passed its deadline (raised between two reads, or when the watchdog ended one)."""


def until(chunks: Iterable[T], deadline: Deadline) -> Iterator[T]:
    """``chunks`` while ``deadline`` holds.

    Raises:
        DeadlinePassed: the deadline passed between two chunks, or ``watch``'s timer cut the
            stream short (it then looks like an early end).
    """
    for chunk in chunks:
        if deadline.expired:
            raise DeadlinePassed(f"the deadline of {deadline.seconds:g} s passed")
        yield chunk
    if deadline.fired:
        raise DeadlinePassed(f"the deadline of {deadline.seconds:g} s passed")


def read_all(body: Any, deadline: Deadline, chunk_size: int = 65536) -> bytes:
    """The whole of a botocore ``StreamingBody`` (or anything with ``read``), read within
    ``deadline``: its socket is shut down when the deadline passes.

    Raises:
        DeadlinePassed: the deadline passed before the body was read.
        whatever the body's reads raise (a broken connection, a read timeout).
    """
    deadline.watch(body)
    try:
        if hasattr(body, "iter_chunks"):
            return b"".join(until(body.iter_chunks(chunk_size), deadline))
        data = body.read()
        if deadline.fired:
            raise DeadlinePassed(f"the deadline of {deadline.seconds:g} s passed")
        return data
    finally:
        deadline.close()


def socket_of(stream: Any) -> socket.socket | None:
    """The socket a response reads from, or None when it cannot be found."""
    extensions = getattr(stream, "extensions", None)  # httpx / httpcore
    if isinstance(extensions, dict) and "network_stream" in extensions:
        with contextlib.suppress(Exception):
            sock = extensions["network_stream"].get_extra_info("socket")
            if isinstance(sock, socket.socket):
                return sock
    # botocore's StreamingBody and EventStream hold the urllib3 response in _raw_stream.
    raw = getattr(stream, "_raw_stream", None) or stream
    for path in (("_connection", "sock"), ("connection", "sock"), ("_fp", "fp", "raw", "_sock")):
        obj = raw
        for name in path:
            obj = getattr(obj, name, None)
            if obj is None:
                break
        if isinstance(obj, socket.socket):
            return obj
    return None


# -- httpcore: every read capped by the deadline of the request being read -----------------------

_local = threading.local()


@contextlib.contextmanager
def capped(deadline: Deadline) -> Iterator[None]:
    """While active, socket reads through a ``DeadlineBackend`` in this thread wait at most the
    time left of ``deadline``, and fail at once when it is spent."""
    before = getattr(_local, "deadline", None)
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = before


def current() -> Deadline | None:
    """The deadline ``capped`` made active in this thread, if any."""
    return getattr(_local, "deadline", None)


def deadline_backend(inner: Any) -> Any:
    """httpcore's network backend ``inner`` with each stream's reads capped by ``current()``.

    Raises ImportError when httpcore is missing.
    """
    import httpcore

    class DeadlineStream(httpcore.NetworkStream):
        def __init__(self, stream: Any):
            self._stream = stream

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            deadline = current()
            if deadline is not None:
                if deadline.expired:
                    raise httpcore.ReadTimeout("the request's deadline passed")
                timeout = deadline.cap(timeout)
            return self._stream.read(max_bytes, timeout)

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            deadline = current()
            if deadline is not None:
                if deadline.expired:
                    raise httpcore.WriteTimeout("the request's deadline passed")
                timeout = deadline.cap(timeout)
            self._stream.write(buffer, timeout)

        def close(self) -> None:
            self._stream.close()

        def start_tls(self, ssl_context, server_hostname=None, timeout=None):
            return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

        def get_extra_info(self, info: str) -> Any:
            return self._stream.get_extra_info(info)

    class DeadlineBackend(httpcore.NetworkBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            deadline = current()
            if deadline is not None:
                timeout = deadline.cap(timeout)
            return DeadlineStream(inner.connect_tcp(host, port, timeout, local_address, socket_options))

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            return DeadlineStream(inner.connect_unix_socket(path, timeout, socket_options))

        def sleep(self, seconds: float) -> None:
            inner.sleep(seconds)

    return DeadlineBackend()
