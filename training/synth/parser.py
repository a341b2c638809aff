"""Reading the model's reply into validated question–answer pairs, never raising.

Models wrap JSON in prose and code fences, return one object instead of a list, or a list under a
key; all of these are read. Each object is validated on its own (``SynthPair``), so one bad pair
costs only itself: it is counted in ``invalid`` with the reason, never stored.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from feedback.records import describe
from training.synth.prompt import Kind

MAX_REPLY_CHARS = 200_000
MAX_QUESTION_CHARS = 2_000  # what the retriever accepts (rag.retrieval.MAX_QUESTION_CHARS)
MAX_ANSWER_CHARS = 4_000
MAX_CANDIDATES = 64
"""JSON starts tried in a reply before giving up: a reply full of brackets costs bounded time."""

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_LIST_KEYS = ("pairs", "questions", "items", "data", "results")


class SynthPair(BaseModel):
    """One question–answer pair as the model wrote it, whitespace trimmed."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    question: str = Field(min_length=5, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)
    supporting_sentence: str = Field(default="", max_length=MAX_ANSWER_CHARS)
    kind: Kind

    @field_validator("kind", mode="before")
    @classmethod
    def _lower_kind(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class ParsedReply(BaseModel):
    """``pairs`` that validated; ``invalid`` one reason per object that did not; ``issue`` what was
    wrong with the reply as a whole ("no_json": no JSON value in it; "not_pairs": JSON, but no
    object or list of objects), None when it was read."""

    pairs: list[SynthPair] = []
    invalid: list[str] = []
    issue: str | None = None


def _candidates(text: str):
    """JSON values in ``text``: the whole text, each fenced block, then values starting at each
    ``[`` or ``{`` (at most ``MAX_CANDIDATES`` tries)."""
    stripped = text.strip()
    yield stripped
    for block in _FENCE.findall(text):
        yield block.strip()
    decoder = json.JSONDecoder()
    tries = 0
    for match in re.finditer(r"[\[{]", text):
        tries += 1
        if tries > MAX_CANDIDATES:
            return
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except (json.JSONDecodeError, RecursionError):
            continue
        yield value


def _objects(value: object) -> list | None:
    """The list of pair objects a JSON value holds, or None when it holds none."""
    if isinstance(value, dict):
        for key in _LIST_KEYS:
            if isinstance(value.get(key), list):
                return value[key]
        return [value] if "question" in value else None
    if isinstance(value, list) and (not value or any(isinstance(v, dict) for v in value)):
        return value  # [] is a valid reply: the passage offered nothing to ask
    return None


def parse_reply(text: str) -> ParsedReply:
    """The pairs in a model's reply (see the module docstring). Never raises."""
    if not isinstance(text, str) or not text.strip():
        return ParsedReply(issue="no_json")
    text = text[:MAX_REPLY_CHARS]
    found_json = False
    objects = None
    for candidate in _candidates(text):
        if isinstance(candidate, str):
            try:
                candidate = json.loads(candidate)
            except (json.JSONDecodeError, RecursionError):
                continue
        found_json = True
        objects = _objects(candidate)
        if objects is not None:
            break
    if objects is None:
        return ParsedReply(issue="not_pairs" if found_json else "no_json")
    out = ParsedReply()
    for obj in objects:
        if not isinstance(obj, dict):
            out.invalid.append(f"not an object: {str(obj)[:60]!r}")
            continue
        try:
            out.pairs.append(SynthPair.model_validate(obj))
        except ValidationError as e:
            out.invalid.append(describe(e))
    return out
