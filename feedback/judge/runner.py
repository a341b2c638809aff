"""Scoring interactions with the judge model and writing each score as soon as it is made.

A run lists the interactions that match the filters and have no judge score yet
(``InteractionFilter.judged=False``), asks the model about each with bounded concurrency, and
writes every verdict with ``FeedbackStore.set_judge`` the moment it arrives. An interrupted run
therefore leaves every finished score stored, and the next run lists only what is left: it sends
no request for what is done. A reply without a usable score is stored too (raw, no score), so it
counts as done; a request that failed stores nothing and is tried again by the next run.

The model is anything with ``complete(messages) -> str`` (``JudgeModel``); the composition root
adapts an answer-model backend to it, so this package never imports one.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel

from common.bounded_run import RetryPolicy, Stopped, retry_call, run_bounded

from feedback.errors import JudgeModelError, JudgeThrottled, NotFound
from feedback.judge.parser import parse_reply, reply_text
from feedback.judge.prompt import JUDGE_PROMPT_VERSION, ChatMessage, build_judge_messages
from feedback.errors import WriteQueued
from feedback.records import Interaction, JudgeScore
from feedback.stores.base import FeedbackStore, InteractionFilter

Progress = Callable[[int, int], None]
"""Called with (interactions finished, interactions selected) as the run goes."""

MAX_REPLY_CHARS = 32_000
"""What is stored of one reply (raw, thinking and reason each) by default: a judge asked for at
most a few thousand tokens writes well under this; a server that sends megabytes would fill the
store and the memory of everything that reads it."""


def cut(text: str | None, limit: int) -> tuple[str | None, bool]:
    """``text`` cut to ``limit`` characters with a marker that says how much was left out, and
    whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    return f"{text[:limit]}\n[… {len(text) - limit:,} more characters not stored]", True


class JudgeModel(Protocol):
    """The model that grades answers.

    ``model_id`` is stored with every score. ``max_concurrency`` is how many requests it may
    have in flight: 1 for a model that runs in this process one request at a time.
    """

    model_id: str
    max_concurrency: int

    def complete(self, messages: Sequence[ChatMessage]) -> str:
        """The model's reply to the chat messages.

        Raises:
            JudgeThrottled: the service said "too many requests" (the caller backs off and retries).
            JudgeModelError: any other failure of this request.
        """
        ...


class JudgeRunSummary(BaseModel):
    """What one run did.

    ``selected`` interactions matched; of them ``scored`` got a stored score, ``unparsable`` a
    stored reply with no usable score, ``failed`` no reply (nothing stored; the next run tries
    them again) and ``skipped`` were scored by someone else while the run went on. ``issues``
    counts the parser's findings over all replies (``feedback.judge.parser.ISSUES``); ``errors``
    holds the first few failure messages; ``stopped`` says why the run ended early, if it did.
    """

    judge_model: str
    prompt_version: str
    selected: int = 0
    scored: int = 0
    unparsable: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    issues: dict[str, int] = {}
    errors: list[str] = []
    stopped: str | None = None


Outcome = Literal["scored", "unparsable", "skipped"]
"""What became of an interaction a run graded without failing (a failure stores nothing)."""


@dataclass(frozen=True)
class _Result:
    outcome: Outcome
    issues: tuple[str, ...] = ()


class _Failed(Exception):
    """This interaction could not be graded (no verdict stored); the run counts it and goes on."""


class Judge:
    """Grades interactions with a ``JudgeModel`` and stores the verdicts in a ``FeedbackStore``.

    Args:
        store: where the interactions are read and the scores written.
        model: the judge model.
        concurrency: requests in flight at most (capped by ``model.max_concurrency``).
        retry: how throttled requests are retried.
        max_consecutive_failures: a run stops after this many failures in a row (the model is
            down, the key is wrong): trying the rest would only repeat the same error.
        max_reply_chars: what is stored of a reply's raw text, thinking and reason, each; a
            longer one is cut and its verdict lists ``reply_cut`` among its issues (the score is
            read from the whole reply).
    """

    def __init__(
        self,
        store: FeedbackStore,
        model: JudgeModel,
        *,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        max_consecutive_failures: int = 10,
        max_reply_chars: int = MAX_REPLY_CHARS,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency={concurrency!r} must be 1 or more")
        if max_consecutive_failures < 1:
            raise ValueError(f"max_consecutive_failures={max_consecutive_failures!r} must be 1 or more")
        if max_reply_chars < 1:
            raise ValueError(f"max_reply_chars={max_reply_chars!r} must be 1 or more")
        self.max_reply_chars = max_reply_chars
        self.store = store
        self.model = model
        self.concurrency = max(1, min(concurrency, model.max_concurrency))
        self.retry = retry or RetryPolicy()
        self.max_consecutive_failures = max_consecutive_failures

    # -- one interaction ---------------------------------------------------------------------

    def grade(self, interaction: Interaction, *, stop: threading.Event | None = None) -> JudgeScore:
        """Ask the model about one interaction (retrying throttled requests) and parse its reply.

        Returns the verdict, with ``score`` None when the reply had no usable score; stores nothing.

        Raises:
            JudgeModelError: the model failed, or stayed throttled past the retries.
            Stopped: ``stop`` was set while waiting to retry.
        """
        messages = build_judge_messages(interaction)
        reply = retry_call(
            lambda: self.model.complete(messages),
            retryable=JudgeThrottled,
            policy=self.retry,
            stop=stop,
            what="judge model",
        )
        return self.verdict(reply)

    def verdict(self, reply: object) -> JudgeScore:
        """The verdict a reply of any shape gives (``parse_reply``), with what is kept of it cut to
        ``max_reply_chars``. Never raises."""
        text, _ = reply_text(reply)
        parsed = parse_reply(reply)
        raw, raw_cut = cut(text, self.max_reply_chars)
        thinking, thinking_cut = cut(parsed.thinking, self.max_reply_chars)
        reason, reason_cut = cut(parsed.reason, self.max_reply_chars)
        issues = list(parsed.issues)
        if raw_cut or thinking_cut or reason_cut:
            issues.append("reply_cut")
        return JudgeScore(
            score=parsed.score,
            reason=reason,
            thinking=thinking,
            judge_model=self.model.model_id,
            raw=raw or "",
            prompt_version=JUDGE_PROMPT_VERSION,
            issues=issues,
        )

    def judge(self, interaction_id: str, *, rescore: bool = True) -> Interaction:
        """Grade one interaction now and store the verdict; returns the record as stored.

        With ``rescore`` False, a record that already has a verdict is returned unchanged
        without asking the model.

        Raises:
            NotFound: no interaction has that id.
            JudgeModelError: the model failed (nothing is stored).
            StoreUnavailable: the store cannot be reached (``WriteQueued``: the verdict waits in
                the local outbox).
        """
        record = self.store.get(interaction_id)
        if record is None:
            raise NotFound(f"no interaction has id {interaction_id!r}")
        if record.judge is not None and not rescore:
            return record
        return self.store.set_judge(interaction_id, self.grade(record))

    # -- a run -------------------------------------------------------------------------------

    def select(
        self, filters: InteractionFilter | None = None, *, limit: int | None = None, rescore: bool = False
    ) -> list[str]:
        """The ids a run would grade, newest first: the matching ones without a verdict (all of
        them with ``rescore``), at most ``limit``. Raises ValueError, StoreUnavailable."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit={limit!r} must be 1 or more")
        filters = (filters or InteractionFilter()).model_copy(update={"judged": None if rescore else False})
        ids: list[str] = []
        cursor = None
        while limit is None or len(ids) < limit:
            want = 500 if limit is None else min(500, limit - len(ids))
            page = self.store.list(filters, limit=want, cursor=cursor)
            ids += [i.id for i in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return ids

    def _one(self, interaction_id: str, rescore: bool, stop: threading.Event) -> _Result:
        """Grade and store one interaction (in a worker thread). Raises _Failed, JudgeModelError
        (counted as failures), Stopped, StoreUnavailable."""
        if stop.is_set():
            raise Stopped
        record = self.store.get(interaction_id)
        if record is None:
            raise _Failed(f"interaction {interaction_id} no longer exists")
        if record.judge is not None and not rescore:
            return _Result("skipped")  # another run or the background judge got there first
        verdict = self.grade(record, stop=stop)
        try:
            self.store.set_judge(interaction_id, verdict)
        except WriteQueued:
            pass  # kept in the local outbox, sent when the store is back: done all the same
        except NotFound as e:
            raise _Failed(f"interaction {interaction_id} was deleted while it was being judged") from e
        return _Result("scored" if verdict.score is not None else "unparsable", tuple(verdict.issues))

    def run(
        self,
        filters: InteractionFilter | None = None,
        *,
        limit: int | None = None,
        rescore: bool = False,
        progress: Progress | None = None,
    ) -> JudgeRunSummary:
        """Grade the matching interactions that have no verdict (all of them with ``rescore``),
        at most ``limit``, storing each verdict as soon as it is made.

        Throttled requests are retried with backoff (``retry``); other failures are counted and
        the run goes on, until ``max_consecutive_failures`` in a row stop it. On an interrupt
        (Ctrl-C) the requests in flight finish and are stored, the rest are not started.

        Returns the summary.

        Raises:
            ValueError: ``limit`` is below 1.
            StoreUnavailable: the store cannot be read or written (and no outbox kept the write).
        """
        started = time.perf_counter()
        summary = JudgeRunSummary(judge_model=self.model.model_id, prompt_version=JUDGE_PROMPT_VERSION)
        ids = self.select(filters, limit=limit, rescore=rescore)
        summary.selected = len(ids)
        if progress:
            progress(0, len(ids))
        issues: Counter[str] = Counter()

        def record(_: str, result: _Result) -> None:
            issues.update(result.issues)
            setattr(summary, result.outcome, getattr(summary, result.outcome) + 1)

        try:
            report = run_bounded(
                ids,
                lambda interaction_id, stop: self._one(interaction_id, rescore, stop),
                record,
                concurrency=self.concurrency,
                failures=(JudgeModelError, _Failed),
                max_consecutive_failures=self.max_consecutive_failures,
                progress=(lambda done: progress(done, len(ids))) if progress else None,
                name="judge",
            )
            summary.failed, summary.errors, summary.stopped = report.failed, report.errors, report.stopped
        finally:
            summary.issues = dict(sorted(issues.items()))
            summary.seconds = round(time.perf_counter() - started, 3)
        return summary
