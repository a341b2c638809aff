"""Where a passage sits in its document: the document's title and the section heading above it.

A chunk of a manual's parameter table says "TNOM ... 27" and nothing about which model it
belongs to; a page of a quarterly report says "Revenue ... 412" and nothing about the company
or the quarter. The title and the nearest heading say it, so they are indexed with every
chunk (``Chunk.context``).

Headings come from the PDF outline (bookmarks) when the file has one, which is exact; else from
numbered heading lines in the text ("3.3.2 Semiconductor Resistors", "Chapter 6: Mesh
module", a filing's "Item 7." and "Note 10 —"; in Markdown, "## Usage"). The title comes from
the file's metadata and the first lines of its first page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.records import Page

MAX_TITLE_CHARS = 120
MAX_HEADING_CHARS = 120

# "3.3.2 Semiconductor Resistors", "A.1 Options", "Chapter 6: Mesh module", "Part II XSPICE",
# and a filing's "Item 7. Management's Discussion and Analysis ..." and "Note 10 — Segment
# Information": a dot or a dash after the number, then a capital. A standard's "NOTE 1 The values
# ...", a parts list's "Item 12 Gasket" and a manual's "Note 2: If ..." are no headings.
_HEADING_LINE = re.compile(
    r"^(?:(?:\d{1,2}(?:\.\d{1,3}){0,4}\.?|[A-Z]\.\d{1,3}(?:\.\d{1,3})*)\s+[A-Z][^\n]{2,80}"
    r"|(?:Chapter|CHAPTER|Part|PART|Section|SECTION|Appendix|APPENDIX)\s+[\dIVXA-Z]+[.:]?\s+\S[^\n]{1,80}"
    r"|(?:Item|ITEM|Note|NOTE)\s+\d{1,2}[A-Z]?(?:\.|\s+[—–-])(?:\s+\|)?\s+[A-Z\[][^\n]{1,100})$"
)
# Markdown's "## Installation", in Markdown files only (elsewhere "# set terminal" is a comment),
# and outside fenced code blocks.
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(\S[^\n]{1,100})$")
FENCE = ("```", "~~~")  # opens and closes a fenced code block
_TRAILING_PAGE = re.compile(r"(?:\s*\.\s*){2,}\d+$|\s\d{1,4}$")
_JUNK_TITLES = {"untitled", "title", "document", "microsoft word"}


def clean_title(value: str | None) -> str:
    value = " ".join((value or "").split())
    if len(value) < 3 or value.lower() in _JUNK_TITLES or value.lower().startswith("microsoft word -"):
        return ""
    return value[:MAX_TITLE_CHARS]


def document_title(metadata_title: str | None, first_page: str, *, max_lines: int = 3) -> str:
    """The title a reader sees: the metadata title, then the first short lines of page one.

    "LaTeX News / Issue 28, April 2018" or "Ngspice User's Manual / Version 39": the first
    lines usually carry the edition or period that tells sibling documents apart.
    """
    parts = [clean_title(metadata_title)] if clean_title(metadata_title) else []
    for line in first_page.split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        if len(line) > 70 or line.lower() in ("contents", "table of contents", "abstract") or len(parts) >= max_lines:
            break
        if line.lower() not in " ".join(parts).lower():
            parts.append(line)
    return clean_title(" ".join(parts))


def heading_lines(text: str, markdown: bool = False) -> list[str]:
    """Lines of ``text`` that look like numbered section headings (not contents lines); with
    ``markdown``, ``#`` headings too, and nothing inside fenced code blocks."""
    found = []
    fenced = False
    for line in text.split("\n"):
        line = line.strip()
        if markdown and line.startswith(FENCE):
            fenced = not fenced
        if fenced or len(line) > MAX_HEADING_CHARS:
            continue
        if markdown and (match := _MARKDOWN_HEADING.match(line)):
            found.append(match[1])
            continue
        if not _HEADING_LINE.match(line):
            continue
        if _TRAILING_PAGE.search(line) or line.endswith((".", ",", ";")):
            continue  # a contents entry or a sentence that starts with a number
        found.append(line.replace(" | ", " "))  # a heading laid out as a table row
    return found


def with_headings(pages: Sequence[Page], outline: Sequence[tuple[int, str, int | None]] = ()) -> list[Page]:
    """The pages with ``heading`` (in effect at the top) and ``headings`` (starting on the page).

    Args:
        outline: (level, title, 0-based page index) of the PDF's bookmarks, in document order.
            When empty, heading lines found in the text are used instead.
    """
    starts: dict[int, list[str]] = {}
    if outline:
        path: list[str] = []
        for level, title, index in outline:
            title = " ".join(title.split())[:MAX_HEADING_CHARS]
            if index is None or not title:
                continue
            del path[level:]
            path.append(title)
            # The parent says what the section is part of ("7.2 Diode Model › Junction DC").
            starts.setdefault(index, []).append(" › ".join(path[-2:]))
    else:
        for i, page in enumerate(pages):
            starts[i] = heading_lines(page.text)
    current = None
    out = []
    for i, page in enumerate(pages):
        headings = starts.get(i, [])
        out.append(page.model_copy(update={"heading": current, "headings": headings}))
        if headings:
            current = headings[-1]
    return out


_NON_WORD = re.compile(r"[\W_]+")
_NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[A-Z]\.\d+(?:\.\d+)*)\s+")


def _norm(text: str) -> str:
    return _NON_WORD.sub("", text.lower())


def heading_positions(page: Page) -> list[tuple[int, str]]:
    """Where each heading that starts on the page sits in its text: (character offset, heading).

    A heading is found as a line of the page that reads like it (case, spacing and punctuation
    aside: the outline says "LaTeX2ε", the text "LATEX 2ε"), searched in order after the
    previous one, skipping contents lines ("Our hopes . . . 1") that name it first.
    """
    lines = []
    offset = 0
    for line in page.text.split("\n"):
        lines.append((offset, line))
        offset += len(line) + 1
    found = []
    at = 0
    for heading in page.headings:
        title = heading.rpartition(" › ")[2]
        # The outline may number a section the text does not ("7.2 Diode Model" / "Diode Model").
        needles = {n for n in (_norm(title), _norm(_NUMBERING.sub("", title))) if len(n) >= 3}
        for i in range(at, len(lines)):
            start, line = lines[i]
            norm = _norm(line)
            if not norm or _TRAILING_PAGE.search(line.strip()):
                continue
            if any(norm.startswith(n) or (len(norm) >= 12 and n.startswith(norm)) for n in needles):
                found.append((start, heading))
                at = i + 1
                break
    return found


def heading_at(page: Page, positions: list[tuple[int, str]], position: int) -> str | None:
    """The heading in effect at character ``position`` of the page (see ``heading_positions``)."""
    best = page.heading
    for start, heading in positions:
        if start > position:
            break
        best = heading
    return best
