"""Passages endorsed for questions like this one gain a bounded, decaying boost (rag.passage_feedback)."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.records import Chunk, ScoredChunk
from rag.passage_feedback import Endorsement, PassageFeedback

NOW = datetime(2026, 12, 7, tzinfo=UTC)


class Vectors:
    """Questions at given angles from the first axis: cos(angle) is their similarity to "q0"."""

    dimension = 2

    def __init__(self):
        self.angles = {}

    def vector(self, question):
        angle = self.angles[question]
        return np.array([math.cos(angle), math.sin(angle)], dtype=np.float32)

    def embed_documents(self, texts):
        return np.stack([self.vector(t) for t in texts])

    def embed_query(self, text):
        return self.vector(text)


def at_similarity(vectors, question, similarity):
    vectors.angles[question] = math.acos(similarity)
    return question


def feedback(vectors, entries, **kwargs):
    return PassageFeedback(vectors, lambda: entries, today=lambda: NOW, **kwargs)


def hit(chunk_id, score):
    chunk = Chunk(id=chunk_id, source="a.pdf", folder="", page=1, text=chunk_id, doc_hash="h")
    return ScoredChunk(chunk=chunk, score=score)


def test_one_rating_moves_a_passage_by_a_bounded_amount_and_many_saturate():
    v = Vectors()
    q0 = at_similarity(v, "q0", 1.0)
    one = feedback(v, [Endorsement(q0, "c", 1, NOW)])
    assert one.boosts(v.vector(q0)) == pytest.approx({"c": 0.1 * math.tanh(1 / 3)})
    many = feedback(v, [Endorsement(q0, "c", 1, NOW)] * 50 + [Endorsement(q0, "d", -1, NOW)] * 50)
    boosts = many.boosts(v.vector(q0))
    assert 0.099 < boosts["c"] <= 0.1 and -0.1 <= boosts["d"] < -0.099
    # One rating cannot carry a passage over a neighbour 0.04 above it.
    assert [r.chunk.id for r in one.adjust(v.vector(q0), [hit("b", 0.80), hit("c", 0.76)])] == ["b", "c"]
    assert [r.chunk.id for r in many.adjust(v.vector(q0), [hit("b", 0.80), hit("c", 0.76)])] == ["c", "b"]


def test_feedback_decays_with_age_and_never_reaches_far_questions():
    v = Vectors()
    q0 = at_similarity(v, "q0", 1.0)
    old = feedback(v, [Endorsement(q0, "c", 1, NOW - timedelta(days=180))])
    assert old.boosts(v.vector(q0))["c"] == pytest.approx(0.1 * math.tanh(0.5 / 3))
    far = at_similarity(v, "far", 0.74)
    near = at_similarity(v, "near", 0.875)
    for entries in ([Endorsement(far, "c", 1, NOW)], [Endorsement(near, "c", 1, NOW)]):
        fb = feedback(v, entries, min_similarity=0.75)
        boosts = fb.boosts(v.vector(q0))
        if entries[0].question == "far":
            assert boosts == {}
        else:  # halfway between the threshold and identical: half the weight
            assert boosts["c"] == pytest.approx(0.1 * math.tanh(0.5 / 3), rel=1e-3)


def test_only_the_candidates_are_rescored_and_nothing_without_a_query_vector():
    v = Vectors()
    q0 = at_similarity(v, "q0", 1.0)
    fb = feedback(v, [Endorsement(q0, "elsewhere", 1, NOW)] * 10)
    results = [hit("a", 0.9), hit("b", 0.5)]
    assert fb.adjust(v.vector(q0), results) == results
    assert fb.adjust(None, results) == results


def test_a_store_that_cannot_be_read_leaves_search_alone():
    v = Vectors()
    at_similarity(v, "q0", 1.0)

    def broken():
        raise OSError("the feedback store is down")

    fb = PassageFeedback(v, broken)
    assert fb.adjust(v.vector("q0"), [hit("a", 0.5)]) == [hit("a", 0.5)]


def test_settings_out_of_range_are_refused():
    with pytest.raises(ValueError):
        PassageFeedback(Vectors(), list, max_boost=2.0)
    with pytest.raises(ValueError):
        PassageFeedback(Vectors(), list, half_life_days=0)


@given(
    st.lists(
        st.tuples(
            st.floats(-1.0, 1.0),  # similarity of the rated question to this one
            st.sampled_from([1, -1]),
            st.integers(0, 5000),  # age in days
            st.sampled_from(["a", "b", "c"]),
        ),
        max_size=40,
    ),
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.99),
)
def test_boosts_stay_within_the_bound_and_far_ratings_count_for_nothing(ratings, max_boost, min_similarity):
    v = Vectors()
    at_similarity(v, "q0", 1.0)
    entries = [
        Endorsement(at_similarity(v, f"q{i + 1}", s), chunk, sign, NOW - timedelta(days=age))
        for i, (s, sign, age, chunk) in enumerate(ratings)
    ]
    boosts = feedback(v, entries, max_boost=max_boost, min_similarity=min_similarity).boosts(v.vector("q0"))
    assert all(abs(b) <= max_boost + 1e-9 for b in boosts.values())
    near = {chunk for (s, _, _, chunk) in ratings if s > min_similarity - 1e-6}
    assert set(boosts) <= near
