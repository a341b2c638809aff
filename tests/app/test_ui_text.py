"""The markdown sanitiser of answers and labels (issue 9, item 8), checked by rendering its output
with a real CommonMark + GFM renderer (markdown-it-py with GFM's literal autolinks through
linkify-it-py): no link and no image may come out, and nothing visible may change."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from app.ui_text import (
    ZWSP,
    escape_markdown,
    flag_sentences,
    mark_spans,
    neutralize_links,
    neutralize_stream,
    sentence_breaks,
)
from rag.grounding import normalise, split_sentences, unsupported_spans


def renderer() -> MarkdownIt:
    md = MarkdownIt("gfm-like")
    # GFM links bare http(s)://, www. and e-mail addresses, not bare domains ("example.com").
    md.linkify.set({"fuzzy_link": False})
    return md


MD = renderer()
LINKS = re.compile(r"<(a|img|script|iframe)\b", re.IGNORECASE)  # tags, not escaped text

HOSTILE = [
    "![](https://tracker.example/pixel.png)",
    "![logo][l]\n\n[l]: https://tracker.example/l.png",
    "[click](https://evil.example/login) and [ref]\n\n[ref]: <https://evil.example>",
    "<https://evil.example/x> <mailto:a@b.example> <a@b.example>",
    "see https://evil.example/x or www.evil.example or ftp://evil.example or a.b@evil.example",
    '<img src="https://tracker.example/p.png"> <a href="https://evil.example">x</a>',
    "[![badge](https://img.example/b.svg)](https://evil.example)",
    '[x]( https://evil.example ) [y](<https://evil.example> "title")',
    "text[^1]\n\n[^1]: https://evil.example",
    "|a|b|\n|-|-|\n|![](https://t.example/i.png)|[l](https://e.example)|",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_the_renderer_sees_links_before_and_none_after(text):
    assert LINKS.search(MD.render(text)), "the renderer must find the link in the original"
    assert not LINKS.search(MD.render(neutralize_links(text)))


def test_an_answer_keeps_its_formatting_and_citations():
    answer = (
        "**Parking:** 412 spaces [1].\n\n- HEA06 *applies* [2]\n- see `21 01 13`\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert neutralize_links(answer) == answer  # nothing in it could become a link
    assert MD.render(neutralize_links(answer)) == MD.render(answer)


def test_code_still_renders_as_the_same_code():
    text = "`a[0](x)` and\n```\nurl = 'https://x.example/a'\n```"
    before, after = MD.render(text), MD.render(neutralize_links(text))
    assert after.replace(ZWSP, "") == before and "<pre><code>" in after


# Characters and words that make links, joined at random: markdown-ish text dense in near-misses.
MARKDOWN_ALPHABET = st.lists(
    st.sampled_from(list("![]()<>:/@.w wWxh\n`*_~|-#\\\"'") + ["https", "http", "www", "mailto:", "a@b", ZWSP]),
    max_size=40,
).map("".join)


def pieces(text: str):
    return st.lists(st.integers(0, len(text)), max_size=6).map(
        lambda cuts: [text[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(text)], strict=True)]
    )


@settings(max_examples=200, deadline=None)
@given(MARKDOWN_ALPHABET)
def test_fuzz_no_link_or_image_survives_and_nothing_visible_changes(text):
    safe = neutralize_links(text)
    assert not LINKS.search(MD.render(safe)), (text, safe)
    assert safe.replace(ZWSP, "") == text.replace(ZWSP, "")
    assert neutralize_links(safe) == safe  # neutralising twice changes nothing


@settings(max_examples=150, deadline=None)
@given(st.data(), MARKDOWN_ALPHABET)
def test_fuzz_streaming_gives_the_same_text_whatever_the_cuts(data, text):
    chunks = data.draw(pieces(text))
    assert "".join(neutralize_stream(chunks)) == neutralize_links(text)


NAMES = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
        | st.sampled_from(list("![]()<>:/@.*_~`$#|\\&-+")),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=200, deadline=None)
@given(NAMES)
def test_fuzz_an_escaped_name_renders_as_exactly_its_text(name):
    rendered = MD.render(escape_markdown(name))
    assert not LINKS.search(rendered)
    body = rendered.removeprefix("<p>").removesuffix("</p>\n")
    assert "<" not in body.replace("&lt;", ""), rendered  # no markup at all: emphasis, code, headings…
    assert html.unescape(body).replace(ZWSP, "") == name.replace(ZWSP, "")


@pytest.mark.parametrize(
    "name",
    [
        "![x](https:/",  # a folder and a file that together spell an image: "![x](https://t/p.png).pdf"
        "![x](https://t.example/p.png).pdf",
        "*draft* _v2_ ~~old~~.pdf",
        "cost $5 and $6.pdf",
        "# heading.md",
        "[1] notes <b>.txt",
    ],
)
def test_file_names_are_shown_as_typed(name):
    rendered = MD.render(escape_markdown(name))
    assert html.unescape(rendered).replace(ZWSP, "") == f"<p>{name}</p>\n"


# Issue 24, rows 9 and 10: what people type (questions, several lines) is shown as typed too.
TYPED = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
    | st.sampled_from(list("\n\r\t    ![]()<>:/@.*_~`$#|\\&-+=")),
    max_size=80,
)
ALLOWED_TAGS = re.compile(r"<(?!/?p>|br />)")


def lines(text: str) -> list[str]:
    """Text as a reader sees it, line by line: each line's spaces folded and trimmed, no trailing
    empty lines (invisible), zero-width and no-break spaces as nothing and spaces."""
    text = text.replace(ZWSP, "").replace("\u00a0", " ").replace("\t", " ")
    out = [" ".join(line.split()) for line in re.split(r"\r\n?|\n", text)]
    while out and not out[-1]:
        out.pop()
    return out


def shown(markdown: str) -> list[str]:
    """What markdown-it's rendering of ``markdown`` shows, line by line; fails on any markup
    beyond one paragraph and line breaks."""
    rendered = MD.render(markdown)
    assert not ALLOWED_TAGS.search(rendered), rendered
    assert rendered.count("<p>") <= 1, rendered
    body = re.sub(r"</?p>", "", rendered).strip("\n")
    # A browser shows a soft line break as a space, <br /> as a new line.
    return lines(html.unescape("\n".join(part.replace("\n", " ") for part in body.split("<br />\n"))))


@settings(max_examples=300, deadline=None)
@given(TYPED)
def test_fuzz_a_typed_question_renders_as_its_text_with_its_line_breaks(text):
    assert shown(escape_markdown(text)) == lines(text)


@pytest.mark.parametrize(
    "question",
    [
        "![q](http://attacker.example/q.png) how many doors?",
        "**bold** [x](javascript:alert(1)) and <img src=x onerror=alert(1)>",
        "    indented like code\n# not a heading\n1. not a list\n\n- nor this\n===",
        ":red[colour] :material/home: $x^2$ ~~struck~~ &amp; :+1:",
    ],
)
def test_questions_are_shown_as_typed(question):
    assert not LINKS.search(MD.render(escape_markdown(question)))
    assert shown(escape_markdown(question)) == lines(question)


# Issue 25, row 6: a flagged number is marked where it stands, whole, never inside another one.
def unmark(text: str) -> str:
    return re.sub(r":orange-background\[([^\]]*)\]", r"\1", text).replace(ZWSP, "")


def marked(text: str) -> list[str]:
    return re.findall(r":orange-background\[([^\]]*)\]", text.replace(ZWSP, ""))


def test_a_flagged_2_marks_neither_32_nor_1_2():
    answer = "There are 32 dock doors [1]. Each is 1.2 m wide, with 2 ramps.\n1. DD-101 to 113\n2. Done."
    sentences = split_sentences(answer)
    out = flag_sentences(answer, sentences, ["2", "DD-113"])
    assert out == [
        "There are 32 dock doors [1].",
        "Each is 1.2 m wide, with :orange-background[2] ramps.",
        "1. DD-101 to :orange-background[113]",  # the range's end, flagged as the door it names
        "2. Done.",  # list numbering, not the flagged 2
    ]


def test_marking_never_lets_a_link_through():
    text = "See [12](https://evil.example/x) and ![12](https://t.example/p.png)"
    second = text.index("![12]") + 2
    out = mark_spans(text, [(5, 7), (second, second + 2)])
    assert marked(out) == ["12", "12"]
    assert not LINKS.search(MD.render(out)), out
    assert unmark(out) == text


TOKENISH = st.lists(
    st.sampled_from(
        [
            "2",
            "32",
            "1.2",
            "DD-101",
            "113",
            " to ",
            ", ",
            " and ",
            "\n",
            "1. ",
            "[1]",
            "(",
            ")",
            "](",
            "x",
            " ",
            ".",
            "-",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(TOKENISH, st.lists(st.sampled_from(["2", "32", "1.2", "113", "DD-113", "DD-101", "1"]), max_size=3))
def test_fuzz_flagging_marks_whole_flagged_tokens_and_changes_nothing_else(answer, flagged):
    sentences = split_sentences(answer)
    out = flag_sentences(answer, sentences, flagged)
    keys = {normalise(f) for f in flagged}
    for sentence, shown in zip(sentences, out, strict=True):
        assert unmark(shown) == sentence.replace(ZWSP, "")
        assert not LINKS.search(MD.render(shown))
        spans = unsupported_spans(answer, flagged)
        expected = [answer[s.start : s.end] for s in spans if s.start >= 0]
        for token in marked(shown):
            assert token in expected
    found = [answer[s.start : s.end] for s in unsupported_spans(answer, flagged)]
    assert sorted(t for shown in out for t in marked(shown)) == sorted(found)
    assert all(s.key in keys for s in unsupported_spans(answer, flagged))


def test_sentence_breaks_keep_a_numbered_list_a_list_and_paragraphs_apart():
    answer = "The inspection includes:\n1. Check the valve [1].\n2. Test the pump.\n\n\nDone. Really."
    sentences = split_sentences(answer)
    assert sentence_breaks(answer, sentences) == ["", "\n", "\n", "\n\n", " "]
    shown = "".join(b + s for b, s in zip(sentence_breaks(answer, sentences), sentences, strict=True))
    assert shown == "The inspection includes:\n1. Check the valve [1].\n2. Test the pump.\n\nDone. Really."


def test_a_sentence_not_cut_from_the_answer_is_set_apart_by_a_space():
    assert sentence_breaks("One.\nTwo.", ["One.", "Elsewhere.", "Two."]) == ["", " ", "\n"]


@given(st.lists(st.sampled_from(["Pump 3 runs.", "1. Open it.", "Close it!", "\n", "\n\n", " "]), max_size=12))
def test_sentence_breaks_rebuild_the_answer_up_to_blank_runs(pieces):
    answer = "".join(pieces)
    sentences = split_sentences(answer)
    shown = "".join(b + s for b, s in zip(sentence_breaks(answer, sentences), sentences, strict=True))
    assert re.sub(r"\s+", " ", shown).strip() == re.sub(r"\s+", " ", answer).strip()
    assert shown.count("\n") <= answer.count("\n")
