"""An ingest run as a job with a state file: progress any reader can show, and a resume.

The Admin page (or the CLI) starts ``run_job`` in a background thread or process; every admin's
page reads ``read_state`` to show the same progress, and it survives a browser refresh because
it lives in a file, not in a session. Writes replace the file atomically, so a reader never
sees half a state.

Resuming costs nothing extra: the Ingestor skips files whose content hash is already indexed,
so running the job's roots again after a crash redoes only the files not yet written. A state
left ``running`` by a process that is gone reads as ``interrupted``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from common.files import atomic_write
from rag.errors import RagError
from rag.ingest.ingestor import IngestReport, Ingestor, Progress

JobStatus = Literal["running", "done", "failed", "interrupted"]


class JobState(BaseModel):
    """What a job has done so far. ``report`` is set when it is done."""

    roots: list[str]
    prune: bool = False
    status: JobStatus = "running"
    pid: int = 0
    started_at: float = 0.0
    updated_at: float = 0.0
    files_done: int = 0
    files_total: int = 0
    pages_done: int = 0
    current: str = ""
    error: str = ""
    report: IngestReport | None = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_state(path: Path, state: JobState) -> None:
    # Not durable: rewritten after every file, and a power cut may well roll progress back.
    atomic_write(path, state.model_dump_json(), durable=False)


def read_state(path: Path) -> JobState | None:
    """The job's state, or None when no job ever ran. A ``running`` job whose process is gone
    reads as ``interrupted``."""
    try:
        state = JobState.model_validate_json(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:  # a state file from another version, or hand-edited: no job to show
        return None
    if state.status == "running" and not _alive(state.pid):
        state.status = "interrupted"
    return state


def run_job(
    ingestor: Ingestor, roots: Sequence[Path], state_path: Path, *, prune: bool = False, force: bool = False
) -> IngestReport:
    """Ingest ``roots`` while keeping ``state_path`` current.

    Raises:
        RagError: another job is running (its process is alive), or the ingest itself failed
            (the state says ``failed`` with the reason).
    """
    previous = read_state(state_path)
    if previous and previous.status == "running" and previous.pid != os.getpid():
        raise RagError(f"an ingest of {', '.join(previous.roots)} is already running (process {previous.pid})")
    now = time.time()
    state = JobState(roots=[str(r) for r in roots], prune=prune, pid=os.getpid(), started_at=now, updated_at=now)
    write_state(state_path, state)

    def progress(p: Progress) -> None:
        state.files_done, state.files_total, state.pages_done, state.current = (
            p.files_done,
            p.files_total,
            p.pages_done,
            p.current,
        )
        state.updated_at = time.time()
        write_state(state_path, state)

    try:
        report = ingestor.ingest([Path(r) for r in roots], prune=prune, force=force, progress=progress)
    except Exception as e:
        state.status, state.error, state.updated_at = "failed", str(e) or type(e).__name__, time.time()
        write_state(state_path, state)
        raise
    state.status, state.report, state.updated_at = "done", report, time.time()
    write_state(state_path, state)
    return report


def resume(ingestor: Ingestor, state_path: Path) -> IngestReport:
    """Run an interrupted or failed job's roots again (already indexed files are skipped).

    Raises:
        RagError: there is no job to resume, or it is still running.
    """
    state = read_state(state_path)
    if state is None or state.status == "done":
        raise RagError("no interrupted ingest to resume")
    if state.status == "running":
        raise RagError(f"the ingest is still running (process {state.pid})")
    return run_job(ingestor, [Path(r) for r in state.roots], state_path, prune=state.prune)
