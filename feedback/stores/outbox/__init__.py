"""Never lose feedback: writes the store cannot take now are kept on local disk and replayed.

``OutboxFeedbackStore`` wraps any ``FeedbackStore``. A write (``put``, ``set_feedback``,
``set_judge``, ``set_review``) that fails with ``StoreUnavailable`` is appended to an outbox
file and returns normally; every later write first replays the outbox, in order, and only then
goes to the store, so a rating never overtakes the answer it rates. ``flush()`` replays on
demand (at start-up, from a timer, from the CLI).

How a caller learns that a write was only queued (the UI says "saved locally, will sync"):

* ``last_write_queued`` is True when the calling thread's last write went to the outbox (it is
  per thread, so Streamlit sessions sharing one store do not see each other's writes);
* ``pending()`` is how many writes wait in the outbox (all processes together);
* a queued ``set_feedback``/``set_judge``/``set_review`` returns the record as it will be once
  replayed, built from the last copy this process saw (a ``put`` queued or written through it,
  a ``get``) and the outbox. When there is no such copy it raises ``WriteQueued`` (a
  ``StoreUnavailable``) whose message says the change is saved locally.

The outbox is a file of JSON lines under an exclusive ``flock`` (``outbox.file``), so the app
processes of one machine (Streamlit workers, the CLI, a judge run) can share one outbox; the
replay runs under the same lock, so two processes never replay the same entries at once. A crash
in the middle of a replay leaves the whole outbox in place and the next replay repeats it, which
is safe: ids are client-generated, ``put`` keeps the attachments already stored, and ``set_*``
replace rather than add.

A rating always lands: a ``set_*`` for a record the store does not have, but this process
wrote or read (its put still queued, set aside by a replay, or lost by the store), writes the
record again with the change instead of being refused. A queued entry the store refuses for
good (``NotFound``: a rating of an answer that never reached it and that this process never
saw; an entry that no longer parses) is moved to ``outbox-rejected.jsonl`` with the reason,
and the replay goes on with the next one.

Reads go to the wrapped store and raise ``StoreUnavailable`` when it cannot be reached;
``get`` also applies the writes still waiting in the outbox, so a user sees their own rating,
and looks at the outbox before and after asking the store, so a put that another process
replays in between is not missed.
Listings and ``sessions`` show the store's state only. ``get_local`` answers from this
process's copy and the outbox without contacting the store, for checks that must not stop a
rating from being queued during an outage.

The package: ``file`` (the outbox file, its entries and lock) and ``store``
(``OutboxFeedbackStore``).
"""

from feedback.stores.outbox.store import OutboxFeedbackStore

__all__ = ["OutboxFeedbackStore"]
