"""The repeated-sentence stop: a reply that loops ends at its first repeat, without the repeat."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.generators.repetition import RepetitionGuard, stop_repeats


def pieces(text: str, size: int = 3) -> list[str]:
    """The text cut as a tokenizer might stream it: small pieces, spaces kept."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def run(text: str, **kw) -> tuple[str, RepetitionGuard]:
    guard = RepetitionGuard(**kw)
    shown = "".join(stop_repeats(pieces(text), guard))
    return shown, guard


# What SmolLM2-135M wrote on the GLPK manual (issue 28), shortened to three of its nine copies.
GLPK_LOOP = (
    "To install a hook that intercepts terminal output, call glp_term_hook [1]. "
    "The routine glp_term_hook installs a user-defined hook routine. "
    "The routine glp_term_hook installs a user-defined hook routine. "
    "The routine glp_term_hook installs a user-defined hook routine. "
    "The routine glp_term_hook installs"
)


def test_the_glpk_loop_stops_after_its_first_sentence_and_the_repeats_are_not_shown():
    shown, guard = run(GLPK_LOOP)
    expected = (
        "To install a hook that intercepts terminal output, call glp_term_hook [1]. "
        "The routine glp_term_hook installs a user-defined hook routine."
    )
    assert guard.stopped
    assert guard.text == expected
    assert shown.strip() == expected
    assert guard.repeated.startswith("The routine glp_term_hook installs a user-defined hook routine.")


def test_an_answer_without_repeats_streams_whole():
    text = (
        "The sprinkler storage tank has an effective capacity of 950 m3 [1]. "
        "The fire pump delivers 20 l/s at 7 bar [2].\n"
        "1. Test the pump weekly.\n2. Test the alarm monthly."
    )
    shown, guard = run(text)
    assert not guard.stopped
    assert shown == text == guard.text


def test_numbers_copied_from_the_passages_are_not_a_repeat():
    # The same number, unit and passage marker in two different sentences is what a grounded
    # answer does; only a sentence that says the same thing again is a loop.
    text = "The tank holds 950 m3 [1]. Its effective capacity is 950 m3 [1]. The pump draws from the 950 m3 tank."
    shown, guard = run(text)
    assert not guard.stopped and shown == text


def test_a_short_sentence_may_come_twice():
    text = "Yes [1]. The clear height is 12 m. Yes [2]."
    shown, guard = run(text)
    assert not guard.stopped and shown == text


def test_repeats_differing_only_in_case_markers_and_numbering_are_repeats():
    text = "1. Use glp_term_hook to install it [1].\n2. use GLP_TERM_HOOK to install it [2]!\n3. Use"
    shown, guard = run(text)
    assert guard.stopped
    assert guard.text == "1. Use glp_term_hook to install it [1]."
    assert "2." not in shown  # the next item's number is held until its words show what it leads


def test_a_loop_that_never_ends_a_sentence_is_cut_by_the_ngram_rule():
    shown, guard = run("the hook " * 40)
    assert guard.stopped
    assert guard.text == "the hook"


def test_the_ngram_rule_can_be_turned_off():
    _, guard = run("word " * 40, ngram=0)
    assert not guard.stopped


def test_a_repeat_as_the_very_last_sentence_is_dropped_at_the_end_of_the_stream():
    text = "Call glp_term_hook to install the hook. Call glp_term_hook to install the hook."
    shown, guard = run(text)
    assert guard.stopped
    assert shown.rstrip() == guard.text == "Call glp_term_hook to install the hook."


def test_a_sentence_that_starts_like_an_earlier_one_and_goes_on_differently_is_shown_in_full():
    text = "The tank is filled from the mains. The tank is inspected every year by the insurer."
    shown, guard = run(text)
    assert not guard.stopped and shown == text


def test_the_source_stream_is_closed_at_the_repeat():
    produced = []

    def model():
        for piece in pieces(GLPK_LOOP * 5):
            produced.append(piece)
            yield piece

    source = model()
    list(stop_repeats(source))
    assert len("".join(produced)) < len(GLPK_LOOP)  # generation ended early
    with pytest.raises(StopIteration):
        next(source)  # and the generator was closed, not left suspended


@pytest.mark.parametrize("kw", [{"min_words": 0}, {"ngram": 1}, {"ngram": -2}])
def test_bad_settings_are_refused_with_their_name(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        RepetitionGuard(**kw)


# -- properties ---------------------------------------------------------------------------------

WORDS = st.sampled_from("the tank pump hook routine glp_term_hook capacity 950 m3 12.5 bar is has of to and a".split())
SENTENCE = st.builds(
    lambda ws, marker: " ".join(ws).capitalize() + marker + ".",
    st.lists(WORDS, min_size=4, max_size=11),
    st.sampled_from(["", " [1]", " [2]"]),
)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"\[\d+\]", " ", text).lower().split())


@settings(max_examples=200, deadline=None)
@given(st.lists(SENTENCE, min_size=1, max_size=6), st.integers(1, 7), st.integers(1, 9))
def test_property_shown_text_is_a_prefix_of_the_reply_and_the_kept_text_has_no_repeated_sentence(
    sentences, size, loops
):
    reply = " ".join(sentences + [sentences[-1]] * loops)
    guard = RepetitionGuard(ngram=0)
    shown = "".join(stop_repeats([reply[i : i + size] for i in range(0, len(reply), size)], guard))
    assert reply.startswith(shown)
    assert reply.startswith(guard.text)
    assert guard.stopped  # the last sentence came at least twice
    kept = [_norm(s) for s in re.split(r"(?<=\.) ", guard.text)]
    assert len(kept) == len(set(kept))
    assert shown.rstrip() == guard.text


@settings(max_examples=200, deadline=None)
@given(st.lists(SENTENCE, min_size=1, max_size=8, unique_by=_norm), st.integers(1, 7))
def test_property_a_reply_of_distinct_sentences_is_untouched_by_the_sentence_rule(sentences, size):
    reply = " ".join(sentences)
    guard = RepetitionGuard(ngram=0)
    shown = "".join(stop_repeats([reply[i : i + size] for i in range(0, len(reply), size)], guard))
    assert not guard.stopped
    assert shown == reply == guard.text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.integers(1, 9))
def test_property_any_text_streams_as_a_prefix_of_itself(text, size):
    guard = RepetitionGuard()
    shown = "".join(stop_repeats([text[i : i + size] for i in range(0, len(text), size)], guard))
    assert text.startswith(shown)
    if not guard.stopped:
        assert shown == text
    else:
        assert text.startswith(guard.text) and len(guard.text) < len(text)


def test_the_earliest_repeat_wins_whichever_rule_finds_it():
    """A 12-word run repeated inside a new sentence comes before a whole sentence repeated later:
    read at once or streamed, the reply is cut at the run (as seen on LaTeX News, news-004)."""
    text = (
        "The new docstrip can write up to 16 files at once. "
        "The docstrip system is designed to allow for a maximum of 16 files to be written at once. "
        "The new docstrip is a package that is designed to allow for a maximum of 16 files to be written at once. "
        "The docstrip system is designed to allow for a maximum of 16 files to be written at once."
    )
    at_once = RepetitionGuard()
    at_once.feed(text)
    at_once.finish()
    _, streamed = run(text)
    assert at_once.text == streamed.text
    assert at_once.text.endswith("The new docstrip is a package that")
