"""The opaque cursor that resumes a listing, shared by every feedback store.

A listing is ordered by ``(created_at, id)``, newest first, in SQLite and DynamoDB alike, so a
cursor holds that pair for the last record returned and the next page starts strictly after
it. It is URL-safe base64 so it can travel in a query string; it is not signed, because it only
says where to resume a listing the caller may read anyway.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# created_at must stay a datetime: years 1 to 9999.
MIN_US = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
MAX_US = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_CREATED = re.compile(r"-?\d{1,18}")


def encode_cursor(created_us: int, interaction_id: str) -> str:
    """The cursor that resumes a listing after the record with this ``created_at`` (microseconds
    since the epoch, UTC) and id."""
    return base64.urlsafe_b64encode(f"{created_us}|{interaction_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """``(created_us, interaction_id)`` of a cursor made by ``encode_cursor``.

    Raises:
        ValueError: for anything ``encode_cursor`` did not produce, with a message that says
            what to pass instead.
    """
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
        created, sep, interaction_id = raw.partition("|")
        if not sep or not interaction_id or not _CREATED.fullmatch(created):
            raise ValueError("not a listing position")
        created_us = int(created)
        if not MIN_US <= created_us <= MAX_US:
            raise ValueError("not a listing position")
        return created_us, interaction_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise ValueError(
            f"cursor={cursor!r} is not a cursor this store returned; "
            "pass back the next_cursor of the previous page unchanged"
        ) from e


def encode_sorted_cursor(key: float, created_us: int, interaction_id: str) -> str:
    """The cursor of a listing sorted by a number first (a judge score, a rating), then by
    ``(created_at, id)``: it holds all three for the last record returned."""
    return encode_cursor(created_us, f"{key!r}|{interaction_id}")


def decode_sorted_cursor(cursor: str) -> tuple[float, int, str]:
    """``(key, created_us, interaction_id)`` of a cursor made by ``encode_sorted_cursor``.

    Raises ValueError like ``decode_cursor``, also for a cursor of an unsorted listing."""
    created_us, rest = decode_cursor(cursor)
    key, sep, interaction_id = rest.partition("|")
    try:
        if not sep or not interaction_id:
            raise ValueError("not a sorted listing position")
        value = float(key)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a sorted listing position")
    except ValueError as e:
        raise ValueError(
            f"cursor={cursor!r} is not a cursor of this listing's order; "
            "pass back the next_cursor of the previous page unchanged, with the same order"
        ) from e
    return value, created_us, interaction_id
