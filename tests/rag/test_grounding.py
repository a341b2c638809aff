"""The grounding check on recorded answers: which numbers and codes no passage holds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.grounding import check, split_sentences, token_spans, tokens, unsupported_spans, unsupported_tokens
from rag.records import Citation

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


# Issue 25, rows 5 and 7: invented codes inside ranges and lists; list numbering.
DOORS = "Doors DD-101 to DD-112 are inbound; DD-105 is wider. The slab takes 113 kN and 105 kN point loads."


@pytest.mark.parametrize(
    ("answer", "invented"),
    [
        ("They are referenced DD-101 to DD-113.", ["DD-113"]),
        ("They are referenced DD-101 to 113.", ["DD-113"]),  # 113 is in a passage, as a load
        ("They are referenced DD-101–113.", ["DD-113"]),
        ("They are referenced DD-101..113.", ["DD-113"]),
        ("Doors DD-101, DD-105 and DD-113.", ["DD-113"]),
        ("Doors DD-101, 105 and 113.", ["DD-113"]),
        ("Doors DD-101 and 105 or 113 apply.", ["DD-113"]),
        ("Doors DD-101 to DD-112 are inbound.", []),
        ("Doors DD-101, 105 and 112 are inbound.", []),
    ],
)
def test_an_invented_code_inside_a_range_or_list_is_caught(answer, invented):
    assert unsupported_tokens(answer, [DOORS]) == invented


def test_a_passage_that_abbreviates_a_range_supports_its_end_both_ways():
    passage = "Doors DD-101 to 113 are inbound."
    assert tokens(passage) == ["DD-101", "DD-113"]
    assert unsupported_tokens("Door DD-113 is inbound; there are 113.", [passage]) == []


def test_a_quantity_after_a_code_is_not_read_as_another_code():
    passage = "Doors FD60, 90 minutes to evacuate; HEA06 and 30 mm gaps; DD-114, 32 m wide."
    assert tokens(passage) == ["FD60", "90", "HEA06", "30", "DD-114", "32"]
    assert tokens("Steps DD-114 to 12 apply") == ["DD-114", "12"]  # not a range: it would run backwards
    # Seen in real documents: a thousands group and a ratio, not members of a list.
    assert tokens("Class A180,000, Class B60,000; concrete C32/40") == ["A180", "000", "B60", "000", "C32", "40"]
    assert tokens("Point(2) = {-e1-e2, 0, h1, 0}; addLine(p2, 2)") == ["2", "e1-e2", "0", "h1", "0", "p2", "2"]


def test_list_numbering_is_not_checked_but_a_number_starting_a_line_is():
    items = ["Check the valve.", "Open the damper.", "Close the door.", "Log it.", "Test the alarm.",
             "Read the gauge.", "Seal the hatch.", "Sign the sheet.", "Clean up.", "Lock it.", "Report."]  # fmt: skip
    answer = "Steps:\n" + "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
    assert unsupported_tokens(answer, [" ".join(items)]) == []
    nested = "1. Doors:\n   1. DD-101\n   2. DD-105\n2. Loads\n   1) 113 kN"
    assert unsupported_tokens(nested, [DOORS]) == []
    assert unsupported_tokens("The total is\n412. That is all.", [DOORS]) == ["412"]
    assert unsupported_tokens("3. Then wait 7 days.", [DOORS]) == ["3", "7"]  # no list starts at 3


def test_a_passage_numbering_its_sections_supports_those_numbers():
    passage = "1. General\n2. Parking: 412 spaces."
    assert unsupported_tokens("Section 2 gives 412 spaces.", [passage]) == []


def test_only_whole_tokens_are_flagged_spans():
    answer = "There are 32 dock doors, 1.2 m wide, and 2 ramps [2]."
    spans = unsupported_spans(answer, ["2"])
    assert [(answer[s.start : s.end], s.start) for s in spans] == [("2", answer.index("2 ramps"))]


WORDS = st.text(alphabet=st.sampled_from("abcdefgh XYZ.,;:-/()%"), max_size=12)
ITEM = st.lists(st.one_of(WORDS, st.integers(0, 2000).map(str)), min_size=1, max_size=6).map(" ".join)


@given(st.lists(ITEM.map(str.strip).filter(bool), min_size=1, max_size=14))
def test_numbering_a_list_adds_nothing_to_check(items):
    answer = "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
    assert unsupported_tokens(answer, ["\n".join(items)]) == []
    assert tokens(answer) == tokens("\n".join(f"{' ' * len(str(i))}  {item}" for i, item in enumerate(items, 1)))


PREFIX = st.from_regex(r"[A-Z]{1,3}-?", fullmatch=True)


@given(PREFIX, st.integers(10, 899), st.integers(1, 99), st.sampled_from([" to ", "–", " - ", "..", " through "]))
def test_a_range_end_is_checked_as_the_code_it_names(prefix, start, length, joiner):
    end = start + length
    answer = f"Doors {prefix}{start}{joiner}{end} apply."
    # The end's bare number is in the passage, as a quantity: no evidence for the code.
    assert unsupported_tokens(answer, [f"{prefix}{start} has {end} kN."]) == [f"{prefix}{end}"]
    assert unsupported_tokens(answer, [f"{prefix}{start} and {prefix}{end}."]) == []


@given(PREFIX, st.lists(st.integers(100, 999), min_size=2, max_size=5, unique=True))
def test_every_member_of_a_list_is_checked_as_the_code_it_names(prefix, numbers):
    first, *rest = numbers
    members = ", ".join(map(str, rest[:-1]))
    answer = (
        f"Doors {prefix}{first}, {members} and {rest[-1]}." if members else f"Doors {prefix}{first} and {rest[-1]}."
    )
    bare = f"{prefix}{first} " + " ".join(f"{n} kN" for n in rest)  # the numbers, but not as codes
    assert unsupported_tokens(answer, [bare]) == [f"{prefix}{n}" for n in rest]


@given(st.text(max_size=200))
def test_spans_are_whole_tokens_in_order(text):
    spans = token_spans(text)
    assert [s.start for s in spans] == sorted(s.start for s in spans)
    for a, b in zip(spans, spans[1:]):
        assert a.end <= b.start
    for s in spans:
        assert s.end > s.start
        assert not (s.start > 0 and text[s.start - 1].isalnum()), (text, s)
        assert not (s.end < len(text) and (text[s.end].isalnum() or text[s.end] == "_")), (text, s)


def test_a_list_items_number_stays_with_its_item():
    assert split_sentences("Steps:\n1. Open the valve. Wait.\n2. Close it.\n412.\nDone.") == [
        "Steps:", "1. Open the valve.", "Wait.", "2. Close it.", "412.", "Done.",
    ]  # fmt: skip
