"""Train/validation split by conversation, with no question on both sides.

Records are grouped so that every record of one conversation (``session_id``) and every record of
one normalised question (``labels.question_key``) fall in the same group, whatever links them:
two conversations that asked the same question are one group. A validation answer can
therefore never be learnt from its own conversation or from the same question asked elsewhere;
``leakage`` checks that on the written examples.

How many: validation holds at most the share of the records, rounded half up, and at least one
record (``cap``); a whole group that would take it past that is skipped for a smaller one, so a
long conversation never drags half the records into validation. When no group is small enough,
validation is empty and the dataset builder refuses, naming the share that would do.

Which: groups are taken in the order of a SHA-256 of the seed and the group's first session id,
so the same records and seed give the same split on every run and machine, whatever order the
records are read in (no Python ``hash``, no input order); a conversation keeps its place in that
order as records are added, so a growing dataset changes validation only at its edge.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence

from feedback.records import Interaction
from training.labels import question_key


def cap(val_fraction: float, records: int) -> int:
    """The most records validation may hold: the share of ``records``, rounded half up, at least 1."""
    return max(1, math.floor(val_fraction * records + 0.5))


def groups(records: Sequence[Interaction]) -> list[list[Interaction]]:
    """The records linked by a conversation or a normalised question, one list per group."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for r in records:
        union(f"s:{r.session_id}", f"q:{question_key(r.question)}")
    found: dict[str, list[Interaction]] = {}
    for r in records:
        found.setdefault(find(f"s:{r.session_id}"), []).append(r)
    return list(found.values())


def split(records: Sequence[Interaction], val_fraction: float, seed: int) -> set[str]:
    """The ids of the records that go to validation (the rest train).

    ``val_fraction`` 1.0 puts everything in validation (an evaluation-only set); otherwise
    validation holds whole groups, at most ``cap`` records, and at least one record trains.
    """
    if val_fraction >= 1.0:
        return {r.id for r in records}

    def order(members: list[Interaction]) -> str:
        key = min(m.session_id for m in members)
        return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()

    most = min(cap(val_fraction, len(records)), len(records) - 1)
    val: set[str] = set()
    for members in sorted(groups(records), key=order):
        if len(val) + len(members) <= most:
            val.update(m.id for m in members)
        if len(val) == most:
            break
    return val


def smallest_share(records: Sequence[Interaction]) -> float:
    """The smallest validation share whose ``cap`` holds the smallest group (for a refusal's hint)."""
    smallest = min((len(g) for g in groups(records)), default=1)
    return math.ceil(round((smallest - 0.5) / max(len(records), 1) * 100, 9)) / 100


def leakage(train: Iterable[tuple[str, str]], val: Iterable[tuple[str, str]]) -> dict:
    """What train and validation share, from (question key, session id) pairs of their examples:
    ``questions_in_both``, ``conversations_in_both`` and up to five of the shared questions."""
    train = list(train)
    val = list(val)
    questions = {q for q, _ in train} & {q for q, _ in val}
    sessions = {s for _, s in train} & {s for _, s in val}
    return {
        "questions_in_both": len(questions),
        "conversations_in_both": len(sessions),
        "examples": sorted(questions)[:5],
    }
