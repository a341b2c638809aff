"""What a loop run remembers between processes: its state file, and the lock that keeps two runs apart.

Each run has a folder ``ROOT/runs/<id>/`` with ``state.json`` (the options, every step done with
its time and figures, the outcome), rewritten whole after each step, so a run that is killed
leaves its state at the last finished step and the next ``loop run`` picks it up there.

``ROOT/lock`` is held with ``fcntl.flock`` for the whole run; it holds who has it (process, user,
host, since when, which run), which a second run that finds it taken reads out in its refusal.
The operating system lets the lock go when the process dies, so a crash never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from common.files import atomic_write
from training.errors import LoopError
from training.gate import GateResult

Method = Literal["sft", "sft+dpo", "sft+reward+rl"]
TRAINERS: dict[str, tuple[str, ...]] = {
    "sft": ("sft",),
    "sft+dpo": ("sft", "dpo"),
    "sft+reward+rl": ("sft", "reward", "rl"),
}
STEPS = ("judge", "eval_set", "dataset", "train", "evaluate", "register")
Status = Literal["running", "finished", "nothing new", "failed", "abandoned"]


class LoopOptions(BaseModel):
    """How a run trains and measures; a run is resumed only with the same options."""

    method: Method = "sft"
    profile: Literal["tiny", "full"] = "tiny"
    base: str | None = Field(default=None, description="The model trained from (default: the profile's).")
    max_steps: int | None = Field(default=None, ge=1, description="Steps per trainer (default: the profile's).")
    overrides: dict = Field(default_factory=dict, description="TRL config fields for every trainer.")
    judge: bool = Field(default=True, description="Score the unscored answers first.")
    min_examples: int = Field(default=8, ge=1)
    eval_limit: int | None = Field(default=None, ge=1, description="Evaluate on the first N questions only.")
    max_new_tokens: int = Field(default=128, ge=1)
    runtime: Literal["auto", "onnx", "transformers"] = "auto"
    promote: bool = Field(default=False, description="Promote the candidate when the gate calls it better.")


class Step(BaseModel):
    name: str
    status: Literal["done", "failed"]
    seconds: float
    detail: dict = Field(default_factory=dict)


class RunState(BaseModel):
    """One run: its options, its steps so far and its outcome."""

    id: str
    started_at: datetime
    updated_at: datetime
    options: LoopOptions
    status: Status = "running"
    steps: list[Step] = Field(default_factory=list)
    resumed: int = Field(default=0, description="Times an interrupted or failed run was picked up again.")
    error: str | None = None
    message: str = ""
    served: str | None = Field(default=None, description="The model the candidate was compared with.")
    eval_set: str | None = Field(default=None, description="The frozen evaluation set's hash.")
    data_hash: str | None = None
    candidate: str | None = Field(default=None, description="The registered candidate's id.")
    verdict: str | None = None
    gate: GateResult | None = None
    promoted: bool = False

    def done(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name and s.status == "done"), None)


class RunStore:
    """The runs under ``root`` (``RAGBOT_HOME/loop``)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def folder(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def save(self, state: RunState) -> None:
        state.updated_at = datetime.now(UTC)
        folder = self.folder(state.id)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "state.json", state.model_dump_json(indent=2) + "\n")

    def runs(self) -> list[RunState]:
        """Every run, newest first (ids sort by time); an unreadable state file is skipped."""
        found = []
        for path in sorted((self.root / "runs").glob("*/state.json"), reverse=True):
            try:
                found.append(RunState.model_validate_json(path.read_text(encoding="utf-8")))
            except ValueError:
                continue
        return found

    @contextmanager
    def lock(self) -> Iterator[Callable[[str], None]]:
        """Hold the loop's lock for the body, which is given a function to name its run in the lock
        file. Raises LoopError naming the holder when the lock is taken."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a+", encoding="utf-8") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                raise LoopError(
                    f"another loop run holds {self.root / 'lock'} ({_holder(f.read())}): this one does nothing; "
                    "two runs never overlap"
                ) from None
            holder = {
                "pid": os.getpid(),
                "user": _user(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "run": "",
            }

            def note(run: str) -> None:
                f.seek(0)
                f.truncate()
                f.write(json.dumps(holder | {"run": run}))
                f.flush()

            try:
                note("")
                yield note
            finally:
                f.seek(0)
                f.truncate()
                f.flush()
                fcntl.flock(f, fcntl.LOCK_UN)


def _holder(text: str) -> str:
    try:
        h = json.loads(text)
        return f"process {h['pid']} of {h['user']} on {h['host']}, since {h['since']}, run {h['run'] or '?'}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"
