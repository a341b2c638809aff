"""The dataset folder the trainers read, checked row by row before any model is loaded.

``ragbot train dataset`` writes ``DIR/{sft,preference,kto,prompts}/{train,val}.jsonl`` in TRL's
conversational formats (issue #12). A trainer reads only its own folder; every row is validated
with pydantic first, so a wrong shape is refused with the file, the line and the field in one
line, before minutes of model loading. Extra row fields (ids, the rule that made a row) are
allowed and ignored: only the fields TRL reads go into the ``datasets.Dataset``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from training.trainers.errors import TrainerError

Split = Literal["train", "val"]


class ChatMessage(BaseModel):
    """One message of a conversation, as chat templates take it."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content is blank")
        return value


def _check_prompt(messages: list[ChatMessage]) -> list[ChatMessage]:
    """A prompt: an optional system message first, then turns ending with the user's question."""
    if not messages:
        raise ValueError("the prompt has no messages")
    if any(m.role == "system" for m in messages[1:]):
        raise ValueError("a system message may only come first")
    if messages[-1].role != "user":
        raise ValueError(f"the prompt must end with the user's message, not '{messages[-1].role}'")
    return messages


def _check_reply(messages: list[ChatMessage]) -> list[ChatMessage]:
    if len(messages) != 1 or messages[0].role != "assistant":
        raise ValueError("must be exactly one assistant message")
    return messages


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SFTRow(_Row):
    """``sft/*.jsonl``: a conversation whose last message is the target answer."""

    messages: list[ChatMessage] = Field(min_length=2)

    @field_validator("messages")
    @classmethod
    def _shape(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        _check_prompt(messages[:-1])
        _check_reply(messages[-1:])
        return messages

    def trl(self) -> dict:
        # TRL's conversational prompt-completion format: the loss falls on the answer only
        # (completion_only_loss), not on the passages, which the model should read, not learn.
        return {
            "prompt": [m.model_dump() for m in self.messages[:-1]],
            "completion": [self.messages[-1].model_dump()],
        }


class PreferenceRow(_Row):
    """``preference/*.jsonl``: a better and a worse answer to the same prompt."""

    prompt: list[ChatMessage]
    chosen: list[ChatMessage]
    rejected: list[ChatMessage]

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        return _check_prompt(messages)

    @field_validator("chosen", "rejected")
    @classmethod
    def _replies(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        return _check_reply(messages)

    @model_validator(mode="after")
    def _differ(self) -> PreferenceRow:
        if self.chosen[0].content.strip() == self.rejected[0].content.strip():
            raise ValueError("chosen and rejected are the same answer")
        return self

    def trl(self) -> dict:
        return {k: [m.model_dump() for m in getattr(self, k)] for k in ("prompt", "chosen", "rejected")}


class KTORow(_Row):
    """``kto/*.jsonl``: one answer marked good (``label`` true) or bad."""

    prompt: list[ChatMessage]
    completion: list[ChatMessage]
    label: bool = Field(strict=True)

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        return _check_prompt(messages)

    @field_validator("completion")
    @classmethod
    def _reply(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        return _check_reply(messages)

    def trl(self) -> dict:
        return {
            "prompt": [m.model_dump() for m in self.prompt],
            "completion": [m.model_dump() for m in self.completion],
            "label": self.label,
        }


class PromptRow(_Row):
    """``prompts/*.jsonl``: a question (with its passages) the policy answers during RL."""

    prompt: list[ChatMessage]

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        return _check_prompt(messages)

    def trl(self) -> dict:
        return {"prompt": [m.model_dump() for m in self.prompt]}


ROWS: dict[str, type[_Row]] = {"sft": SFTRow, "preference": PreferenceRow, "kto": KTORow, "prompts": PromptRow}


def split_path(data_dir: Path, kind: str, split: Split) -> Path:
    return Path(data_dir) / kind / f"{split}.jsonl"


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def read_rows(path: Path, row_model: type[_Row]) -> list[_Row]:
    """Every row of one JSONL file, validated. Raises TrainerError naming the file and line."""
    if not path.is_file():
        raise TrainerError(
            f"{path} is missing: build the dataset with `ragbot train dataset --out {path.parent.parent}`"
        )
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise TrainerError(f"{path} line {number} is not JSON: {e.msg}") from e
            if not isinstance(record, dict):
                raise TrainerError(f"{path} line {number} is not a JSON object")
            try:
                rows.append(row_model.model_validate(record))
            except ValidationError as e:
                raise TrainerError(
                    f"{path} line {number} has the wrong shape for {path.parent.name}: {_explain(e)}"
                ) from e
    return rows


def load_split(data_dir: Path, kind: str, split: Split, minimum: int):
    """The rows of ``DIR/kind/split.jsonl`` as a ``datasets.Dataset`` in TRL's format.

    Raises TrainerError when the file is missing, a row has the wrong shape, or there are fewer
    than ``minimum`` rows.
    """
    from datasets import Dataset

    path = split_path(data_dir, kind, split)
    rows = read_rows(path, ROWS[kind])
    if len(rows) < minimum:
        raise TrainerError(
            f"{path} has {len(rows)} rows; this profile needs at least {minimum}: collect more feedback "
            "or lower --val-fraction when building the dataset"
        )
    return Dataset.from_list([row.trl() for row in rows])


def data_hash(files: Sequence[Path]) -> dict[str, str]:
    """sha256 of each input file, and of them all together (``all``), so a run names its data."""
    hashes: dict[str, str] = {}
    total = hashlib.sha256()
    for path in files:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        hashes[str(path)] = digest
        total.update(f"{Path(path).parent.name}/{Path(path).name}:{digest}\n".encode())
    hashes["all"] = total.hexdigest()
    return hashes
