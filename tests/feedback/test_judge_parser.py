"""The judge reply parser: every deviation from <thinking>/<scoring>/<reason> is kept and counted,
a score is taken only when it is unambiguous, and no text makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from feedback.judge.parser import ISSUES, parse_reply, reply_text

WELL_FORMED = "<thinking>[1] gives 412 spaces; the answer says 412.</thinking>\n<scoring>4.5</scoring>\n<reason>Right number, cited.</reason>"


def test_a_well_formed_reply():
    parsed = parse_reply(WELL_FORMED)
    assert parsed.score == 4.5
    assert parsed.thinking == "[1] gives 412 spaces; the answer says 412."
    assert parsed.reason == "Right number, cited."
    assert parsed.issues == ()


@pytest.mark.parametrize(
    ("reply", "score", "issues"),
    [
        # no usable tags
        ("", None, {"empty_reply"}),
        ("   \n", None, {"empty_reply"}),
        ("I would give this answer a 4.", None, {"no_tags"}),
        ("Score: 4\nReason: fine", None, {"no_tags"}),
        ("<thinking>hm</thinking><reason>vague</reason>", None, {"no_scoring"}),
        # out of range
        ("<scoring>7</scoring><reason>r</reason><thinking>t</thinking>", None, {"out_of_range"}),
        ("<scoring>-1</scoring><reason>r</reason><thinking>t</thinking>", None, {"out_of_range"}),
        ("<scoring>5.01</scoring><reason>r</reason><thinking>t</thinking>", None, {"out_of_range"}),
        ("<scoring>45</scoring><reason>r</reason><thinking>t</thinking>", None, {"out_of_range"}),
        # two scores: unambiguous only when they agree
        ("<thinking>t</thinking><scoring>3</scoring><scoring>4</scoring><reason>r</reason>", None, {"several_scores"}),
        ("<thinking>t</thinking><scoring>3</scoring><reason>r</reason><scoring>3.0</scoring>", 3.0, {"several_scores"}),
        (
            "<thinking>t</thinking><scoring>3</scoring><scoring>high</scoring><reason>r</reason>",
            None,
            {"several_scores", "no_number"},
        ),
        ("<thinking>t</thinking><scoring>between 3 and 4</scoring><reason>r</reason>", None, {"several_numbers"}),
        ("<thinking>t</thinking><scoring>8/10</scoring><reason>r</reason>", None, {"several_numbers"}),
        ("<thinking>t</thinking><scoring>4 and a half</scoring><reason>r</reason>", None, {"several_numbers"}),
        # text outside tags costs nothing
        ("Here is my grading:\n" + WELL_FORMED + "\nHope this helps!", 4.5, {"text_outside_tags"}),
        ("```xml\n" + WELL_FORMED + "\n```", 4.5, {"text_outside_tags"}),
        # unclosed tags
        ("<thinking>t</thinking><scoring>4<reason>r</reason>", 4.0, {"unclosed_tag"}),
        ("<thinking>t</thinking><scoring>3.5</scoring><reason>cut off by max tok", 3.5, {"unclosed_tag"}),
        ("<thinking>never closed <scoring>2</scoring><reason>r</reason>", 2.0, {"unclosed_tag"}),
        ("<thinking>t</thinking><scoring>", None, {"unclosed_tag", "no_number", "no_reason"}),
        (
            "<thinking>t</thinking>4</scoring><reason>r</reason>",
            None,
            {"stray_closing_tag", "no_scoring", "text_outside_tags"},
        ),
        # a number in words: the one unambiguous score, counted
        ("<thinking>t</thinking><scoring>four</scoring><reason>r</reason>", 4.0, {"number_in_words"}),
        ("<thinking>t</thinking><scoring>Three point five.</scoring><reason>r</reason>", 3.5, {"number_in_words"}),
        ("<thinking>t</thinking><scoring>two and a half</scoring><reason>r</reason>", 2.5, {"number_in_words"}),
        ("<thinking>t</thinking><scoring>seven</scoring><reason>r</reason>", None, {"number_in_words", "out_of_range"}),
        ("<thinking>t</thinking><scoring>high</scoring><reason>r</reason>", None, {"no_number"}),
        # forms of one number that are not ambiguous
        ("<thinking>t</thinking><scoring>4/5</scoring><reason>r</reason>", 4.0, set()),
        ("<thinking>t</thinking><scoring>4.5 out of 5</scoring><reason>r</reason>", 4.5, set()),
        ("<thinking>t</thinking><scoring>Score: 3</scoring><reason>r</reason>", 3.0, set()),
        ("<thinking>t</thinking><scoring>I'd say 2.5/5 overall</scoring><reason>r</reason>", 2.5, set()),
        ("<THINKING>t</THINKING>< scoring >0</ scoring ><Reason>r</Reason>", 0.0, set()),
        ("<thinking>t</thinking><scoring>-0</scoring><reason>r</reason>", 0.0, set()),
        # a score mentioned while thinking is not the score
        ("<thinking>maybe <scoring>1</scoring>?</thinking><scoring>4</scoring><reason>r</reason>", 4.0, set()),
        ("<thinking>maybe <scoring>1</scoring>?</thinking><reason>r</reason>", None, {"no_scoring"}),
        # missing parts are counted, the score kept
        ("<scoring>5</scoring>", 5.0, {"no_reason", "no_thinking"}),
    ],
)
def test_each_case_is_kept_and_counted(reply, score, issues):
    parsed = parse_reply(reply)
    assert parsed.score == score
    assert set(parsed.issues) == issues
    assert parsed.scored is (score is not None)


def test_reason_and_thinking_are_kept_even_without_a_score():
    parsed = parse_reply(
        "<thinking>The passages say 20 lux.</thinking><scoring>??</scoring><reason>Wrong lux.</reason>"
    )
    assert parsed.score is None and parsed.reason == "Wrong lux." and parsed.thinking == "The passages say 20 lux."


# -- properties ----------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "<thinking>",
        "</thinking>",
        "<scoring>",
        "</scoring>",
        "<reason>",
        "</reason>",
        "< Scoring >",
        "</ REASON>",
        "4",
        "4.5",
        "-2",
        "7",
        "5.0",
        "/5",
        "out of 5",
        "four",
        "point",
        "five",
        "half",
        "Score:",
        " ",
        "\n",
        "<",
        ">",
        "/",
        "score",
        "lux",
        "[1]",
        "−3",
        "٤",
        "1e3",
        "nan",
        "inf",
    ]
)


@given(st.text())
@example("<scoring>" * 500)
@example("</scoring>" * 500 + "<scoring>")
@example("<scoring>1" + "0" * 400 + "</scoring>")
def test_any_text_parses_without_raising(reply):
    parsed = parse_reply(reply)
    assert parsed.score is None or 0.0 <= parsed.score <= 5.0
    assert set(parsed.issues) <= set(ISSUES)
    assert parsed.score is not None or parsed.issues  # no score is never silent


@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=5)), max_size=30).map("".join))
def test_tag_soup_parses_without_raising_and_a_score_comes_from_a_scoring_tag(reply):
    parsed = parse_reply(reply)
    assert set(parsed.issues) <= set(ISSUES)
    if parsed.score is not None:
        assert 0.0 <= parsed.score <= 5.0
        assert "scoring" in reply.lower()


clean = st.text(st.characters(blacklist_characters="<>", blacklist_categories=("Cs",)), min_size=1, max_size=80).filter(
    str.strip
)


@given(
    thinking=clean,
    reason=clean,
    tenths=st.integers(0, 50),
    before=st.sampled_from(["", "\n", "  "]),
)
def test_every_well_formed_reply_gives_its_score_reason_and_thinking(thinking, reason, tenths, before):
    score = tenths / 10
    reply = f"{before}<thinking>{thinking}</thinking>\n<scoring>{score}</scoring>\n<reason>{reason}</reason>"
    parsed = parse_reply(reply)
    assert parsed.score == score
    assert parsed.reason == reason.strip() and parsed.thinking == thinking.strip()
    assert parsed.issues == ()


@given(a=st.integers(0, 50), b=st.integers(0, 50))
def test_two_different_scores_never_give_one(a, b):
    parsed = parse_reply(
        f"<thinking>t</thinking><scoring>{a / 10}</scoring><scoring>{b / 10}</scoring><reason>r</reason>"
    )
    assert parsed.score == (a / 10 if a == b else None)
    assert "several_scores" in parsed.issues


# -- replies that are not strings (issue 24, row 1) ------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        [{"type": "text", "text": WELL_FORMED}],
        [{"type": "text", "text": WELL_FORMED[:40]}, {"type": "text", "text": WELL_FORMED[40:]}],
        [{"type": "reasoning", "text": "I think 1"}, {"type": "text", "text": WELL_FORMED}],
        {"type": "text", "text": WELL_FORMED},
        {"content": [{"type": "output_text", "text": WELL_FORMED}]},
        [{"text": {"value": WELL_FORMED}}],
        WELL_FORMED.encode(),
    ],
)
def test_the_shapes_servers_send_are_read_as_their_text(reply):
    assert parse_reply(reply) == parse_reply(WELL_FORMED)
    assert reply_text(reply) == (WELL_FORMED, True)


@pytest.mark.parametrize(
    ("reply", "issues"),
    [
        (None, ("empty_reply",)),
        ([], ("empty_reply",)),
        ([{"type": "image_url", "image_url": {"url": "x"}}], ("not_text",)),
        ({"choices": [{"message": {"content": WELL_FORMED}}]}, ("not_text",)),
        ([{"type": "text", "text": WELL_FORMED}, 4], ("not_text",)),
        (4, ("not_text",)),
        (4.5, ("not_text",)),
        (float("nan"), ("not_text",)),
    ],
)
def test_a_reply_that_holds_no_text_gives_no_score_and_says_why(reply, issues):
    parsed = parse_reply(reply)
    assert parsed.score is None and parsed.issues == issues


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["type", "text", "content", "value", "x"]), children, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
@example({"text": {"text": {"text": None}}})
@example([{"type": "text", "text": "<scoring>4</scoring>"}, {"type": "thinking"}])
@example([{"type": []}])
def test_a_reply_of_any_shape_parses_without_raising(reply):
    parsed = parse_reply(reply)
    text, is_text = reply_text(reply)
    assert isinstance(text, str)
    assert set(parsed.issues) <= set(ISSUES)
    assert parsed.score is None or (is_text and 0.0 <= parsed.score <= 5.0)
    assert parsed.score is not None or parsed.issues
