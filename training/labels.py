"""What a feedback record teaches: its best target answer and whether the model's answer was good.

The rules, in order of trust (issue 12):

* **Target** (what the model should have said): the SME's reference answer, else the user's
  correction, else the model's own answer when it was judged good.
* **Verdict on the model's answer**: an SME review decides when there is one (rejected: bad;
  validated: its score, or good when the SME kept no score); else the user's rating (4–5 good,
  1–2 bad, 3 neither); else the AI judge's score (>= 4 good, < 3 bad, as the seed counted).
  A rejected answer is never a target, but it is the ``rejected`` side of a pair.

Synthetic records (``origin == "synthetic"``: a question a model wrote from a passage) count only
once an SME validated them; see ``eligibility``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal, NamedTuple

from feedback.records import Interaction

GOOD_SCORE = 4.0
"""A judge or SME score at or above this makes an answer good (the seed's "above 4")."""
BAD_SCORE = 3.0
"""A judge or SME score below this makes an answer bad (the seed's "below 3")."""

Rule = Literal["reference", "correction", "sme_validated", "sme_score", "rated", "judged"]


class Verdict(NamedTuple):
    """``good``: True, False or None (no signal, or a neutral one); ``rule``: which signal decided."""

    good: bool | None
    rule: str


class Target(NamedTuple):
    text: str
    rule: Rule


def verdict(record: Interaction) -> Verdict:
    """Whether the model's answer in ``record`` was good, bad or neither, and by which signal."""
    review = record.review
    if review.status == "rejected":
        return Verdict(False, "sme_rejected")
    if review.status == "validated":
        if review.sme_score is None:
            return Verdict(True, "sme_validated")
        return Verdict(_by_score(review.sme_score), "sme_score")
    if record.feedback is not None:
        rating = record.feedback.rating
        return Verdict(True if rating >= 4 else False if rating <= 2 else None, "rated")
    if record.judge is not None and record.judge.score is not None:
        return Verdict(_by_score(record.judge.score), "judged")
    return Verdict(None, "unlabelled")


def _by_score(score: float) -> bool | None:
    return True if score >= GOOD_SCORE else False if score < BAD_SCORE else None


def target(record: Interaction) -> Target | None:
    """The answer to train on for ``record``, and why; None when there is none."""
    if record.review.reference_answer and record.review.reference_answer.strip():
        return Target(record.review.reference_answer.strip(), "reference")
    if record.feedback is not None and record.feedback.correction:
        return Target(record.feedback.correction.strip(), "correction")
    judged = verdict(record)
    if judged.good:
        return Target(record.answer.strip(), judged.rule)  # type: ignore[arg-type]
    return None


def eligibility(record: Interaction) -> str | None:
    """Why ``record`` cannot enter a dataset at all, or None when it can."""
    if record.origin == "synthetic" and record.review.status != "validated":
        return f"synthetic, not validated by an SME (review: {record.review.status})"
    if record.stopped:
        return "stopped before the end: a fragment, not an answer"
    if record.verified is not None:
        # Its answer is a copy of an SME's reference; the record it was verified on carries it once.
        return "a served verified answer, not the model's"
    if not record.context.strip():
        # The pipeline answers "not found" without asking the model when nothing relevant was
        # retrieved: there is no prompt to learn from, and a correction would teach inventing.
        return "no passages: the model was not asked (nothing relevant was retrieved)"
    return None


def question_key(question: str) -> str:
    """The question normalised for grouping and the leakage check: case, width, spacing and
    punctuation do not make two questions different."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
