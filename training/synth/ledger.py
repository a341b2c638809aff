"""What a synth run has done, kept beside the index so the next run skips it.

One JSON line per passage asked about: its chunk id, source and page, the model and prompt
version, and the fate of every pair (stored with its interaction id and kind, or rejected with
the reason). A line is appended and fsynced once the passage is finished, so an interrupted run
keeps every finished passage and asks again only about the one in flight. A request that failed
writes nothing: the passage is tried again next time.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from feedback.records import now

log = logging.getLogger(__name__)


class PairOutcome(BaseModel):
    kind: str
    question: str
    interaction_id: str | None = None
    rejected: str | None = None
    detail: str | None = None


class LedgerEntry(BaseModel):
    chunk_id: str
    source: str
    page: int | None
    synth_model: str
    prompt_version: str
    at: datetime = Field(default_factory=now)
    reply_issue: str | None = None
    pairs: list[PairOutcome] = []


class SynthLedger:
    """The ledger file (``RAGBOT_HOME/synth/passages.jsonl``); created readable by its owner only,
    like the feedback database, since it holds questions and answers from the documents."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def entries(self) -> list[LedgerEntry]:
        """Every readable line; an unreadable one (a torn last line after a crash) is skipped and logged."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                out.append(LedgerEntry.model_validate_json(line))
            except ValidationError:
                log.warning("%s:%d is not a ledger entry; ignored", self.path, number)
        return out

    def done(self) -> set[str]:
        """The chunk ids of the passages already asked about."""
        return {e.chunk_id for e in self.entries()}

    def kinds(self) -> dict[str, str]:
        """Interaction id -> the kind of question it was generated as."""
        return {p.interaction_id: p.kind for e in self.entries() for p in e.pairs if p.interaction_id}

    def append(self, entry: LedgerEntry) -> None:
        line = json.dumps(json.loads(entry.model_dump_json()), ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
