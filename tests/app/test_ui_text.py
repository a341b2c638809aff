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

from app.ui_text import ZWSP, escape_markdown, neutralize_links, neutralize_stream


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
