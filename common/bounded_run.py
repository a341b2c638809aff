"""Running many slow requests with bounded concurrency, as the judge and synth runs do.

``run_bounded`` hands items to a pool of ``concurrency`` worker threads, keeping at most
``2 × concurrency`` queued so that an early stop cancels nothing and each item is read just
before its work starts. Each result is handled in the calling thread, one at a time, in the order
they finish. A failed item is counted and the run goes on until ``max_consecutive_failures`` in a
row stop it (the model is down, the key is wrong: trying the rest would only repeat the error).
On any other exception, an interrupt included, the work in flight finishes, nothing new starts,
and the exception is raised.

``retry_call`` retries one request on the errors a caller names as retryable (throttling), with
exponential backoff and jitter (``RetryPolicy``), and gives up at once when the run is stopped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MAX_ERRORS_KEPT = 5
"""How many failure messages a run keeps (the first ones): enough to see what went wrong, not a
copy of the same error for every item of a long run."""


class Stopped(Exception):
    """The run is being stopped: work that has not started, or is waiting to retry, gives up."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a retryable request is retried: ``attempts`` in all, waiting ``backoff`` seconds before
    the second, doubled (with jitter) after each, at most ``max_backoff``."""

    attempts: int = 5
    backoff: float = 2.0
    max_backoff: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts={self.attempts!r} must be 1 or more")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError(f"backoff={self.backoff!r} and max_backoff={self.max_backoff!r} must be 0 or more")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): between half and all
        of ``backoff × 2^(attempt-1)``, capped at ``max_backoff``."""
        return min(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random() / 2), self.max_backoff)


def retry_call(
    call: Callable[[], R],
    *,
    retryable: type[BaseException] | tuple[type[BaseException], ...],
    policy: RetryPolicy,
    stop: threading.Event | None = None,
    what: str = "request",
) -> R:
    """``call()``, retried on ``retryable`` errors as ``policy`` says; any other error is raised at once.

    ``what`` names the request in the log line of each retry.

    Raises:
        the last retryable error: every attempt failed with one.
        Stopped: ``stop`` was set while waiting to retry.
    """
    for attempt in range(1, policy.attempts):
        try:
            return call()
        except retryable as e:
            delay = policy.delay(attempt)
            log.warning("%s throttled (attempt %d of %d), waiting %.1f s: %s", what, attempt, policy.attempts, delay, e)
            if stop is None:
                time.sleep(delay)
            elif stop.wait(delay):
                raise Stopped from e
    return call()  # the last attempt: its error is the caller's


@dataclass
class RunReport:
    """What ``run_bounded`` did: ``done`` items finished (handled or failed; not those given up
    because the run stopped), ``failed`` of them failed, ``errors`` holds the first
    ``MAX_ERRORS_KEPT`` failure messages, ``stopped`` says why the run ended early, if it did."""

    done: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None


def run_bounded(
    items: Iterable[T],
    work: Callable[[T, threading.Event], R],
    handle: Callable[[T, R], None],
    *,
    concurrency: int,
    failures: type[Exception] | tuple[type[Exception], ...],
    max_consecutive_failures: int,
    describe: Callable[[T, Exception], str] | None = None,
    progress: Callable[[int], None] | None = None,
    name: str = "worker",
) -> RunReport:
    """Run ``work(item, stop)`` for each item in worker threads and ``handle(item, result)`` for each
    result in the calling thread.

    Args:
        items: read lazily, at most ``2 × concurrency`` ahead of the results handled.
        work: runs in a worker thread; raises ``Stopped`` to give an item up (it is then not
            counted), one of ``failures`` when the item failed; ``stop`` is set when the run stops.
        handle: called with each result, one at a time, as they finish (those that finish
            together in the order of ``items``).
        concurrency: worker threads (items in work at once) at most.
        failures: the errors of ``work`` that count as a failed item; any other is raised.
        max_consecutive_failures: the run stops after this many failed items in a row.
        describe: the message kept for a failed item (default: the error's text, or its type).
        progress: called with the number of items done after each.
        name: the worker threads' name prefix.

    Returns the report. Raises what ``work`` (other than ``failures``), ``handle`` or ``progress``
    raise, once the work in flight has finished.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency={concurrency!r} must be 1 or more")
    if max_consecutive_failures < 1:
        raise ValueError(f"max_consecutive_failures={max_consecutive_failures!r} must be 1 or more")
    report = RunReport()
    stop = threading.Event()
    consecutive = 0
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)
    pending: dict[Future, T] = {}
    todo = iter(items)
    try:
        while True:
            while not stop.is_set() and len(pending) < 2 * concurrency:
                try:
                    item = next(todo)
                except StopIteration:
                    break
                pending[pool.submit(work, item, stop)] = item
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in [f for f in pending if f in finished]:  # in the order the items came
                item = pending.pop(future)
                try:
                    result = future.result()
                except Stopped:
                    continue
                except failures as e:
                    report.failed += 1
                    consecutive += 1
                    if len(report.errors) < MAX_ERRORS_KEPT:
                        report.errors.append(describe(item, e) if describe else str(e) or type(e).__name__)
                    if consecutive >= max_consecutive_failures and not stop.is_set():
                        report.stopped = f"stopped after {consecutive} failures in a row; the last: {e}"
                        stop.set()
                else:
                    consecutive = 0
                    handle(item, result)
                report.done += 1
                if progress:
                    progress(report.done)
    except BaseException:
        stop.set()  # an interrupt or an error: let what is in flight finish, start nothing
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return report
