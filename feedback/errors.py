"""Errors raised by the feedback package."""

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


class JudgeModelError(FeedbackError):
    """The judge model could not grade one answer (the model failed, refused or is unreachable)."""


class JudgeThrottled(JudgeModelError):
    """The judge model's service said "too many requests"; the same request may succeed later."""


class UnreadableRecord(FeedbackError):
    """A stored record no longer validates; listings, statistics and exports skip and count it."""


class Conflict(FeedbackError):
    """A conditional write found the record changed since it was read; the message says by whom."""
