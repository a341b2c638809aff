"""The embedded feedback store: one SQLite file in WAL mode.

``schema`` (the tables, their migrations and the row of a record), ``queries`` (the SQL of the
listings, counts, sessions and audit log) and ``store`` (``SQLiteFeedbackStore``, which runs them
with its connections, transactions and retries).
"""

from feedback.stores.sqlite.store import SQLiteFeedbackStore

__all__ = ["SQLiteFeedbackStore"]
