"""The answer prompt. Its version is stored with every answer, so change the version with the text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.generators.base import Message
from rag.records import Citation, Turn

# qa-2026-11-30.1: the passages are trimmed to the sentences that match the question (rag/trimming.py).
# qa-2026-12-07.1: one user turn, the standalone question; earlier answers are not in the prompt.
PROMPT_VERSION = "qa-2026-12-07.1"

NOT_FOUND = "The documents do not contain the answer to this question."

INSTRUCTIONS = f"""You answer engineers' questions using only the numbered passages below, which \
come from their documents. Cite the passage number in brackets, like [1]. Give numbers, units and \
section references exactly as written. If the passages do not contain the answer, reply: {NOT_FOUND}"""


_PASSAGES = "\n\nPassages:\n\n"


def format_passages(citations: Sequence[Citation]) -> str:
    return "\n\n".join(f"[{c.n}] ({c.label})\n{c.text}" for c in citations)


# A question may be at most this long (rag.retrieval.MAX_QUESTION_CHARS); a rewritten follow-up
# keeps within it by dropping the start of the earlier question.
_MAX_STANDALONE_CHARS = 2000

# Words that make a question lean on the one before it ("and the trailers?", "what about its
# height?"); a question without them is asked on its own, so an off-topic question in the
# middle of a conversation still gets "not found".
_FOLLOW_UP_START = re.compile(r"^\s*(and|or|but|also|what about|how about|then|so|same for|and what about)\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|they|them|their|that|those|these|this|there|same|ones?|former|latter)\b", re.I)


def leans_on_history(question: str) -> bool:
    """Whether a question reads as a follow-up that needs the question before it."""
    words = question.split()
    return bool(_FOLLOW_UP_START.search(question)) or (len(words) <= 8 and bool(_ANAPHORA.search(question)))


def standalone_question(question: str, history: Sequence[Turn] = ()) -> str:
    """The question as it reads without the conversation: what is searched and what the model is asked.

    A question that does not lean on the one before (``leans_on_history``) stands alone as it
    is. A follow-up ("And for trailers?") is the earlier question, itself made standalone the
    same way, followed by the follow-up: "How many car parking spaces do we have? And for
    trailers?". Only questions are used, never earlier answers: a small model given its earlier
    answers copied them into the new one (issue 25), and the earlier question is enough to say
    what "it" refers to.
    """
    question = question.strip()
    if not history or not leans_on_history(question):
        return question
    earlier = standalone_question(history[-1].question, history[:-1])
    room = _MAX_STANDALONE_CHARS - len(question) - 1
    earlier = earlier[-room:].lstrip() if room > 0 else ""
    return f"{earlier} {question}".strip()


def build_messages(question: str, citations: Sequence[Citation], history: Sequence[Turn] = ()) -> list[Message]:
    """Instructions and passages as the system message, then the question made standalone.

    Small instruct models (SmolLM2-135M) answer far more faithfully when the evidence sits in
    the system message and the user turn is the bare question than when both share one turn.
    The conversation enters only through ``standalone_question``: earlier answers are not
    sent, so they cannot be copied into this one (bench/follow_ups.py).
    """
    return messages_for(question, format_passages(citations), history)


def messages_for(question: str, passages: str, history: Sequence[Turn] = ()) -> list[Message]:
    """``build_messages`` from passages already formatted by ``format_passages``: what an
    interaction record keeps as its ``context``, so the training package rebuilds the prompt the
    model saw with this one function."""
    system = f"{INSTRUCTIONS}{_PASSAGES}{passages}"
    return [
        Message(role="system", content=system),
        Message(role="user", content=standalone_question(question, history)),
    ]


def passages_of(system: str) -> str:
    """The passages of a system message that ``messages_for`` built ('' when it has none): what an
    evaluation shows the judge, as the chat's interaction records keep them."""
    _, found, passages = system.partition(_PASSAGES)
    return passages if found else ""


def says_not_found(answer: str) -> bool:
    """Whether a reply is the not-found sentence (models sometimes add a clause to it)."""
    text = answer.strip().lower()
    return text.startswith(NOT_FOUND.lower()[:40]) or "do not contain the answer" in text
