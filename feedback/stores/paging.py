"""Reading a whole listing of any ``FeedbackStore``, one page at a time.

Export, statistics and the services that look through many records read the store this way:
``FeedbackStore.list`` is keyset-paginated on (created_at, id), so a walk taken while the app is
in use sees every record that existed when it started exactly once (a rating given meanwhile may
or may not be in it; records created meanwhile are not), and memory stays flat however many
records there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from feedback.records import Interaction
from feedback.stores.base import FeedbackStore, InteractionFilter

PAGE_SIZE = 500
"""Records read from the store per ``list`` call."""

Progress = Callable[[int], None]
"""Called with the number of records handled (exported, imported) so far, after each page."""


def iter_pages(
    store: FeedbackStore,
    filters: InteractionFilter | None = None,
    *,
    page_size: int = PAGE_SIZE,
    unreadable: list[str] | None = None,
) -> Iterator[list[Interaction]]:
    """The matching interactions, newest first, one non-empty page at a time.

    Stored records that no longer validate are skipped; their ids are appended to
    ``unreadable`` when it is given (the store logs why).

    Raises:
        ValueError: ``page_size`` is below 1.
        StoreUnavailable: from the store.
    """
    cursor = None
    while True:
        page = store.list(filters, limit=page_size, cursor=cursor)
        if unreadable is not None:
            unreadable.extend(page.unreadable)
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def iter_interactions(
    store: FeedbackStore,
    filters: InteractionFilter | None = None,
    *,
    page_size: int = PAGE_SIZE,
    unreadable: list[str] | None = None,
) -> Iterator[Interaction]:
    """The matching interactions, newest first, read page by page (see ``iter_pages``)."""
    for page in iter_pages(store, filters, page_size=page_size, unreadable=unreadable):
        yield from page
