"""Judging new answers in the background, so the SME queue is scored before anyone opens it.

One daemon thread takes interaction ids from a bounded queue and grades each that has no verdict
yet. Nothing waits on it: when the queue is full the id is dropped (and logged), and the record
simply stays unjudged until the next ``ragbot judge`` run or a bulk "score with the judge".
"""

from __future__ import annotations

import logging
import queue
import threading

from feedback.judge.runner import Judge

log = logging.getLogger(__name__)


class JudgeWorker:
    """A background thread that grades the interactions handed to ``submit``, one at a time.

    Args:
        judge: grades and stores (``Judge.judge`` with ``rescore=False``).
        maxsize: ids that may wait; more are dropped.

    The thread starts on the first ``submit`` and is a daemon: it never keeps a process alive.
    """

    def __init__(self, judge: Judge, *, maxsize: int = 100) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize={maxsize!r} must be 1 or more")
        self.judge = judge
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unfinished = 0
        self._thread: threading.Thread | None = None
        self.judged = 0
        self.failed = 0
        self.dropped = 0

    def submit(self, interaction_id: str) -> bool:
        """Queue one interaction for grading; returns False (and drops it) when the queue is full."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="judge-worker", daemon=True)
                self._thread.start()
            try:
                self._queue.put_nowait(interaction_id)
            except queue.Full:
                self.dropped += 1
                log.warning(
                    "background judge queue is full; %s stays unjudged until the next judge run", interaction_id
                )
                return False
            self._unfinished += 1
            return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every submitted id has been handled; returns False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Let the ids already queued be handled, then end the thread (waits up to ``timeout``)."""
        with self._lock:
            thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._queue.put(None)
        thread.join(timeout)

    def _loop(self) -> None:
        while True:
            interaction_id = self._queue.get()
            if interaction_id is None:
                return
            try:
                record = self.judge.judge(interaction_id, rescore=False)
                self.judged += 1
                log.debug(
                    "background judge scored %s: %s", interaction_id, record.judge.score if record.judge else None
                )
            except Exception:  # one bad record or a model outage must not end the worker
                self.failed += 1
                log.warning("background judge could not score %s", interaction_id, exc_info=True)
            finally:
                with self._idle:
                    self._unfinished -= 1
                    self._idle.notify_all()
