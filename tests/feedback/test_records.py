from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from feedback.records import LIKERT_LABELS, MAX_CORRECTION_CHARS, MAX_NOTE_CHARS, Feedback, Interaction, JudgeScore
from tests.feedback.contract import make


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_rating_out_of_range_is_rejected(rating):
    with pytest.raises(ValidationError, match="rating"):
        Feedback(rating=rating)


@pytest.mark.parametrize(
    ("rating", "label", "negative"),
    [
        (1, "Strongly disagree", True),
        (2, "Disagree", True),
        (3, "Neutral", False),
        (4, "Agree", False),
        (5, "Strongly agree", False),
    ],
)
def test_label_for_each_level(rating, label, negative):
    feedback = Feedback(rating=rating)
    assert feedback.label == label == LIKERT_LABELS[rating]
    assert feedback.negative is negative
    assert feedback.model_dump()["label"] == label


def test_oversized_note_is_rejected():
    Feedback(rating=3, note="n" * MAX_NOTE_CHARS)
    with pytest.raises(ValidationError, match="note"):
        Feedback(rating=3, note="n" * (MAX_NOTE_CHARS + 1))


def test_oversized_correction_is_rejected():
    Feedback(rating=1, correction="c" * MAX_CORRECTION_CHARS)
    with pytest.raises(ValidationError, match="correction"):
        Feedback(rating=1, correction="c" * (MAX_CORRECTION_CHARS + 1))


@pytest.mark.parametrize("blank", ["", "   ", "\n\t "])
def test_blank_correction_and_note_become_none(blank):
    feedback = Feedback(rating=2, correction=blank, note=blank)
    assert feedback.correction is None and feedback.note is None


def test_correction_keeps_its_text():
    assert Feedback(rating=2, correction="  Use 25 kN/m2.  ").correction == "Use 25 kN/m2."


def test_utc_timestamps_by_default():
    feedback = Feedback(rating=3)
    assert feedback.updated_at.utcoffset() == timedelta(0)


def test_judge_score_range():
    assert JudgeScore(score=None, judge_model="j").score is None
    for bad in (-0.1, 5.1):
        with pytest.raises(ValidationError, match="score"):
            JudgeScore(score=bad, judge_model="j")


def test_interaction_json_roundtrip_with_computed_label():
    # Stores keep model_dump_json(); the computed "label" in it must not break reading it back.
    record = make("a", sources=("b.pdf", "a.pdf", "b.pdf")).model_copy(
        update={"feedback": Feedback(rating=4, note="ok")}
    )
    back = Interaction.model_validate_json(record.model_dump_json())
    assert back == record
    assert back.sources == ["a.pdf", "b.pdf"]
    assert back.review.status == "unreviewed"


def test_turn_starts_at_one():
    with pytest.raises(ValidationError, match="turn"):
        make("a", turn=0)


def test_ids_are_generated_and_distinct():
    a = Interaction(
        session_id="s", user="u", role="engineer", turn=1, question="q", answer="a", model_id="m", prompt_version="v"
    )
    b = Interaction(
        session_id="s", user="u", role="engineer", turn=1, question="q", answer="a", model_id="m", prompt_version="v"
    )
    assert a.id != b.id and len(a.id) == 32
