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

File and folder names in labels are plain text, not markdown: ``escape_markdown`` escapes every
character markdown gives a meaning to, as well as neutralising links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

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


def escape_markdown(text: str) -> str:
    """Plain text (a file or folder name) for a markdown label: shown as is, never as formatting,
    link, image, icon or formula."""
    return _PUNCTUATION.sub(r"\\\1", neutralize_links(text))
