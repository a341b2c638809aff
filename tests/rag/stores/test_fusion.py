from hypothesis import given
from hypothesis import strategies as st

import pytest

from rag.stores.fusion import (
    FusionWeights,
    PerQueryFusion,
    RankFusion,
    ScoreFusion,
    fuse,
    has_identifier,
    keyword_weight,
)


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


ALL_FUSIONS = [
    PerQueryFusion(),
    RankFusion(),
    RankFusion(k=10, keyword_weight=0.7),
    ScoreFusion("minmax"),
    ScoreFusion("zscore", keyword_weight=0.3),
]


def test_rank_fusion_adds_each_sides_reciprocal_rank():
    # vector list: a, b; keyword list (by BM25): c, b
    raw = RankFusion(k=60).scores("q", [0.9, 0.8, 0.1], [None, 5.0, 9.0], [0, 1, None])
    assert raw == pytest.approx([0.5 / 61, 0.5 / 62 + 0.5 / 62, 0.5 / 61])
    fused = fuse("q", [0.9, 0.8, 0.1], [None, 5.0, 9.0], RankFusion(k=60), [0, 1, None])
    assert max(range(3), key=fused.__getitem__) == 1, "the passage both sides returned comes first"
    assert fused[0] == pytest.approx(fused[2]), "scores do not count, only ranks"


def test_rank_fusion_weighs_the_sides():
    sims, kws, ranks = [0.9, 0.1], [None, 3.0], [0, None]
    assert fuse("q", sims, kws, RankFusion(keyword_weight=0.8), ranks)[1] == 1.0
    assert fuse("q", sims, kws, RankFusion(keyword_weight=0.2), ranks)[0] == 1.0


def test_without_vector_ranks_the_candidates_rank_by_similarity():
    order = sorted(range(3), key=fuse("q", [0.2, 0.9, 0.5], [None] * 3, RankFusion()).__getitem__, reverse=True)
    assert order == [1, 2, 0]


def test_score_fusion_counts_a_candidate_bm25_missed_as_its_least():
    sims, kws = [0.5, 0.5, 0.5], [None, 2.0, 8.0]
    for normalize in ("minmax", "zscore"):
        raw = ScoreFusion(normalize, keyword_weight=0.5).scores("q", sims, kws, [0, 1, 2])
        assert raw[0] == pytest.approx(raw[1]) and raw[2] > raw[1]


@pytest.mark.parametrize("normalize", ["minmax", "zscore"])
def test_score_fusion_does_not_depend_on_each_sides_scale(normalize):
    sims, kws = [0.61, 0.58, 0.40, 0.39], [7.0, None, 11.0, 2.0]
    fusion = ScoreFusion(normalize, keyword_weight=0.4)
    base = fuse("q", sims, kws, fusion)
    assert fuse("q", [s * 0.5 + 0.1 for s in sims], [None if k is None else 10 * k for k in kws], fusion) == (
        pytest.approx(base)
    )


def test_convex_weight_picks_the_side():
    sims, kws = [0.9, 0.2], [1.0, 9.0]
    assert fuse("q", sims, kws, ScoreFusion(keyword_weight=0.0))[0] == 1.0
    assert fuse("q", sims, kws, ScoreFusion(keyword_weight=1.0))[1] == 1.0


def test_mismatched_candidate_lists_are_refused():
    with pytest.raises(ValueError, match="1, 2 and 1"):
        fuse("q", [0.5], [1.0, 2.0], RankFusion(), [0])


def test_weights_alone_mean_the_per_query_fusion():
    sims, kws = [0.62, 0.60, 0.55], [None, 1.0, 12.0]
    assert fuse("ROFF default", sims, kws, FusionWeights(base=0.2)) == fuse(
        "ROFF default", sims, kws, PerQueryFusion(FusionWeights(base=0.2))
    )


@pytest.mark.parametrize("fusion", ALL_FUSIONS, ids=repr)
@given(
    pairs=st.lists(st.tuples(st.floats(-1, 1), st.one_of(st.none(), st.floats(0, 100))), min_size=1, max_size=60),
    query=st.text(max_size=50),
)
def test_every_fusion_scores_between_0_and_1(fusion, pairs, query):
    sims, kws = [p[0] for p in pairs], [p[1] for p in pairs]
    scores = fuse(query, sims, kws, fusion)
    assert len(scores) == len(pairs) and all(0.0 <= s <= 1.0 + 1e-9 for s in scores)
