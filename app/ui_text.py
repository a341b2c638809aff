"""Text from documents and models, made safe to render as Streamlit markdown.

An answer is written by a model that read the documents, so a document can make it write
``![](https://tracker.example/pixel.png)``, which the reader's browser would fetch, or a link
to anywhere. ``neutralize_links`` keeps the answer's formatting but no link or image: it puts a
zero-width space (invisible, not whitespace, so it changes no other markdown) inside each
construct that would become one, wherever it stands (in code too, where it does no harm):

* ``](`` and ``]:`` (inline links and images; reference definitions, without which no
  reference link or image exists),
* ``<`` followed by anything (autolinks ``<https://…>``, ``<a@b.c>``, and raw HTML),
* ``:/`` (``https://`` and every other scheme written out), ``www.`` (GFM's bare ``www.``
  links), and either side of ``@`` (bare e-mail addresses).

Every insertion depends only on the characters before it and the one it precedes, so the same
function works on a stream of tokens (``neutralize_stream``) and gives the same text.

File and folder names, and what people type (their questions), are plain text, not markdown:
``escape_markdown`` escapes every character markdown gives a meaning to, as well as neutralising
links, and keeps line breaks and leading spaces as typed.

``flag_sentences`` marks the numbers and codes the grounding check found in no source
(``rag.grounding``) in an answer's sentences: whole tokens only, never a digit inside another
number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from rag.grounding import Span, unsupported_spans

ZWSP = "\u200b"

# Each alternative is an empty match: the zero-width space goes between the lookbehind (what came
# before) and the lookahead (the one character it precedes). None matches where a ZWSP already is,
# so neutralising twice changes nothing.
_SPOTS = re.compile(
    r"(?<=\])(?=[(:])"  # ](  ]:
    r"|(?<=<)(?=[^\u200b])"  # <x
    r"|(?<=:)(?=/)"  # :/
    r"|(?<=[wW]{3})(?=\.)"  # www.
    r"|(?<=[^\u200b])(?=@)"  # x@
    r"|(?<=@)(?=[^\u200b])"  # @x
)
_LOOKBEHIND = 3  # the longest lookbehind above ("www")

# Everything CommonMark lets a backslash escape: all ASCII punctuation.
_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def _insert(text: str, start: int = 0) -> str:
    """``text[start:]`` with a ZWSP at every spot at or after ``start`` (``text[:start]`` is context)."""
    out, last = [], start
    for match in _SPOTS.finditer(text, start):
        position = match.start()
        if position == len(text):  # the character it would precede has not come yet
            break
        out.append(text[last:position])
        out.append(ZWSP)
        last = position
    out.append(text[last:])
    return "".join(out)


def neutralize_links(text: str) -> str:
    """``text`` (markdown) with every link, image, autolink and HTML tag broken, nothing else changed.

    Returns the text with zero-width spaces inserted; removing them gives ``text`` back.
    """
    return _insert(text)


def neutralize_stream(chunks: Iterable[str]) -> Iterator[str]:
    """``neutralize_links`` over a stream of pieces (a streamed answer): joined, the pieces it
    yields equal ``neutralize_links`` of the joined input, whatever the cuts."""
    tail = ""
    for chunk in chunks:
        if not chunk:
            continue
        text = tail + chunk
        yield _insert(text, len(tail))
        tail = text[-_LOOKBEHIND:]


_LINE_END = re.compile(r"\r\n?|\n")  # CommonMark's line endings
_INDENT = re.compile(r"^[ \t]+")  # four spaces or a tab would start a code block
NBSP = "\u00a0"


def escape_markdown(text: str) -> str:
    """Plain text (a file or folder name, a question) for markdown: shown as is, never as
    formatting, link, image, icon or formula; each line break shown as one, leading spaces kept."""
    lines = _LINE_END.split(neutralize_links(text))
    while len(lines) > 1 and not lines[-1].strip(" \t"):  # a trailing break would show a "\\"
        lines.pop()
    return "\\\n".join(_PUNCTUATION.sub(r"\\\1", _INDENT.sub(lambda m: NBSP * len(m.group(0)), line)) for line in lines)


def mark_spans(text: str, spans: Iterable[tuple[int, int]], style: str = "orange-background") -> str:
    """``text`` (markdown) with its links neutralised and each ``text[start:end]`` in a Streamlit
    colour directive (``:orange-background[…]``); overlapping spans after the first are ignored."""
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in sorted(spans):
        if start < cursor or end <= start:
            continue
        pieces += [(text[cursor:start], False), (text[start:end], True)]
        cursor = end
    pieces.append((text[cursor:], False))
    pieces = [(piece, marked) for piece, marked in pieces if piece]
    # Neutralised as one stream, so a link cut by a span is still broken.
    safe = list(neutralize_stream(piece for piece, _ in pieces))
    out = []
    for i, ((_, marked), piece) in enumerate(zip(pieces, safe, strict=True)):
        if marked:
            # "](", "][" or "]:" after the directive could start a link: a zero-width space parts them.
            following = safe[i + 1][:1] if i + 1 < len(safe) else ""
            piece = f":{style}[{piece}]" + (ZWSP if following in ("(", "[", ":") else "")
        out.append(piece)
    return "".join(out)


def flag_sentences(answer: str, sentences: Sequence[str], unsupported: Sequence[str]) -> list[str]:
    """Each of ``sentences`` (in order, as ``rag.grounding.split_sentences`` cut ``answer``) as
    neutralised markdown with the ``unsupported`` numbers and codes marked where they stand."""
    flagged = unsupported_spans(answer, unsupported) if unsupported else []  # in order
    out, cursor, i = [], 0, 0
    for sentence in sentences:
        at = answer.find(sentence, cursor)
        if at < 0:  # not cut from this answer: judged on its own
            spans: list[Span] = unsupported_spans(sentence, unsupported) if unsupported else []
            out.append(mark_spans(sentence, ((s.start, s.end) for s in spans)))
            continue
        cursor = at + len(sentence)
        while i < len(flagged) and flagged[i].start < at:
            i += 1
        inside = []
        while i < len(flagged) and flagged[i].end <= cursor:
            inside.append((flagged[i].start - at, flagged[i].end - at))
            i += 1
        out.append(mark_spans(sentence, inside))
    return out


def sentence_breaks(answer: str, sentences: Sequence[str]) -> list[str]:
    """What goes before each of ``sentences`` when they are shown again as one text: the line
    breaks ``answer`` had there (a numbered list stays a list, a paragraph a paragraph), else a
    space; nothing before the first."""
    out, cursor = [], 0
    for k, sentence in enumerate(sentences):
        at = answer.find(sentence, cursor)
        gap = answer[cursor:at] if at >= 0 else " "
        if at >= 0:
            cursor = at + len(sentence)
        newlines = min(gap.count("\n"), 2)
        out.append("" if k == 0 else "\n" * newlines if newlines else " ")
    return out


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless one: "1 document", "3 documents", "0 passages"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
