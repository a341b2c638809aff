"""Records that must not teach the model: stopped fragments and served verified answers (training.labels)."""

from feedback.records import Feedback, ServedVerified
from tests.feedback.contract import make
from training.labels import eligibility


def test_stopped_fragments_and_served_verified_answers_are_left_out_with_the_reason():
    rated = make("a", feedback=Feedback(rating=5), context="[1] (a.pdf – page 3)\nParking: 412 spaces.")
    assert eligibility(rated) is None
    assert "stopped" in eligibility(rated.model_copy(update={"stopped": True}))
    served = rated.model_copy(update={"verified": ServedVerified(id="v1", question="q?", similarity=0.9)})
    assert "verified" in eligibility(served)
