"""Realistic feedback records for the training tests, and the real tokenizer of the local model.

The passages are sentences of the sample corpus (samples/warehouse-standards), formatted by the
app's own ``format_passages``, so a record's ``context`` is what the answer model saw.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedback.records import CitationRecord, Feedback, Interaction, JudgeScore, Review
from rag.records import Citation
from rag.prompts import PROMPT_VERSION, format_passages

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CRITERIA = "ARS GEN 10.0/05.01.02 Design Criteria/Performance Package Design Criteria v20.1.1.pdf"
PASSAGES = [
    (CRITERIA, 12, "The site provides 412 car parking spaces and 38 trailer positions in the marshalling yard."),
    (CRITERIA, 11, "Car parking bays shall be a minimum of 2.5 m wide by 5.0 m long."),
    (CRITERIA, 6, "The warehouse has 32 dock doors with levellers on the north elevation."),
    (CRITERIA, 3, "The ground slab shall be designed for a uniformly distributed load of 50 kN/m2."),
]


def citations(*pages: int, text_times: int = 1) -> list[Citation]:
    """The passages of the given sample pages, numbered as the pipeline numbers them."""
    chosen = [p for p in PASSAGES if p[1] in pages] or PASSAGES
    return [
        Citation(
            n=i, source=src, page=page, chunk_id=f"chunk-{page}", score=0.8 - i / 10, text=" ".join([text] * text_times)
        )
        for i, (src, page, text) in enumerate(chosen, start=1)
    ]


def record(
    rid: str,
    question: str,
    answer: str,
    *,
    session: str | None = None,
    turn: int = 1,
    pages: tuple[int, ...] = (12, 11),
    rating: int | None = None,
    correction: str | None = None,
    reference: str | None = None,
    status: str = "unreviewed",
    sme_score: float | None = None,
    judge: float | None = None,
    origin: str = "user",
    context: str | None = None,
    text_times: int = 1,
    user: str = "ana@example.com",
) -> Interaction:
    """One answered question as the chat records it, with whatever feedback, judge score and
    review the test gives it."""
    cites = citations(*pages, text_times=text_times)
    minutes = sum(map(ord, rid)) % 1000
    return Interaction(
        id=rid,
        session_id=session or f"s-{rid}",
        user=user,
        role="engineer",
        created_at=T0 + timedelta(minutes=minutes),
        updated_at=T0 + timedelta(minutes=minutes),
        turn=turn,
        question=question,
        answer=answer,
        citations=[CitationRecord(**c.model_dump()) for c in cites],
        context=format_passages(cites) if context is None else context,
        model_id="SmolLM2-135M-Instruct",
        prompt_version=PROMPT_VERSION,
        latency_ms=900,
        feedback=Feedback(rating=rating, correction=correction) if rating is not None else None,
        judge=JudgeScore(score=judge, judge_model="judge-test", reason="r") if judge is not None else None,
        review=Review(
            status=status,
            reviewer="sme@example.com" if status != "unreviewed" else None,
            reference_answer=reference,
            reviewed_at=T0 + timedelta(days=1) if status != "unreviewed" else None,
            sme_score=sme_score,
        ),
        origin=origin,
    )


QUESTIONS = [
    (
        "How many cars can we park on site?",
        "The site provides 412 car parking spaces [1].",
        "There are 120 car spaces.",
        (12,),
    ),
    (
        "How many trailers can the marshalling yard hold?",
        "It holds 38 trailer positions [1].",
        "The yard holds 120 bicycles.",
        (12,),
    ),
    ("What is the minimum size of a car parking bay?", "2.5 m wide by 5.0 m long [1].", "3 m by 6 m.", (11,)),
    (
        "How many loading bays with levellers does the warehouse have?",
        "32 dock doors with levellers [1].",
        "12 doors.",
        (6,),
    ),
    (
        "What floor loading should the ground slab take?",
        "A uniformly distributed load of 50 kN/m2 [1].",
        "25 kN/m2.",
        (3,),
    ),
]


def feedback_set() -> list[Interaction]:
    """Twenty records over twelve conversations: right answers rated 4-5, wrong ones rated 1-2 with
    corrections, SME references, judge scores, a rejected review, a follow-up turn, unlabelled
    answers and synthetic records (one validated, one not)."""
    out: list[Interaction] = []
    for i, (q, right, wrong, pages) in enumerate(QUESTIONS):
        out.append(record(f"r{i}a", q, right, pages=pages, rating=5, session=f"conv-{i}a"))
        out.append(record(f"r{i}b", q.lower(), wrong, pages=pages, rating=2, correction=right, session=f"conv-{i}b"))
        out.append(record(f"r{i}c", f"Quick question: {q}", wrong, pages=pages, judge=1.5, session=f"conv-{i}c"))
    out.append(
        record(
            "ref",
            QUESTIONS[0][0] + " Please check.",
            "I do not know.",
            pages=(12,),
            status="rejected",
            sme_score=1.0,
            reference="412 car parking spaces [1].",
            session="conv-r",
        )
    )
    out.append(record("judged", "What is the slab load?", "50 kN/m2 [1].", pages=(3,), judge=4.5, session="conv-j"))
    out.append(
        record(
            "follow", "And the trailers?", "38 trailer positions [1].", pages=(12,), rating=4, session="conv-0a", turn=2
        )
    )
    out.append(record("plain", "Where is the site?", "The site is in the documents [1].", session="conv-p"))
    out.append(
        record(
            "syn-ok",
            "How many car parking spaces does the site provide?",
            "412 car parking spaces [1].",
            pages=(12,),
            origin="synthetic",
            status="validated",
            session="synth-1",
        )
    )
    out.append(
        record(
            "syn-new",
            "What is the trailer count?",
            "38 trailer positions [1].",
            pages=(12,),
            origin="synthetic",
            session="synth-2",
        )
    )
    return out


@pytest.fixture(scope="session")
def tokenizer(local_model_dir):
    """The local SmolLM2's own tokenizer and chat template (no model weights loaded)."""
    from training.tokens import load_tokenizer

    return load_tokenizer(str(local_model_dir), local_model_dir.parent)


@pytest.fixture
def dataset(tmp_path):
    """A dataset folder of the shape ``ragbot train dataset`` writes, for the trainers' tests."""
    from tests.training.trainer_data import build_dataset

    return build_dataset(tmp_path / "data")
