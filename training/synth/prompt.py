"""The prompt that asks a model for question–answer pairs about one passage. Its version is stored
with every pair (``Interaction.prompt_version``), so change the version with the text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rag.generators.base import Message

SYNTH_PROMPT_VERSION = "synth-2026-12-01.1"

Kind = Literal["fact", "number", "procedure", "table", "unanswerable"]
KINDS: tuple[Kind, ...] = ("fact", "number", "procedure", "table", "unanswerable")

UNANSWERABLE_ANSWER = "The documents do not contain the answer to this question."

_KIND_HELP: dict[str, str] = {
    "fact": "a fact the passage states (a requirement, a material, a responsibility)",
    "number": "a number, dimension, rating or code the passage gives, with its unit",
    "procedure": "how something is done or in what order, as the passage describes it",
    "table": "a value read from a row of a table in the passage",
    "unanswerable": (
        "a question an engineer could plausibly ask about the same subject that the passage does NOT "
        f'answer; its answer is exactly "{UNANSWERABLE_ANSWER}" and its supporting_sentence is ""'
    ),
}

SYSTEM = """You write test questions for a search assistant used by engineers who work with \
design criteria, specifications, contracts and drawings. You are given one passage from their \
documents. Write questions that a real engineer would ask in their own words, without having \
seen the passage, and that the passage answers.

Rules:
- The answer must come from the passage alone: copy numbers, units, codes and section references exactly.
- supporting_sentence is the exact sentence (or table row) of the passage that holds the answer, copied verbatim.
- The question must not contain the answer, and must not say "the passage" or "this document"; \
name the subject instead (the building, the system, the standard).
- Write the answer as one or two full sentences.
- Reply with JSON only: a list of objects with the keys question, answer, supporting_sentence and kind."""


def build_synth_messages(
    passage: str, *, source: str, page: int | None, title: str = "", count: int = 2, kinds: Sequence[str] = KINDS
) -> list[Message]:
    """The chat messages asking for ``count`` pairs of the given ``kinds`` about ``passage``."""
    where = f"{source} – page {page}" if page is not None else source
    wanted = "\n".join(f'- "{k}": {_KIND_HELP[k]}' for k in kinds)
    user = (
        f"Document: {where}\n" + (f"Section: {title}\n" if title else "") + f"\nPassage:\n<<<\n{passage}\n>>>\n\n"
        f'Write {count} question-answer pairs. Use these kinds (the value of "kind"):\n{wanted}\n\n'
        'Reply like: [{"question": "...", "answer": "...", "supporting_sentence": "...", "kind": "number"}]'
    )
    return [Message(role="system", content=SYSTEM), Message(role="user", content=user)]
