"""The outbox file of ``OutboxFeedbackStore``: its entries, its lock, and the rejected entries.

The outbox (``outbox.jsonl`` in the outbox folder) is one JSON object a line, an entry
(``new_entry``): ``op`` ("put", "record_event", "set_feedback", "set_judge", "set_review"),
``id``, ``data``, ``queued_at``, ``pid``. It is appended with ``O_APPEND`` and ``fsync`` before
the write returns, and rewritten atomically (``common.files.atomic_writer``) after a replay.
Every change of it happens under an exclusive ``fcntl.flock`` on ``outbox.lock``, so the app
processes of one machine (Streamlit workers, the CLI, a judge run) can share one outbox. Entries
the store refuses for good go to ``outbox-rejected.jsonl`` with the reason. The outbox and its
lock are readable by their owner only.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.files import atomic_writer, fsync_dir
from feedback.errors import FeedbackError
from feedback.records import Feedback, Interaction, JudgeScore, Review, now
from feedback.stores.base import keep_attachments

OUTBOX_FILE = "outbox.jsonl"
LOCK_FILE = "outbox.lock"
REJECTED_FILE = "outbox-rejected.jsonl"

EVENT = "record_event"
"""The op of an entry that holds an audit event rather than a change of an interaction."""

MODELS: dict[str, type[Feedback] | type[JudgeScore] | type[Review]] = {
    "set_feedback": Feedback,
    "set_judge": JudgeScore,
    "set_review": Review,
}
FIELDS = {"set_feedback": "feedback", "set_judge": "judge", "set_review": "review"}
"""The op of an entry that changes an attachment -> the model of its data, and the record's field."""


class Outbox:
    """The outbox file and its lock. Every method except ``read`` and ``count`` needs ``locked()``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / OUTBOX_FILE
        self.lock_path = self.directory / LOCK_FILE
        self.rejected_path = self.directory / REJECTED_FILE
        # flock() excludes other processes and, with a descriptor per acquisition, other
        # threads too; the thread lock just keeps threads of one process from spinning on it.
        self._thread_lock = threading.Lock()

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._thread_lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as e:
                raise FeedbackError(f"cannot open the feedback outbox in {self.directory}: {e}") from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def is_empty(self) -> bool:
        try:
            return self.path.stat().st_size == 0
        except FileNotFoundError:
            return True

    def read(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The entries in order, and the lines that are not entries (a write cut short by a crash)."""
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return [], []
        entries, bad = [], []
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict) or entry.get("op") not in ("put", EVENT, *MODELS):
                    raise ValueError("not an outbox entry")
                entries.append(entry)
            except ValueError:
                bad.append(line)
        return entries, bad

    def count(self) -> int:
        return len(self.read()[0])

    def append(self, entry: dict[str, Any]) -> None:
        """Append one entry and fsync it; returns once it is on disk."""
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self.directory.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size:
                # A crash mid-append leaves a line without its newline; start a new line so this
                # entry is not glued to it (the torn line is then rejected on its own).
                with open(self.path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        line = b"\n" + line
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(self.directory)

    def rewrite(self, entries: list[dict[str, Any]]) -> None:
        """Replace the outbox with ``entries``, atomically."""
        if not entries:
            # Truncating in place is atomic enough: the entries are all applied already.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return
        with atomic_writer(self.path, mode=0o600) as f:
            for entry in entries:
                f.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

    def reject(self, item: dict[str, Any] | str, reason: str) -> None:
        """Keep an entry the store will never accept, with why, in the rejected file."""
        record = {"rejected_at": now().isoformat(), "reason": reason}
        record["entry" if isinstance(item, dict) else "line"] = item
        with open(self.rejected_path, "ab") as f:
            f.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())


def new_entry(op: str, interaction_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The entry of one write: ``op`` ("put", "record_event" or "set_<field>"), the id and the data."""
    return {"op": op, "id": interaction_id, "data": data, "queued_at": now().isoformat(), "pid": os.getpid()}


def apply_locally(record: Interaction | None, entries: list[dict[str, Any]]) -> Interaction | None:
    """What the store will hold after replaying ``entries`` onto ``record``, in order (None:
    unknown). An entry that does not parse is passed over here; the replay rejects it."""
    for entry in entries:
        try:
            record = _apply(record, entry)
        except (ValidationError, KeyError, TypeError, ValueError):
            continue
    return record


def _apply(record: Interaction | None, entry: dict[str, Any]) -> Interaction | None:
    op = entry["op"]
    if op == EVENT:  # an audit event, not a change of any interaction
        return record
    if op == "put":
        incoming = Interaction.model_validate(entry["data"])
        return incoming if record is None else keep_attachments(record, incoming)
    if record is None:
        return None
    value = MODELS[op].model_validate(entry["data"])
    return record.model_copy(update={FIELDS[op]: value, "updated_at": datetime.fromisoformat(entry["queued_at"])})
