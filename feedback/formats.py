"""The export formats of interactions: what each file holds and the writers that stream it.

* **JSONL** — one ``Interaction.model_dump_json()`` per line: lossless, the format to archive,
  move between stores and feed to training.
* **Parquet** — ``parquet_schema()``, a fixed schema with nested types (citations as a list of
  structs, feedback/judge/review as structs, times as ``timestamp[us, UTC]``), zstd-compressed.
  Lossless too, except that a time's UTC offset is normalised to UTC (the instant is kept).
* **CSV** — a flattened view for spreadsheets: one row per interaction, ``CSV_COLUMNS``. It
  leaves out the context the model saw and the judge's raw reply, so it cannot be imported.

Each writer takes a binary stream and is given the records a page at a time (``write``), then
``close`` (the file is complete) or ``abandon`` (the export failed); neither closes the stream,
which belongs to the caller (``feedback.export``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal, Protocol, get_args

from feedback.records import Interaction

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[str, ...] = get_args(Format)
SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

PARQUET_ROW_GROUP_BYTES = 8 * 1024 * 1024
"""Arrow data buffered before a Parquet row group is written: large enough for good compression
and fast column reads, small enough to keep the export's memory flat."""


class FormatWriter(Protocol):
    """Writes interactions in one format to a binary stream it does not own."""

    def write(self, items: list[Interaction]) -> None:
        """Write one page of records."""

    def close(self) -> None:
        """Finish the file (footer, flush); the stream stays open."""

    def abandon(self) -> None:
        """Stop after a failure, leaving the stream open and usable by its owner."""


def format_for(path: Path | str) -> Format | None:
    """The export format a file name implies by its suffix, or None."""
    return SUFFIXES.get(Path(path).suffix.lower())


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
    items = pa.list_(pa.field("item", text, nullable=False))
    injection = pa.struct(
        [
            pa.field("n", pa.int32()),
            pa.field("source", text, nullable=False),
            pa.field("page", pa.int32()),
            pa.field("kinds", items, nullable=False),
            pa.field("matches", items, nullable=False),
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
            pa.field("injection", pa.list_(pa.field("item", injection, nullable=False)), nullable=False),
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


WRITERS: dict[str, Callable[[IO[bytes]], FormatWriter]] = {
    "csv": _CsvWriter,
    "jsonl": _JsonlWriter,
    "parquet": _ParquetWriter,
}
"""Format -> the writer class that writes it to a binary stream."""
