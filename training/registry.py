"""The model registry: every candidate the loop trained, with its card, and which one is served.

A candidate lives under ``ROOT/<id>/`` (``ROOT`` is ``RAGBOT_HOME/models``, beside the converted
packaged model): ``model/`` (the trained adapter, as ``RAGBOT_LOCAL_MODEL`` loads it) and
``card.json`` (base, method, data hash, evaluation set hash, metrics, the gate's verdict, time).
Ids look like ``20260102-153000-sft-1a2b3c``: sortable by time, never a packaged model's name.

``ROOT/promoted.json`` says which candidate is served: ``current`` (None: the packaged base), the
``stack`` of earlier promotions that ``rollback`` walks back, and the ``history`` of every
promotion and rollback (who, when, forced with which reason). It is rewritten whole under a lock
(``fcntl``) and replaced atomically, so the app, which watches its modification time
(``training.serving``), never reads half of it. A candidate the gate did not call "better" is
promoted only with a reason (``force``), which the history keeps.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from common.files import atomic_write
from training.errors import RegistryError
from training.gate import GateResult, Verdict

ID = re.compile(r"^\d{8}-\d{6}-[a-z0-9-]+-[0-9a-f]{6}$")
SKIPPED = ("checkpoints", "merged")
"""What a trained folder holds that the registry does not keep: the trainer's checkpoints, and a
merge the app redoes beside the registered copy on first load."""


class ModelCard(BaseModel):
    """What a registered candidate is and how it measured against the model it would replace."""

    id: str
    created_at: datetime
    base: str = Field(description="The model it was trained from.")
    method: str = Field(description="sft, sft+dpo or sft+reward+rl.")
    profile: str
    data_hash: str = Field(description="The training dataset's hash (training.dataset).")
    eval_set_hash: str = Field(description="The frozen evaluation set it was measured on (training.evalset).")
    served: str = Field(description="The model it was compared with: a registry id or the packaged base.")
    metrics: dict[str, dict] = Field(default_factory=dict, description="candidate and served: the eval figures.")
    gate: GateResult | None = None
    verdict: Verdict
    run_id: str | None = None
    sagemaker_arn: str | None = Field(default=None, description="Its model package in the SageMaker Model Registry.")


class Promotion(BaseModel):
    """One change of the served model."""

    action: Literal["promote", "rollback"]
    served: str | None = Field(description="The candidate served after it (None: the packaged base).")
    before: str | None
    by: str
    at: datetime
    forced: str | None = Field(default=None, description="Why a candidate the gate did not call better was promoted.")


class Pointer(BaseModel):
    current: str | None = None
    stack: list[str] = Field(default_factory=list, description="Earlier promoted ids, oldest first.")
    history: list[Promotion] = Field(default_factory=list)


def new_id(method: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{re.sub(r'[^a-z0-9]+', '-', method.lower()).strip('-')}-{secrets.token_hex(3)}"


class Registry:
    """The candidates under ``root`` and the pointer to the served one."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def pointer_path(self) -> Path:
        return self.root / "promoted.json"

    def path(self, model_id: str) -> Path:
        """The model folder of a candidate (what the app loads). Raises RegistryError when unknown."""
        self.card(model_id)
        return self.root / model_id / "model"

    def card(self, model_id: str) -> ModelCard:
        """A candidate's card. Raises RegistryError when there is no such candidate."""
        path = self.root / model_id / "card.json"
        if not ID.match(model_id) or not path.is_file():
            known = ", ".join(c.id for c in self.cards()[:5]) or "none yet: run `ragbot loop run`"
            raise RegistryError(f"no model '{model_id}' in the registry ({self.root}); the latest: {known}")
        return ModelCard.model_validate_json(path.read_text(encoding="utf-8"))

    def cards(self) -> list[ModelCard]:
        """Every candidate, newest first."""
        if not self.root.is_dir():
            return []
        found = [p.parent for p in self.root.glob("*/card.json") if ID.match(p.parent.name)]
        return [self.card(p.name) for p in sorted(found, key=lambda p: p.name, reverse=True)]

    def register(self, model_dir: Path, card: ModelCard) -> ModelCard:
        """Copy a trained model folder (without its checkpoints) into the registry with its card.

        Raises:
            RegistryError: the folder holds no model, or the id is taken.
            OSError: it cannot be written.
        """
        model_dir = Path(model_dir)
        if not ((model_dir / "adapter_config.json").is_file() or (model_dir / "config.json").is_file()):
            raise RegistryError(f"{model_dir} holds no model (no adapter_config.json or config.json)")
        if not ID.match(card.id) or (self.root / card.id).exists():
            raise RegistryError(f"'{card.id}' is not a new registry id")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{card.id}-", dir=self.root))
        try:
            shutil.copytree(model_dir, staging / "model", ignore=shutil.ignore_patterns(*SKIPPED))
            (staging / "card.json").write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
            os.rename(staging, self.root / card.id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return card

    def export(self, model_id: str, dest: Path) -> Path:
        """Copy a candidate (``model/`` and ``card.json``) into ``dest``, e.g. a SageMaker job's model
        folder, which becomes the artifact a model package points at. Raises RegistryError, OSError."""
        self.card(model_id)
        shutil.copytree(self.root / model_id, dest, dirs_exist_ok=True)
        return Path(dest)

    def update(self, card: ModelCard) -> None:
        """Rewrite a registered candidate's card (its SageMaker package, once registered there)."""
        self.card(card.id)
        path = self.root / card.id / "card.json"
        atomic_write(path, card.model_dump_json(indent=2) + "\n")

    def pointer(self) -> Pointer:
        """Which candidate is served, and the promotions so far. Raises RegistryError when unreadable."""
        if not self.pointer_path.exists():
            return Pointer()
        try:
            return Pointer.model_validate_json(self.pointer_path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise RegistryError(f"{self.pointer_path} is unreadable: {e}") from e

    def promoted(self) -> str | None:
        """The id of the served candidate, None for the packaged base."""
        return self.pointer().current

    def promote(self, model_id: str, *, by: str, force: str | None = None) -> Promotion:
        """Serve ``model_id`` from now on.

        Raises:
            RegistryError: no such candidate; or the gate did not call it better and no ``force``
                reason was given; or it is already served.
        """
        card = self.card(model_id)
        if card.verdict != "better" and not (force and force.strip()):
            raise RegistryError(
                f"the gate called {model_id} '{card.verdict}' against {card.served} "
                f"({card.gate.reason if card.gate else 'no gate'}): not promoted. "
                "To serve it anyway give --force REASON (recorded in the audit log)"
            )
        with self._locked() as pointer:
            if pointer.current == model_id:
                raise RegistryError(f"{model_id} is already the served model")
            event = Promotion(
                action="promote",
                served=model_id,
                before=pointer.current,
                by=by,
                at=datetime.now(UTC),
                forced=force.strip() if card.verdict != "better" and force else None,
            )
            if pointer.current is not None:
                pointer.stack.append(pointer.current)
            pointer.current = model_id
            pointer.history.append(event)
        return event

    def rollback(self, *, by: str) -> Promotion:
        """Serve again the model served before the current promotion (the packaged base when none).

        Raises:
            RegistryError: nothing is promoted (the packaged base is served).
        """
        with self._locked() as pointer:
            if pointer.current is None:
                raise RegistryError("nothing to roll back: the packaged base model is served")
            event = Promotion(
                action="rollback",
                served=pointer.stack[-1] if pointer.stack else None,
                before=pointer.current,
                by=by,
                at=datetime.now(UTC),
            )
            pointer.current = pointer.stack.pop() if pointer.stack else None
            pointer.history.append(event)
        return event

    @contextmanager
    def _locked(self) -> Iterator[Pointer]:
        """The pointer, read and written back whole under an exclusive lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".promoted.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                pointer = self.pointer()
                yield pointer
                atomic_write(self.pointer_path, pointer.model_dump_json(indent=2) + "\n")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def describe(card: ModelCard) -> dict:
    """A card as the command line shows it (``--json``): the figures rounded, the gate's intervals."""
    body = json.loads(card.model_dump_json(exclude={"gate"}))
    if card.gate is not None:
        body["gate"] = {
            "verdict": card.gate.verdict,
            "reason": card.gate.reason,
            "level": card.gate.level,
            "metrics": [m.model_dump(mode="json") for m in card.gate.metrics],
        }
    return body
