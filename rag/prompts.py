"""The answer prompt. Its version is stored with every answer, so change the version with the text."""

from __future__ import annotations

from collections.abc import Sequence

from rag.generators.base import Message
from rag.models import Citation, Turn

# qa-2026-11-30.1: the passages are trimmed to the sentences that match the question (rag/context.py).
PROMPT_VERSION = "qa-2026-11-30.1"

NOT_FOUND = "The documents do not contain the answer to this question."

INSTRUCTIONS = f"""You answer engineers' questions using only the numbered passages below, which \
come from their documents. Cite the passage number in brackets, like [1]. Give numbers, units and \
section references exactly as written. If the passages do not contain the answer, reply: {NOT_FOUND}"""


_PASSAGES = "\n\nPassages:\n\n"


def format_passages(citations: Sequence[Citation]) -> str:
    return "\n\n".join(f"[{c.n}] ({c.label})\n{c.text}" for c in citations)


def build_messages(question: str, citations: Sequence[Citation], history: Sequence[Turn] = ()) -> list[Message]:
    """Instructions and passages as the system message, the earlier turns, then the question.

    Small instruct models (SmolLM2-135M) answer far more faithfully when the evidence sits in
    the system message and the user turn is the bare question than when both share one turn.
    """
    return messages_for(question, format_passages(citations), history)


def messages_for(question: str, passages: str, history: Sequence[Turn] = ()) -> list[Message]:
    """``build_messages`` from passages already formatted by ``format_passages``: what an
    interaction record keeps as its ``context``, so the training package rebuilds the prompt the
    model saw with this one function."""
    system = f"{INSTRUCTIONS}{_PASSAGES}{passages}"
    messages = [Message(role="system", content=system)]
    for turn in history:
        messages.append(Message(role="user", content=turn.question))
        messages.append(Message(role="assistant", content=turn.answer))
    messages.append(Message(role="user", content=question))
    return messages


def passages_of(system: str) -> str:
    """The passages of a system message that ``messages_for`` built ('' when it has none): what an
    evaluation shows the judge, as the chat's interaction records keep them."""
    _, found, passages = system.partition(_PASSAGES)
    return passages if found else ""


def says_not_found(answer: str) -> bool:
    """Whether a reply is the not-found sentence (models sometimes add a clause to it)."""
    text = answer.strip().lower()
    return text.startswith(NOT_FOUND.lower()[:40]) or "do not contain the answer" in text
