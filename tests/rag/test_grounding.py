"""The grounding check on recorded answers: which numbers and codes no passage holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rag.grounding import check, split_sentences, tokens, unsupported_tokens
from rag.models import Citation

PASSAGE = (
    "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions; doors FD60, load 1,250 kN."
)


def test_tokens_are_numbers_codes_and_section_runs_not_markers():
    assert tokens("412 spaces [1], section 21 01 13, FD60 doors, DD-114, 2.5 m, 1,250 kN") == [
        "412", "21 01 13", "FD60", "DD-114", "2.5", "1,250",
    ]  # fmt: skip


def test_numbers_written_otherwise_still_match_and_invented_ones_do_not():
    answer = "There are 412 spaces and 38 trailers in 21 01 13 (FD60 doors, 1250 kN); also 100 cars, code FD90."
    assert unsupported_tokens(answer, [PASSAGE]) == ["100", "FD90"]
    assert unsupported_tokens("It is 412 [1].", [PASSAGE]) == []
    assert unsupported_tokens(
        "Section 99 00 00 applies.",
        [PASSAGE],
    ) == ["99 00 00"]


def test_a_number_from_the_question_is_not_an_invention():
    result = check(
        "Yes, 21 01 13 says 412.",
        "What does 21 01 13 say?",
        [Citation(n=1, source="a.pdf", page=1, chunk_id="c", score=1.0, text=PASSAGE)],
        None,
    )
    assert result.unsupported == []


def test_what_the_model_copied_from_a_passage_label_is_not_an_invention():
    # A real answer of the local model: it repeated the passage's header, file name and page.
    source = "ARS GEN 10.0/05.01.02 Design Criteria/Performance Criteria v20.1.1.pdf"
    answer = f"The document states:\n\n[1] ({source} – page 11)\nThe site provides 412 car parking spaces; 792 in all."
    citation = Citation(n=1, source=source, page=11, chunk_id="c", score=1.0, text=PASSAGE)
    assert check(answer, "How many parking spaces?", [citation], None).unsupported == ["792"]


def test_without_passages_every_sentence_is_unsupported():
    result = check("There are 5 bays. They are wide.", "bays?", [], None)
    assert result.unsupported == ["5"] and [s.citation for s in result.sentences] == [None, None]


def test_sentences_split_on_ends_not_on_decimals():
    assert split_sentences("It is 2.5 m wide. The site has 412 spaces [1]. Trailers: 38.\nDone") == [
        "It is 2.5 m wide.", "The site has 412 spaces [1].", "Trailers: 38.", "Done",
    ]  # fmt: skip


@given(st.text(max_size=300))
def test_any_text_is_checked_without_crashing_and_its_own_numbers_are_supported(text):
    assert unsupported_tokens(text, [text]) == []
    assert set(unsupported_tokens(text, [])) <= {t for t in tokens(text)} | {t.lower() for t in tokens(text)} | {
        t.replace(",", "") for t in tokens(text)
    }
