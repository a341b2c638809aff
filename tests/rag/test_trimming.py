"""rag/trimming.py: which passages the model reads, and how much of each."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.trimming import ContextTrimmer, segments
from rag.records import Chunk, ScoredChunk
from rag.pipeline import to_citations

PARKING = (
    "21 01 13 Parking\n"
    "General requirements for pavements apply to all external areas of the site and are set out in\n"
    "section 21 01 10. The site provides 412 car parking spaces and 38 trailer positions. Car parking is\n"
    "split between the staff car park to the south of the office block and a visitor car park.\n"
    "Staff, standard 336\n"
    "Visitors 14\n"
    "Motorcycle parking: 12 spaces with ground anchors. Cycle parking: 60 covered stands within 50 m.\n"
    "Trailer positions shall be arranged in a single bank with nose-in parking and landing-leg pads."
)


def result(text: str, similarity: float | None, page: int = 1, source: str = "a.pdf") -> ScoredChunk:
    chunk = Chunk(id=f"{source}-{page}", source=source, folder="", page=page, text=text, doc_hash="h")
    return ScoredChunk(chunk=chunk, score=0.03, similarity=similarity, keyword_score=None if similarity else 4.0)


def test_a_long_passage_keeps_the_matching_sentence_and_marks_the_cuts():
    results = [result(PARKING, 0.6)]
    (read,) = ContextTrimmer(lead_chars=200).select(
        "How many car parking spaces are there?", to_citations(results), results
    )
    assert "The site provides 412 car parking spaces and 38 trailer positions." in read.text
    assert len(read.text) < len(PARKING) and "…" in read.text
    assert "landing-leg" not in read.text
    # PDF line wraps inside a sentence do not cut it.
    assert "Car parking is split between the staff car park" in " ".join(segments(PARKING))


def test_far_weaker_passages_are_dropped_but_numbers_stay_and_citations_keep_full_text():
    results = [
        result(PARKING, 0.60, page=1),
        result("Staff car parking spaces are marked in white.", 0.52, page=2),
        result("Sprinkler heads are spaced at most 3.0 m apart.", 0.20, page=3),
        result("Schedule DD-114 door hardware.", None, page=4),  # found by keyword alone
        result("Roof drainage is siphonic.", 0.10, page=5),
    ]
    citations = to_citations(results)
    read = ContextTrimmer(max_gap=0.15).select("car parking spaces", citations, results)
    assert [c.n for c in read] == [1, 2, 4]
    assert citations[0].text == PARKING, "the citations shown to the user are not changed"
    assert [c.n for c in ContextTrimmer(max_gap=0.15, min_passages=3).select("q", citations, results)] == [1, 2, 3, 4]
    assert len(ContextTrimmer(max_gap=None).select("q", citations, results)) == 5


def test_a_passage_repeating_one_already_read_is_dropped():
    results = [
        result(PARKING, 0.6, page=1),
        result("The site provides 412 car parking spaces and 38 trailer positions.", 0.55, page=2),
    ]
    read = ContextTrimmer(lead_chars=2000).select("car parking", to_citations(results), results)
    assert [c.n for c in read] == [1]


def test_mismatched_inputs_are_refused():
    results = [result(PARKING, 0.6)]
    with pytest.raises(ValueError, match="1 citations but 0 search results"):
        ContextTrimmer().select("q", to_citations(results), [])


@given(
    text=st.text(alphabet=st.sampled_from(list("abc XYZ 0123.,;:!?\n-")), max_size=2000),
    question=st.text(max_size=80),
    budget=st.integers(min_value=20, max_value=600),
)
def test_trimmed_text_is_made_of_the_passage_and_fits_the_budget(text, question, budget):
    results = [result(text or "x", 0.5)]
    (read,) = ContextTrimmer(max_chars=budget, lead_chars=budget, dedupe=False).select(
        question, to_citations(results), results
    )
    pieces = [p for p in read.text.replace("…", "\n").split("\n") if p.strip()]
    flat = " ".join((text or "x").split())
    assert all(" ".join(p.split()) in flat for p in pieces)
    assert len(read.text) <= max(budget, len(text or "x")) + 4
