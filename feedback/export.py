"""Export interactions from any ``FeedbackStore`` to a file or stream as CSV, JSONL or Parquet.

Exports stream: the store is read one page of ``PAGE_SIZE`` records at a time
(``feedback.stores.paging``) and each page is written before the next is read, so memory stays
flat however many records there are, and an export taken while the app is in use sees every
record that existed when it started exactly once. What each format holds is in
``feedback.formats``; loading an export back is ``feedback.importing``.

A file export is written to a temporary file beside the target and renamed over it at the end
(``common.files.atomic_writer``), so a failed or interrupted export never leaves a half-written
file behind.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from common.files import atomic_writer
from feedback.formats import FORMATS, WRITERS, Format
from feedback.records import Interaction
from feedback.stores.base import FeedbackStore, InteractionFilter
from feedback.stores.paging import PAGE_SIZE, Progress, iter_pages

log = logging.getLogger(__name__)


def export(
    store: FeedbackStore,
    out: Path | str | IO[bytes],
    fmt: Format,
    filters: InteractionFilter | None = None,
    progress: Progress | None = None,
    *,
    page_size: int = PAGE_SIZE,
    unreadable: list[str] | None = None,
    transform: Callable[[Interaction], Interaction] | None = None,
) -> int:
    """Write the interactions matching ``filters``, newest first, to ``out`` as ``fmt``.

    Args:
        store: any feedback store; it is read one page of ``page_size`` records at a time.
        out: a file path, or a binary stream open for writing. A path's folder is created
            when missing, and an existing file is replaced only once the export is complete;
            the new file is readable by its owner only, as it holds other people's questions.
            A stream is written directly and left open (after a failure it holds what was
            written before it).
        fmt: "csv", "jsonl" or "parquet" (see ``feedback.formats``).
        filters: which interactions; all when None.
        progress: called with the running count after each page.
        unreadable: when given, the ids of stored records that no longer validate are appended
            to it; they are left out of the export instead of failing it, so the export that
            lets an admin recover the rest always works.
        transform: applied to each record before it is written (e.g. ``feedback.redact.Redactor``).

    Returns:
        How many interactions were written.

    Raises:
        ValueError: ``fmt`` is not a known format.
        StoreUnavailable: the store cannot be read (nothing is left at a path ``out``).
        OSError: the file cannot be written (likewise).
    """
    if fmt not in WRITERS:
        raise ValueError(f"fmt={fmt!r} is not one of {', '.join(FORMATS)}")
    if not isinstance(out, (str, os.PathLike)):
        return _export_to(out, store, fmt, filters, progress, page_size, unreadable, transform)

    target = Path(out)
    with atomic_writer(target, mode=0o600) as stream:
        count = _export_to(stream, store, fmt, filters, progress, page_size, unreadable, transform)
    log.info("exported %d interactions to %s (%s)", count, target, fmt)
    return count


def _export_to(
    stream: IO[bytes],
    store: FeedbackStore,
    fmt: Format,
    filters: InteractionFilter | None,
    progress: Progress | None,
    page_size: int,
    unreadable: list[str] | None,
    transform: Callable[[Interaction], Interaction] | None = None,
) -> int:
    writer = WRITERS[fmt](stream)
    count = 0
    try:
        for page in iter_pages(store, filters, page_size=page_size, unreadable=unreadable):
            writer.write([transform(i) for i in page] if transform else page)
            count += len(page)
            if progress is not None:
                progress(count)
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    return count
