"""The outbox: a store wrapper that keeps, on local disk, the writes its inner store cannot take
now, and replays them in order. ``file`` (the outbox file, its entries and lock) and ``store``
(``OutboxFeedbackStore``)."""

from feedback.stores.outbox.store import OutboxFeedbackStore

__all__ = ["OutboxFeedbackStore"]
