"""Train/validation split by conversation, with no question on both sides.

Records are grouped so that every record of one conversation (``session_id``) and every record of
one normalised question (``labels.question_key``) fall in the same group, whatever links them:
two conversations that asked the same question are one group. Whole groups then go to
validation, in an order fixed by the seed, until the validation share is reached. A validation
answer can therefore never be learnt from its own conversation or from the same question asked
elsewhere; ``leakage`` checks that on the written examples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from feedback.records import Interaction
from training.labels import question_key


def split(records: Sequence[Interaction], val_fraction: float, seed: int) -> set[str]:
    """The ids of the records that go to validation (the rest train).

    ``val_fraction`` 1.0 puts everything in validation (an evaluation-only set); otherwise at
    least one group stays in train, and validation gets at least one group when there are two.
    """
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
    groups: dict[str, list[Interaction]] = {}
    for r in records:
        groups.setdefault(find(f"s:{r.session_id}"), []).append(r)
    if val_fraction >= 1.0:
        return {r.id for r in records}

    def order(members: list[Interaction]) -> str:
        key = min(m.session_id for m in members)
        return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()

    ordered = sorted(groups.values(), key=order)
    wanted = max(1, round(val_fraction * len(records)))
    val: set[str] = set()
    for members in ordered[:-1]:  # the last group always trains
        if len(val) >= wanted:
            break
        val.update(m.id for m in members)
    return val


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
