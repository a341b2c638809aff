"""Export interactions from any ``FeedbackStore`` to CSV, JSONL or Parquet, and import them back.

Exports stream: the store is read one page of ``PAGE_SIZE`` records at a time through
``FeedbackStore.list`` and each page is written before the next is read, so memory stays flat
however many records there are. The listing is keyset-paginated on (created_at, id), so an
export taken while the app is in use sees every record that existed when it started exactly once
(a rating given meanwhile may or may not be in it; records created meanwhile are not).

The formats:

* **JSONL** — one ``Interaction.model_dump_json()`` per line: lossless, the format to archive,
  move between stores and feed to training.
* **Parquet** — ``PARQUET_SCHEMA``, a fixed schema with nested types (citations as a list of
  structs, feedback/judge/review as structs, times as ``timestamp[us, UTC]``), zstd-compressed.
  Lossless too, except that a time's UTC offset is normalised to UTC (the instant is kept).
* **CSV** — a flattened view for spreadsheets: one row per interaction, ``CSV_COLUMNS``. It
  leaves out the context the model saw and the judge's raw reply, so it cannot be imported.

A file export is written to a temporary file beside the target and renamed over it at the end,
so a failed or interrupted export never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal, get_args

from pydantic import ValidationError

from common.files import fsync_dir
from feedback.errors import FeedbackError, InvalidExportFile
from feedback.records import Interaction, describe
from feedback.stores.base import FeedbackStore, InteractionFilter

log = logging.getLogger(__name__)

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[str, ...] = get_args(Format)
SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

PAGE_SIZE = 500
"""Records read from the store per ``list`` call, and written per step."""

PARQUET_ROW_GROUP_BYTES = 8 * 1024 * 1024
"""Arrow data buffered before a Parquet row group is written: large enough for good compression
and fast column reads, small enough to keep the export's memory flat."""

Progress = Callable[[int], None]
"""Called with the number of records exported (or imported) so far, after each page."""


# -- reading the store ---------------------------------------------------------------------------


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


# -- Parquet -------------------------------------------------------------------------------------


def parquet_schema():
    """The fixed Arrow schema of a Parquet export (built on first use: pyarrow is a heavy import)."""
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    text = pa.string()
    citation = pa.struct(
        [
            pa.field("n", pa.int32(), nullable=False),
            pa.field("source", text, nullable=False),
            pa.field("page", pa.int32()),
            pa.field("chunk_id", text, nullable=False),
            pa.field("score", pa.float64(), nullable=False),
            pa.field("text", text, nullable=False),
        ]
    )
    feedback = pa.struct(
        [
            pa.field("rating", pa.int8(), nullable=False),
            pa.field("label", text, nullable=False),  # derived from rating; for readers' convenience
            pa.field("correction", text),
            pa.field("note", text),
            pa.field("updated_at", ts, nullable=False),
        ]
    )
    judge = pa.struct(
        [
            pa.field("score", pa.float64()),
            pa.field("reason", text),
            pa.field("judge_model", text, nullable=False),
            pa.field("raw", text, nullable=False),
            pa.field("scored_at", ts, nullable=False),
            pa.field("thinking", text),
            pa.field("prompt_version", text),
            pa.field("issues", pa.list_(pa.field("item", text, nullable=False)), nullable=False),
        ]
    )
    grounding = pa.struct(
        [
            pa.field("unsupported", pa.list_(pa.field("item", text, nullable=False)), nullable=False),
            pa.field(
                "sentences",
                pa.list_(
                    pa.field(
                        "item",
                        pa.struct([pa.field("text", text, nullable=False), pa.field("citation", pa.int32())]),
                        nullable=False,
                    )
                ),
                nullable=False,
            ),
            pa.field(
                "supporting",
                pa.list_(
                    pa.field(
                        "item",
                        pa.struct([pa.field("n", pa.int32(), nullable=False), pa.field("text", text, nullable=False)]),
                        nullable=False,
                    )
                ),
                nullable=False,
            ),
        ]
    )
    review = pa.struct(
        [
            pa.field("status", text, nullable=False),
            pa.field("reviewer", text),
            pa.field("reference_answer", text),
            pa.field("reviewed_at", ts),
            pa.field("sme_score", pa.float64()),
            pa.field("retired", pa.bool_(), nullable=False),
            pa.field("disputes", pa.list_(pa.field("item", text, nullable=False)), nullable=False),
        ]
    )
    verified = pa.struct(
        [
            pa.field("id", text, nullable=False),
            pa.field("question", text, nullable=False),
            pa.field("reviewer", text),
            pa.field("reviewed_at", ts),
            pa.field("similarity", pa.float64(), nullable=False),
        ]
    )
    return pa.schema(
        [
            pa.field("schema_version", pa.int32(), nullable=False),
            pa.field("id", text, nullable=False),
            pa.field("session_id", text, nullable=False),
            pa.field("user", text, nullable=False),
            pa.field("role", text, nullable=False),
            pa.field("created_at", ts, nullable=False),
            pa.field("updated_at", ts, nullable=False),
            pa.field("turn", pa.int32(), nullable=False),
            pa.field("question", text, nullable=False),
            pa.field("answer", text, nullable=False),
            pa.field("found", pa.bool_(), nullable=False),
            pa.field("citations", pa.list_(pa.field("item", citation, nullable=False)), nullable=False),
            pa.field("context", text, nullable=False),
            pa.field("context_truncated", pa.bool_(), nullable=False),
            pa.field("model_id", text, nullable=False),
            pa.field("prompt_version", text, nullable=False),
            pa.field("latency_ms", pa.int64(), nullable=False),
            pa.field("grounding", grounding),
            pa.field("feedback", feedback),
            pa.field("judge", judge),
            pa.field("review", review, nullable=False),
            pa.field("verified", verified),
            pa.field("stopped", pa.bool_(), nullable=False),
            pa.field("origin", text, nullable=False),
        ],
        metadata={"ragbot.record": "Interaction"},
    )


class _ParquetWriter:
    def __init__(self, stream: IO[bytes]) -> None:
        import pyarrow.parquet as pq

        self.schema = parquet_schema()
        self.writer = pq.ParquetWriter(stream, self.schema, compression="zstd")
        self.buffer: list = []
        self.buffered_bytes = 0

    def write(self, items: list[Interaction]) -> None:
        import pyarrow as pa

        batch = pa.RecordBatch.from_pylist([i.model_dump() for i in items], schema=self.schema)
        self.buffer.append(batch)
        self.buffered_bytes += batch.nbytes
        if self.buffered_bytes >= PARQUET_ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.buffer:
            table = pa.Table.from_batches(self.buffer, schema=self.schema)
            self.writer.write_table(table, row_group_size=table.num_rows)  # one row group
            self.buffer, self.buffered_bytes = [], 0

    def close(self) -> None:
        self._flush()
        self.writer.close()  # writes the footer; leaves a stream it did not open open

    def abandon(self) -> None:
        # The footer is written anyway (Arrow's writer also does it on destruction); a file
        # target is deleted after this, a stream target keeps what was written.
        with contextlib.suppress(Exception):
            self.writer.close()


# -- JSONL -------------------------------------------------------------------------------------


class _JsonlWriter:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def write(self, items: list[Interaction]) -> None:
        self.stream.write("".join(i.model_dump_json() + "\n" for i in items).encode("utf-8"))

    def close(self) -> None:
        self.stream.flush()

    def abandon(self) -> None:
        pass


# -- CSV ---------------------------------------------------------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "session_id",
    "user",
    "role",
    "turn",
    "question",
    "answer",
    "found",
    "model_id",
    "prompt_version",
    "latency_ms",
    "unsupported",
    "rating",
    "rating_label",
    "correction",
    "note",
    "feedback_at",
    "judge_score",
    "judge_reason",
    "judge_model",
    "review_status",
    "reviewer",
    "reference_answer",
    "sme_score",
    "sources",
    "citations_json",
    "context_truncated",
    "origin",
    "verified_id",
    "stopped",
)

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"); questions, answers and notes are typed by users.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Spreadsheets parse "YYYY-MM-DD HH:MM:SS" as a date-time; ISO 8601 with an offset they do not.
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_row(i: Interaction) -> dict[str, str]:
    """One interaction as the flat CSV row (all times UTC; empty cells for what is not there).

    ``sources`` lists each cited "source#page" once, in citation order ("source" alone for a
    page-less format); ``citations_json`` holds the complete citations. A text cell that a
    spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a leading ``'``.
    """
    fb, judge, review = i.feedback, i.judge, i.review
    sources = dict.fromkeys(f"{c.source}#{c.page}" if c.page is not None else c.source for c in i.citations)
    values = {
        "id": i.id,
        "created_at": i.created_at,
        "session_id": i.session_id,
        "user": i.user,
        "role": i.role,
        "turn": i.turn,
        "question": i.question,
        "answer": i.answer,
        "found": i.found,
        "model_id": i.model_id,
        "prompt_version": i.prompt_version,
        "latency_ms": i.latency_ms,
        "unsupported": "; ".join(i.grounding.unsupported) if i.grounding else None,
        "rating": fb.rating if fb else None,
        "rating_label": fb.label if fb else None,
        "correction": fb.correction if fb else None,
        "note": fb.note if fb else None,
        "feedback_at": fb.updated_at if fb else None,
        "judge_score": judge.score if judge else None,
        "judge_reason": judge.reason if judge else None,
        "judge_model": judge.judge_model if judge else None,
        "review_status": review.status,
        "reviewer": review.reviewer,
        "reference_answer": review.reference_answer,
        "sme_score": review.sme_score,
        "sources": "; ".join(sources),
        "citations_json": json.dumps([c.model_dump() for c in i.citations], ensure_ascii=False),
        "context_truncated": i.context_truncated,
        "origin": i.origin,
        "verified_id": i.verified.id if i.verified else None,
        "stopped": i.stopped,
    }
    return {column: _cell(values[column]) for column in CSV_COLUMNS}


class _CsvWriter:
    def __init__(self, stream: IO[bytes]) -> None:
        # UTF-8 with a byte order mark: without it Excel reads the file in the machine's legacy
        # code page and garbles every non-ASCII character; Python ("utf-8-sig"), pandas and
        # LibreOffice skip the mark. RFC 4180 quoting of every cell keeps the newlines of
        # multi-line answers inside their cell.
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        self.writer = csv.DictWriter(self.text, fieldnames=CSV_COLUMNS, quoting=csv.QUOTE_ALL)
        self.writer.writeheader()

    def write(self, items: list[Interaction]) -> None:
        self.writer.writerows(csv_row(i) for i in items)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()  # leave the binary stream open for its owner

    def abandon(self) -> None:
        # Detach even so: a collected TextIOWrapper would close the stream under its owner.
        with contextlib.suppress(Exception):
            self.text.flush()
        self.text.detach()


_WRITERS = {"csv": _CsvWriter, "jsonl": _JsonlWriter, "parquet": _ParquetWriter}


# -- export --------------------------------------------------------------------------------------


def format_for(path: Path | str) -> Format | None:
    """The export format a file name implies by its suffix, or None."""
    return SUFFIXES.get(Path(path).suffix.lower())


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
        fmt: "csv", "jsonl" or "parquet" (see the module docstring).
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
    if fmt not in _WRITERS:
        raise ValueError(f"fmt={fmt!r} is not one of {', '.join(FORMATS)}")
    if not isinstance(out, (str, os.PathLike)):
        return _export_to(out, store, fmt, filters, progress, page_size, unreadable, transform)

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            count = _export_to(stream, store, fmt, filters, progress, page_size, unreadable, transform)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
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
    writer = _WRITERS[fmt](stream)
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


# -- import --------------------------------------------------------------------------------------

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
