"""Errors raised by the feedback package, its stores, the outbox and export/import included."""

from common.secrets import scrub


class FeedbackError(Exception):
    """Base class for every error the feedback package raises on purpose."""

    def __str__(self) -> str:
        # Messages quote what servers answered, which may echo a secret they were sent: the
        # text shown, logged or stored never holds one the settings registered (common.secrets).
        return scrub(super().__str__())


class InvalidFeedback(FeedbackError):
    """A rating, correction or note was rejected; the message says which and why."""


class NotFound(FeedbackError):
    """No interaction has that id."""


class StoreUnavailable(FeedbackError):
    """The store could not be reached; the write may be retried later."""


class WriteQueued(StoreUnavailable):
    """The change was saved in the local outbox and will reach the store when it is back.

    Raised only by a queued ``set_*`` of ``feedback.stores.outbox.OutboxFeedbackStore`` whose
    record this process has no copy of, so it cannot return the updated record. Nothing is
    lost; do not retry.
    """


class JudgeModelError(FeedbackError):
    """The judge model could not grade one answer (the model failed, refused or is unreachable)."""


class JudgeThrottled(JudgeModelError):
    """The judge model's service said "too many requests"; the same request may succeed later."""


class UnreadableRecord(FeedbackError):
    """A stored record no longer validates; listings, statistics and exports skip and count it."""


class InvalidExportFile(FeedbackError):
    """A file given to ``import_records`` is not an importable export; the message says where."""


class Conflict(FeedbackError):
    """A conditional write found the record changed since it was read; the message says by whom."""
