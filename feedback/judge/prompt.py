"""The judge prompt. Its version is stored with every score, so change the version with the text.

The judge sees what the seed's judge saw (SPEC.md section 8) plus the passages the answer model
was given: the question, a reference answer when there is one (the SME's, else the user's own
better answer), the machine answer, and the passages. It thinks inside ``<thinking>``, scores
0.0–5.0 inside ``<scoring>`` and explains inside ``<reason>``.
"""

from __future__ import annotations

from typing import TypedDict

from feedback.records import Interaction

JUDGE_PROMPT_VERSION = "judge-2026-11-30.1"

MAX_PASSAGE_CHARS = 24_000
"""The passages are cut to this many characters (with a marker): a judge's context window is
finite, and a long context mostly repeats what the answer did not use."""


class ChatMessage(TypedDict):
    """One chat message, the shape every generator backend takes."""

    role: str
    content: str


SYSTEM = """You grade answers that an assistant gave to engineers' questions about their own \
documents (design criteria, specifications, contracts). The assistant was told to answer only \
from the numbered passages it was given and to cite them like [1].

Score the assistant's answer from 0.0 to 5.0:
5 = correct, complete and supported by the passages (or matching the reference answer);
4 = correct with a minor omission or imprecision;
3 = partly correct, or correct but missing something the engineer needs;
2 = mostly wrong or unsupported, with something useful;
1 = wrong, or claims the documents lack an answer that the passages or reference contain;
0 = harmful, fabricated, or unrelated to the question.
When a reference answer is given, it is the truth: judge the answer against it. Without one, \
judge against the passages. Numbers, units and section references must match exactly.

Reply in exactly this form, with nothing before or after it:
<thinking>your reasoning, step by step</thinking>
<scoring>one number from 0.0 to 5.0</scoring>
<reason>one or two sentences that tell the engineer why</reason>"""


def reference_answer(interaction: Interaction) -> tuple[str, str] | None:
    """The reference to judge against and who wrote it: the SME's reference answer, else the user's
    correction; None when there is neither."""
    if interaction.review.reference_answer:
        return interaction.review.reference_answer, "written by a subject-matter expert"
    if interaction.feedback is not None and interaction.feedback.correction:
        return interaction.feedback.correction, "the better answer written by the engineer who asked"
    return None


def build_judge_messages(interaction: Interaction, *, max_passage_chars: int = MAX_PASSAGE_CHARS) -> list[ChatMessage]:
    """The system and user messages that ask the judge to grade one interaction."""
    passages = interaction.context.strip()
    if len(passages) > max_passage_chars:
        cut = len(passages) - max_passage_chars
        passages = f"{passages[:max_passage_chars]}\n[… {cut:,} more characters of passages left out]"
    if not passages:
        passages = "(none: the assistant found no passage related to the question)"
    parts = [f"<question>\n{interaction.question.strip()}\n</question>"]
    reference = reference_answer(interaction)
    if reference is not None:
        text, who = reference
        parts.append(f"<reference_answer> ({who})\n{text.strip()}\n</reference_answer>")
    else:
        parts.append("(There is no reference answer: judge against the passages.)")
    parts.append(f"<passages>\n{passages}\n</passages>")
    parts.append(f"<assistant_answer>\n{interaction.answer.strip()}\n</assistant_answer>")
    parts.append("Grade the assistant's answer now, in the form <thinking>, <scoring>, <reason>.")
    return [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content="\n\n".join(parts))]
