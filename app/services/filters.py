"""How people's date choices become filter bounds, the same for the pages and the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``: an inclusive ``since``."""
    return datetime.combine(day, time(), tzinfo=UTC)


def day_end(day: date) -> datetime:
    """Midnight UTC after ``day``: an exclusive ``until`` that includes the whole of ``day``."""
    return day_start(day) + timedelta(days=1)


def parse_when(value: str, *, end: bool) -> datetime:
    """An ISO date or date-time as an aware datetime (naive values are UTC).

    A bare date given as an exclusive end means the end of that day, so ``--until 2025-03-31``
    includes March 31. Raises ValueError for anything else.
    """
    if len(value) == 10:
        day = date.fromisoformat(value)
        return day_end(day) if end else day_start(day)
    when = datetime.fromisoformat(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when
