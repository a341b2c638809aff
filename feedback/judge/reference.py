"""A judge that needs no language model: the answer's similarity to the reference answer, checked
by the grounding check. Labelled ``reference-similarity`` wherever its scores are stored.

The local model that runs out of the box (SmolLM2-135M) does not keep the judge's reply form and
cannot grade: its replies had no usable score (bench/RESULTS.md, "Judge on the local model"). So
when no capable judge model is configured, answers are scored the way the pilot validated its
fine-tune (semantic similarity to reference answers, SPEC.md section 8), with the grounding check
the chat already runs:

* **With a reference** (the SME's reference answer, else the user's better answer): the cosine
  similarity of the answer and the reference (sentence embeddings), times 5. Numbers and codes
  matter more than wording (the judge prompt says they "must match exactly"), so the score is
  held at ``MISMATCH_CAP`` when a number or code of the reference is missing from the answer or
  the answer holds one that neither the passages nor the question contain.
* **Without a reference**: how much of the answer the passages support, times 5 (the share of its
  sentences that a passage supports), held at ``MISMATCH_CAP`` when it holds an unsupported
  number or code. Such a verdict lists ``no_reference`` among its issues. An answer that says
  the documents do not answer gets no score without a reference: only a person can tell whether
  they do.

The figures behind each score are stored as the verdict's ``thinking`` and summed up in its
``reason``, so an SME sees why. This package never imports the embedder or the grounding check:
the composition root hands them in as ``ReferenceEvidence``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from feedback.judge.prompt import reference_answer
from feedback.judge.runner import Judge
from feedback.records import Interaction, JudgeScore
from feedback.stores.base import FeedbackStore

REFERENCE_JUDGE = "reference-similarity"
"""The ``judge_model`` of every verdict this judge stores."""
REFERENCE_PROMPT_VERSION = "reference-similarity-2026-12-07.1"
"""Stored as the verdict's ``prompt_version``: the method's version (change it with the rules)."""
MISMATCH_CAP = 2.0


@dataclass(frozen=True)
class Grounded:
    """What the grounding check found in an answer: ``supported`` of its ``sentences`` have a
    supporting passage sentence; ``unsupported`` are its numbers and codes found in no passage."""

    sentences: int
    supported: int
    unsupported: list[str] = field(default_factory=list)


class ReferenceEvidence(Protocol):
    """The measurements the reference judge needs, given by the composition root."""

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of the two texts' embeddings, -1.0 to 1.0."""
        ...

    def grounding(self, interaction: Interaction) -> Grounded:
        """The grounding check of the interaction's answer against its passages."""
        ...

    def identifiers(self, text: str) -> set[str]:
        """The numbers and codes in ``text``, normalised so that equal ones compare equal."""
        ...


class _NoModel:
    model_id = REFERENCE_JUDGE
    max_concurrency = 4

    def complete(self, messages) -> str:  # pragma: no cover - never called: grade is replaced
        raise NotImplementedError("the reference judge asks no model")


class ReferenceJudge(Judge):
    """A ``Judge`` whose grading is ``score`` (see the module docstring); runs, resuming, storing
    and the background worker are the ``Judge``'s own."""

    def __init__(self, store: FeedbackStore, evidence: ReferenceEvidence, **kwargs) -> None:
        kwargs.setdefault("concurrency", 1)  # cheap, and the embedder runs one batch at a time anyway
        super().__init__(store, _NoModel(), **kwargs)
        self.evidence = evidence

    def grade(self, interaction: Interaction, *, stop: threading.Event | None = None) -> JudgeScore:
        """The verdict on one interaction; stores nothing. Never asks a model."""
        score, reason, thinking, issues = self.score(interaction)
        return JudgeScore(
            score=score,
            reason=reason,
            thinking=thinking,
            judge_model=REFERENCE_JUDGE,
            raw=thinking,
            prompt_version=REFERENCE_PROMPT_VERSION,
            issues=issues,
        )

    def score(self, interaction: Interaction) -> tuple[float | None, str, str, list[str]]:
        """(score, reason, the figures behind it, issues) for one interaction."""
        answer = interaction.answer.strip()
        if not answer:
            return None, "The answer is empty.", "empty answer", ["empty_reply"]
        reference = reference_answer(interaction)
        grounded = self.evidence.grounding(interaction)
        unsupported = list(dict.fromkeys(grounded.unsupported))
        if reference is not None:
            text, who = reference
            similarity = max(0.0, min(1.0, self.evidence.similarity(answer, text)))
            score = 5.0 * similarity
            missing = sorted(self.evidence.identifiers(text) - self.evidence.identifiers(answer))
            facts = [f"similarity to the reference answer ({who}): {similarity:.2f}"]
            why = [f"The answer is {similarity:.0%} similar to the reference answer"]
            if missing:
                facts.append(f"numbers or codes of the reference missing from the answer: {', '.join(missing)}")
                why.append(f"it lacks {', '.join(missing[:5])} from the reference")
            if unsupported:
                facts.append(f"numbers or codes in no passage: {', '.join(unsupported)}")
                why.append(f"{', '.join(unsupported[:5])} appear in none of the passages")
            if missing or unsupported:
                score = min(score, MISMATCH_CAP)
            issues: list[str] = []
        else:
            if not interaction.found:
                return (
                    None,
                    "No reference answer, and the answer says the documents do not answer: "
                    "only a person can tell whether they do.",
                    "no reference; a 'not found' answer",
                    ["no_reference"],
                )
            total = max(grounded.sentences, 1)
            share = grounded.supported / total
            score = 5.0 * share
            facts = [
                "no reference answer: grounding only",
                f"{grounded.supported} of {grounded.sentences} sentences supported by the passages",
            ]
            why = [
                f"No reference answer; {grounded.supported} of {grounded.sentences} sentences have support in the passages"
            ]
            if unsupported:
                facts.append(f"numbers or codes in no passage: {', '.join(unsupported)}")
                why.append(f"{', '.join(unsupported[:5])} appear in none of them")
                score = min(score, MISMATCH_CAP)
            issues = ["no_reference"]
        score = round(max(0.0, min(5.0, score)), 1)
        return score, f"{REFERENCE_JUDGE}: " + "; ".join(why) + ".", "\n".join(facts), issues
