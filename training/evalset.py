"""The frozen evaluation set: the questions every candidate model and the served one are measured on.

It holds SME-validated reference answers and SME-validated synthetic pairs, as SFT examples (the
prompt as at answer time, the reference as the target; ``training.dataset.sft_rows``), one JSON
line each with the record's id. A version is written once under ``DIR/<hash>/`` (``eval.jsonl``
and ``card.json``) and never changed; ``DIR/current.json`` names the one in use. The hash is the
SHA-256 of ``eval.jsonl``, so the same questions and references always give the same hash.

Freezing again makes a new version only when there is something new: it keeps every example of
the previous version as it was and adds a share (``share``, by conversation with questions kept
together, fixed by ``seed``: ``training.split``) of the validated records it was never offered,
plus every new record that asks one of its questions; a new record asking a question left to
training stays with training. A record that was once in the set stays there, so it is never
trained on (``holdout``: ``training.dataset`` leaves it out, with every record asking one of its
questions); one left to training is never offered again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from common.files import atomic_write
from feedback.records import Interaction
from training import labels
from training.dataset import DatasetOptions, Holdout, sft_rows
from training.errors import EvaluationError
from training.split import split
from training.tokens import TokenCounter


class EvalSetCard(BaseModel):
    """One version of the evaluation set."""

    hash: str
    version: int
    created_at: datetime
    questions: int = Field(description="Examples in the set.")
    ids: list[str] = Field(description="The records they come from.")
    question_keys: list[str] = Field(description="Their questions, normalised (training.labels.question_key).")
    kinds: dict[str, int] = Field(default_factory=dict, description="Examples per source: reference, synthetic.")
    added: int = Field(default=0, description="Examples this version added to the previous one.")
    previous: str | None = None
    share: float
    seed: int

    def holdout(self) -> Holdout:
        return Holdout(hash=self.hash, ids=frozenset(self.ids), questions=frozenset(self.question_keys))


def eligible(record: Interaction) -> bool:
    """Whether an SME vouched for the record's target: a validated record with a reference answer,
    or a validated synthetic pair; and it could be a training example at all."""
    if record.review.status != "validated" or labels.eligibility(record) is not None:
        return False
    return bool((record.review.reference_answer or "").strip()) or record.origin == "synthetic"


class EvalSets:
    """The versions of the evaluation set under ``root`` (``RAGBOT_HOME/evalsets``)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def pointer(self) -> Path:
        return self.root / "current.json"

    @property
    def ledger(self) -> Path:
        """The validated records offered to the set and left to training, for good, and their questions."""
        return self.root / "left.json"

    def _left(self) -> tuple[set[str], set[str]]:
        if not self.ledger.exists():
            return set(), set()
        try:
            body = json.loads(self.ledger.read_text(encoding="utf-8"))
            return set(body["ids"]), set(body["questions"])
        except (ValueError, KeyError, TypeError) as e:
            raise EvaluationError(f"{self.ledger} is unreadable ({e})") from e

    def current(self) -> EvalSetCard | None:
        """The version in use, or None before the first freeze. Raises EvaluationError when unreadable."""
        if not self.pointer.exists():
            return None
        try:
            return self.card(json.loads(self.pointer.read_text(encoding="utf-8"))["hash"])
        except (ValueError, KeyError, TypeError) as e:
            raise EvaluationError(f"{self.pointer} is unreadable ({e}): delete it to freeze the set again") from e

    def card(self, digest: str) -> EvalSetCard:
        path = self.root / digest / "card.json"
        if not path.is_file():
            raise EvaluationError(f"no evaluation set {digest} under {self.root}")
        return EvalSetCard.model_validate_json(path.read_text(encoding="utf-8"))

    def examples_path(self, digest: str) -> Path:
        """The ``eval.jsonl`` of a version: SFT rows with their record ``id`` (``ragbot eval --data``)."""
        return self.root / digest / "eval.jsonl"

    def freeze(
        self,
        records: Iterable[Interaction],
        counter: TokenCounter,
        *,
        share: float = 0.5,
        seed: int = 0,
        options: DatasetOptions | None = None,
    ) -> EvalSetCard:
        """The current version extended with the new validated records (the same version when
        there are none), written and made current.

        Raises:
            EvaluationError: there is no set yet and no validated record to make one from.
            OSError: it cannot be written.
        """
        everything = list(records)
        previous = self.current()
        old_rows = self._rows(previous) if previous else []
        held = previous.holdout() if previous else Holdout("", frozenset(), frozenset())
        left_ids, left_keys = self._left()
        fresh = [r for r in everything if eligible(r) and r.id not in held.ids and r.id not in left_ids]
        joins = [r for r in fresh if held.holds(r)]  # asks a question already in the set
        trains = [r for r in fresh if not held.holds(r) and labels.question_key(r.question) in left_keys]
        others = [r for r in fresh if not held.holds(r) and labels.question_key(r.question) not in left_keys]
        chosen_ids = split(others, share, seed) if others else set()
        chosen = joins + [r for r in others if r.id in chosen_ids]
        left = trains + [r for r in others if r.id not in chosen_ids]
        new_rows = [
            {"id": r.id, "kind": "synthetic" if r.origin == "synthetic" else "reference", **row}
            for r, row in sft_rows(everything, chosen, counter, options or DatasetOptions())
        ]
        if previous and not new_rows:
            self._write_left(left_ids, left_keys, left)
            return previous
        if not old_rows and not new_rows:
            raise EvaluationError(
                "no evaluation set to freeze: no SME-validated reference answer or validated synthetic pair "
                "(validate some on the Review page, or run `ragbot synth` and validate its pairs)"
            )
        rows = sorted(old_rows + new_rows, key=lambda row: row["id"])
        data = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows).encode()
        digest = hashlib.sha256(data).hexdigest()
        keys = {labels.question_key(row["messages"][-2]["content"]) for row in rows} | set(held.questions)
        card = EvalSetCard(
            hash=digest,
            version=(previous.version + 1) if previous else 1,
            created_at=datetime.now(UTC),
            questions=len(rows),
            ids=[row["id"] for row in rows],
            question_keys=sorted(keys),
            kinds=dict(Counter(row["kind"] for row in rows)),
            added=len(new_rows),
            previous=previous.hash if previous else None,
            share=share,
            seed=seed,
        )
        self._write(card, data)
        self._write_left(left_ids, left_keys, left)
        return card

    def _write_left(self, ids: set[str], keys: set[str], left: list[Interaction]) -> None:
        if not left:
            return
        body = {
            "ids": sorted(ids | {r.id for r in left}),
            "questions": sorted(keys | {labels.question_key(r.question) for r in left}),
        }
        atomic_write(self.ledger, json.dumps(body) + "\n")

    def _rows(self, card: EvalSetCard) -> list[dict]:
        path = self.examples_path(card.hash)
        try:
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, ValueError) as e:
            raise EvaluationError(f"the evaluation set {card.hash} cannot be read from {path}: {e}") from e

    def _write(self, card: EvalSetCard, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / card.hash
        if not (target / "card.json").exists():
            staging = Path(tempfile.mkdtemp(prefix=f".{card.hash[:12]}-", dir=self.root))
            (staging / "eval.jsonl").write_bytes(data)
            (staging / "card.json").write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
            shutil.rmtree(target, ignore_errors=True)
            os.rename(staging, target)
        atomic_write(self.pointer, json.dumps({"hash": card.hash}) + "\n")
