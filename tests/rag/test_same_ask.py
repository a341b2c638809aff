"""The checks that tell a near miss from a paraphrase (rag.same_ask)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.same_ask import codes, differences, names

SAME = [
    ("What is the minimum clear height?", "What's the smallest clear height allowed?"),
    ("ExxonMobil net income for the second quarter of 2024", "ExxonMobil's net income in Q2 2024"),
    ("How do I increase the font size?", "How can the font size be increased?"),
    ("Which routine reads a problem from an MPS file?", "What routine do I call to read an MPS file problem?"),
    ("What does section 21 01 13 say about parking?", "Section 21 01 13: what does it say on parking?"),
    ("May I park trucks there?", "Can trucks be parked there?"),
    ("Default off resistance ROFF of the voltage controlled switch", "What is ROFF's default for the switch?"),
    ("referenced DD-101 to DD-113", "references dd_101 through DD-0113"),
]
APART = [
    ("What is the minimum clear height?", "What is the maximum clear height?", "opposite"),
    ("What is the clear height?", "What is the minimum clear height?", "narrower"),
    ("Which routine reads a problem from an MPS file?", "Which routine writes a problem to an MPS file?", "opposite"),
    ("What does section 21 01 13 say about parking?", "What does section 21 01 14 say about parking?", "numbers"),
    ("Apple's net sales in the 10-Q for Q1 2024", "Amazon's net sales in the 10-Q for Q1 2024", "names"),
    ("Apple's net sales in the 10-Q for Q1 2024", "Apple's net sales in the 10-K for 2024", "numbers"),
    ("Net sales in the quarter ended June 29, 2024", "Net sales in the quarter ended March 30, 2024", "names"),
    ("Which GLPK routine is not thread safe?", "Which GLPK routine is thread safe?", "negated"),
    ("Which GLPK routines don't need a license?", "Which GLPK routines need a license?", "negated"),
    ("What is the width of a parking space?", "What is the length of a parking space?", "measures"),
    ("What is the gross margin?", "What is the net margin?", "opposite"),
]


@pytest.mark.parametrize(("new", "original"), SAME)
def test_paraphrases_show_no_difference(new, original):
    assert differences(new, original) == []
    assert differences(original, new) == []


@pytest.mark.parametrize(("new", "original", "why"), APART)
def test_near_misses_are_told_apart_with_the_reason(new, original, why):
    found = differences(new, original)
    assert found and why in " ".join(found)
    assert differences(original, new)


def test_codes_are_normalised_and_periods_spelled_as_codes():
    assert codes("section 21 01 13, DD-0113, 10-Q") == {"21", "1", "13", "dd-113", "10-q"}
    assert codes("the second quarter of 2024") == codes("Q2 2024") == {"q2", "2024"}
    assert codes("issue 04") == codes("issue 4")
    assert codes("1.2e+12 ohms, 0.05 V") == {"1.2e+12", "0.05"}


def test_names_skip_the_first_word_and_common_words_but_keep_acronyms_and_months():
    assert names("What is GLPK's default for Apple in June?") == {"glpk", "apple", "june"}
    assert names("May I park there?") == set()


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120)


@given(text)
def test_a_question_never_differs_from_itself(question):
    assert differences(question, question) == []


@given(text, text)
def test_the_verdict_is_the_same_both_ways(a, b):
    assert bool(differences(a, b)) == bool(differences(b, a))


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_two_numbers_ask_the_same_only_when_equal(n, m):
    assert (differences(f"What is in section {n}?", f"What is in section {m}?") == []) == (n == m)


def test_with_the_answer_a_swapped_word_the_answer_is_about_sets_them_apart():
    original, answer = "How many car parking spaces does the site have?", "The site has 412 car parking spaces."
    assert differences("How many truck parking spaces does the site have?", original) == []
    assert "car" in differences("How many truck parking spaces does the site have?", original, answer)[0]
    assert differences("How many car parking spaces are there on the site?", original, answer) == []
    # Inflections and hyphens do not count as leaving a word out.
    assert (
        differences(
            "How many people were employed at year end?",
            "How many employees at year-end?",
            "12,000 employees at year-end.",
        )
        == []
    )
