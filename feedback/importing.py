"""Load an export back into any ``FeedbackStore``: JSONL and Parquet files (``feedback.formats``).

Every record of the file is validated before the first is written, so a file with a bad line
imports nothing; ids are kept, so importing a file twice leaves one copy of each record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from feedback.errors import FeedbackError, InvalidExportFile
from feedback.formats import Format, format_for
from feedback.records import Interaction, describe
from feedback.stores.base import FeedbackStore
from feedback.stores.paging import PAGE_SIZE, Progress

log = logging.getLogger(__name__)

_MAX_REPORTED = 5


def detect_format(path: Path) -> Format:
    """The format of an export file, from its first bytes (Parquet's magic number, CSV's header)
    and then its suffix.

    Raises:
        InvalidExportFile: it is neither.
        OSError: it cannot be read.
    """
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:4] == b"PAR1":
        return "parquet"
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if start.startswith((b'"id"', b"id,")) or format_for(path) == "csv":
        return "csv"
    if not start or start.startswith(b"{"):
        return "jsonl"
    raise InvalidExportFile(f"{path} is not a ragbot export: neither JSON lines nor Parquet")


def import_records(store: FeedbackStore, path: Path | str, *, progress: Progress | None = None) -> int:
    """Load a JSONL or Parquet export into ``store`` with ``store.put``; returns how many records.

    Every record is validated before the first is written, so a file with a bad line imports
    nothing; a file holding one id on two lines is bad too (which one was meant is not known).
    Ids are kept, so importing the same file twice leaves one copy of each record (and,
    as with any ``put``, a record without feedback does not erase feedback already stored).

    Raises:
        InvalidExportFile: a CSV file (a flattened view that lacks the context and the judge's
            raw reply, so it cannot be loaded back), a file that is not an export, or bad
            records, lines that are not UTF-8, or an id on more than one line (the message
            names their line or row numbers).
        StoreUnavailable: the store failed part-way; the message says how many records were
            written. Importing the file again completes it.
        OSError: the file cannot be read.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "csv":
        raise InvalidExportFile(
            f"{path} is a CSV export, a flattened view for spreadsheets that leaves out the context the "
            "model saw and the judge's raw reply, so it cannot be imported; export as JSONL or Parquet instead"
        )
    read = _read_jsonl if fmt == "jsonl" else _read_parquet

    errors: list[str] = []
    bad = total = 0
    first_seen: dict[str, str] = {}  # id -> where; ids only, so memory stays small next to the file
    for where, record in read(path):
        if isinstance(record, Interaction) and record.id in first_seen:
            record = f"id {record.id!r} again (first on {first_seen[record.id]})"
        if isinstance(record, Interaction):
            first_seen[record.id] = where
            total += 1
        else:
            bad += 1
            if len(errors) < _MAX_REPORTED:
                errors.append(f"{where}: {describe(record) if isinstance(record, ValidationError) else record}")
    del first_seen
    if bad:
        more = f"; and {bad - len(errors)} more" if bad > len(errors) else ""
        raise InvalidExportFile(
            f"{path}: {bad} bad record{'s' * (bad > 1)} out of {bad + total}, nothing was imported: "
            + "; ".join(errors)
            + more
        )

    count = 0
    try:
        for where, record in read(path):
            if not isinstance(record, Interaction):
                raise InvalidExportFile(f"{path} changed while it was imported ({where} is no longer a record)")
            store.put(record)
            count += 1
            if progress is not None and (count % PAGE_SIZE == 0 or count == total):
                progress(count)
    except FeedbackError as e:
        raise type(e)(f"{e} ({count} of {total} records from {path} were imported; import it again to finish)") from e
    log.info("imported %d interactions from %s", count, path)
    return count


def _read_jsonl(path: Path) -> Iterator[tuple[str, Interaction | ValidationError | str]]:
    """Each line's record, or why it is not one: a ValidationError, or a message (not UTF-8)."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield (
                    f"line {number}",
                    f"not UTF-8 text (byte 0x{raw[e.start]:02x} at column {e.start + 1}); exports are UTF-8",
                )
                continue
            if not line.strip():
                continue
            try:
                yield f"line {number}", Interaction.model_validate_json(line)
            except ValidationError as e:
                yield f"line {number}", e


def _read_parquet(path: Path) -> Iterator[tuple[str, Interaction | ValidationError | str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        missing = {"id", "question"} - set(parquet.schema_arrow.names)
        if missing:
            raise InvalidExportFile(
                f"{path} is a Parquet file but not a ragbot export (no {', '.join(sorted(missing))} column)"
            )
        row = 0
        for batch in parquet.iter_batches(batch_size=PAGE_SIZE):
            for values in batch.to_pylist():
                row += 1
                try:
                    yield f"row {row}", Interaction.model_validate(values)
                except ValidationError as e:
                    yield f"row {row}", e
    except (pa.ArrowException, OSError, OverflowError, ValueError) as e:  # Arrow cannot turn a value into Python
        raise InvalidExportFile(f"{path} is not a readable Parquet file: {e}") from e
