from hypothesis import given
from hypothesis import strategies as st

from rag.stores.fusion import FusionWeights, fuse, has_identifier, keyword_weight


def test_identifiers_are_codes_numbers_and_capitalised_names():
    assert has_identifier("What is the default of BV?")
    assert has_identifier("section 21 01 13 parking")
    assert has_identifier("FP-300 density")
    assert not has_identifier("how do I sweep a resistor value")


def test_keyword_side_counts_more_for_identifiers_and_a_clear_bm25_winner():
    w = FusionWeights()
    flat = [0.5, 0.49, 0.48, 0.47]
    assert keyword_weight("default of BV", flat, [5.0, 4.9, 4.8], w) > keyword_weight(
        "breakdown voltage", flat, [5.0, 4.9, 4.8], w
    )
    assert keyword_weight("breakdown voltage", flat, [9.0, 2.0, 1.9], w) > keyword_weight(
        "breakdown voltage", flat, [5.0, 4.9, 4.8], w
    )
    # and less when the vector side has the clear winner
    assert keyword_weight("breakdown voltage", [0.9, 0.3, 0.29], [5.0, 4.9, 4.8], w) < w.base


def test_a_passage_only_bm25_found_can_win_when_it_stands_out():
    # candidate 2 is a near-miss for the vector side but the only strong keyword match
    scores = fuse("ROFF default", [0.62, 0.60, 0.55], [None, 1.0, 12.0])
    assert max(range(3), key=scores.__getitem__) == 2


@given(
    st.lists(st.tuples(st.floats(-1, 1), st.one_of(st.none(), st.floats(0, 100))), min_size=1, max_size=60),
    st.text(max_size=50),
)
def test_fused_scores_stay_between_0_and_1(pairs, query):
    sims, kws = [p[0] for p in pairs], [p[1] for p in pairs]
    scores = fuse(query, sims, kws)
    assert len(scores) == len(pairs) and all(0.0 <= s <= 1.0 + 1e-9 for s in scores)
