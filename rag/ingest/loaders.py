"""One loader per file format. Each returns the pages of a file or raises ``LoadError``.

PDFs are read with pypdfium2 (Apache-2.0 / BSD-3-Clause bindings to Google's PDFium, the
engine Chrome uses): it is permissively licensed, fast, keeps reading order well on tables
and multi-column pages, reports encrypted files precisely, and can render a page to an image,
which the chat page uses to show the cited page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from rag.errors import LoadError
from rag.ingest.structure import FENCE, document_title, heading_lines, with_headings
from rag.records import Page, Table

log = logging.getLogger(__name__)

_BLANK_RUNS = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_RULE_CELL = re.compile(r":?-{3,}:?")
_CURRENCY = {"$", "€", "£", "¥"}
_CLOSERS = {"%", ")", "%)"}
MARKDOWN = {".md", ".markdown"}
_BLOCKS = ["p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "pre", "blockquote"]
MAX_CELL_CHARS = 300
"""A table cell longer than this holds prose: its row is layout, not data."""


def table_row(cells: list[str]) -> str:
    """One table row on one line: its non-empty cells joined by `` | ``.

    Tables exported to Markdown or laid out in HTML pad a row with empty cells (spacer columns,
    a "$" in a column of its own): "| Greater China | | | 16,372 | | |". Left in, they fill a
    chunk with pipes, and neither the encoder nor BM25 finds the row."""
    out: list[str] = []
    prefix = ""
    for cell in (" ".join(c.split()) for c in cells):
        if cell in _CURRENCY:  # "$" in a column of its own goes with the figure after it
            prefix += cell
        elif cell in _CLOSERS and prefix:  # "$" then ")" with no figure between
            prefix += cell
        elif cell in _CLOSERS and out:  # and "%" or ")" with the one before
            out[-1] += cell
        elif cell:
            out.append(prefix + cell)
            prefix = ""
    return " | ".join(out + [prefix] if prefix else out)


def compact_tables(text: str) -> str:
    """Markdown table rows written by ``table_row``; their ``| --- |`` rules and empty rows
    dropped. Fenced code blocks are left as they are."""
    out = []
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith(FENCE):
            fenced = not fenced
        elif not fenced and line.lstrip().startswith("|"):
            cells = line.strip().strip("|").split("|")
            if all(_RULE_CELL.fullmatch(c.strip()) or not c.strip() for c in cells):
                continue
            line = table_row(cells)
        out.append(line)
    return "\n".join(out)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _BLANK_RUNS.sub(" ", text)
    return _MANY_NEWLINES.sub("\n\n", text).strip()


# PDFium writes a hyphen it found at a line end (a word broken across lines) as \x02 and joins
# the lines: "calcu\x02lated". Left in, neither BM25 nor the encoder sees the word. The word is
# joined again, but before a capital or a digit ("MS-DOS", "UTF-8") the hyphen was the word's own.
_SOFT_HYPHEN = "\x02"
_KEPT_HYPHEN = re.compile("\x02(?=[A-Z0-9])")


def _unhyphenate(text: str) -> str:
    return _KEPT_HYPHEN.sub("-", text).replace(_SOFT_HYPHEN, "")


def load_pdf(path: Path) -> list[Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        message = str(e).lower()
        if "password" in message:
            raise LoadError("encrypted (password required)") from e
        raise LoadError(f"not a readable PDF ({e})") from e
    try:
        pages = []
        layouts = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            pages.append(Page(number=index + 1, text=_clean(_unhyphenate(textpage.get_text_bounded()))))
            layouts.append(_tables_or_none(textpage, path, index))
            textpage.close()
            page.close()
        outline = _outline(pdf)
        metadata_title = _metadata_title(pdf)
    except pdfium.PdfiumError as e:
        raise LoadError(f"damaged PDF ({e})") from e
    finally:
        pdf.close()
    if not pages:
        raise LoadError("PDF has no pages")
    pages = with_tables(strip_running_lines(pages), layouts)
    title = document_title(metadata_title, pages[0].text) or path.stem
    return [p.model_copy(update={"title": title}) for p in with_headings(pages, outline)]


TABLE_GAP = 12.0
"""Points between two runs of text on a line that part two columns: a space in 10 pt type is
about 2.5 pt, a justified line stretches it to 5 or 6; table columns stand 15 to 100 apart."""
MIN_TABLE_ROWS = 3
"""Lines of three or more columns a table needs (a header and two rows)."""
MAX_WRAPPED_LINES = 3
"""Lines of fewer columns a table may hold between two of its rows: a cell wrapped onto more
lines ("Corner for forward beta current" / "roll-off")."""
MAX_HEADER_CELL_CHARS = 40


class TableLayout(NamedTuple):
    """A table as PDFium lays it out: its header cells (empty when its first row reads as data:
    the rest of a table that began on the page before) and the text of its rows, squashed."""

    header: list[str]
    body: str


def _squash(text: str) -> str:
    return "".join(_unhyphenate(text).split())


def table_layouts(textpage) -> list[TableLayout]:
    """The tables on a page, from where PDFium puts its runs of text: a table is a run of lines
    with three or more columns (runs of text more than ``TABLE_GAP`` apart). Prose never has such
    gaps, so a page of prose costs only the rectangles (well under a millisecond)."""
    rects = sorted((textpage.get_rect(i) for i in range(textpage.count_rects())), key=lambda r: -(r[1] + r[3]))
    lines: list[list] = []  # [bottom, top, rects]
    for rect in rects:
        middle = (rect[1] + rect[3]) / 2
        if lines and lines[-1][0] - 1 <= middle <= lines[-1][1] + 1:
            line = lines[-1]
            line[0], line[1] = min(line[0], rect[1]), max(line[1], rect[3])
            line[2].append(rect)
        else:
            lines.append([rect[1], rect[3], [rect]])
    columns: list[list[list]] = []  # per line, its cells as lists of rects
    for _, _, line_rects in lines:
        line_rects.sort()
        cells = [[line_rects[0]]]
        right = line_rects[0][2]
        for rect in line_rects[1:]:
            if rect[0] - right > TABLE_GAP:
                cells.append([])
            cells[-1].append(rect)
            right = max(right, rect[2])
        columns.append(cells)
    tables = []
    i = 0
    while i < len(lines):
        if len(columns[i]) < 3:
            i += 1
            continue
        rows, last, j = 1, i, i + 1
        while j < len(lines) and j - last <= MAX_WRAPPED_LINES:
            if len(columns[j]) >= 3:
                rows, last = rows + 1, j
            j += 1
        if rows >= MIN_TABLE_ROWS:
            tables.append(_table(textpage, lines[i : last + 1], columns[i]))
        i = last + 1
    return tables


def _tables_or_none(textpage, path: Path, index: int) -> list[TableLayout]:
    """The page's tables; none when its layout cannot be read (a bad table costs its header,
    never the document)."""
    try:
        return table_layouts(textpage)
    except Exception as e:  # PDFium raises several kinds on malformed text layers
        log.info("no tables read on page %d of %s: %s", index + 1, path.name, e)
        return []


def _bounded(textpage, rects) -> str:
    return textpage.get_text_bounded(
        min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects)
    )


def _table(textpage, lines: list[list], first: list[list]) -> TableLayout:
    header = [c for c in (" ".join(_unhyphenate(_bounded(textpage, cell)).split()) for cell in first) if c]
    # Column names are short and capitalised ("Name | Parameter | Units"); a first row with
    # figures, long text or a lower-case cell ("palered | palecyan | black") is data.
    if any(ch.isdigit() for cell in header for ch in cell) or any(
        len(c) > MAX_HEADER_CELL_CHARS or not c[0].isupper() for c in header
    ):
        header = []
    body = _squash(_bounded(textpage, [r for line in lines for r in line[2]]))
    return TableLayout(header, body)


def with_tables(pages: list[Page], layouts: list[list[TableLayout]]) -> list[Page]:
    """The pages with ``tables`` set: each table's rows found in the page's text (the lines read in
    order from its top row while they are the table's own text). A table without a header that
    opens a page takes the header of the last table of the page before: a parameter table running
    over three pages names its columns once."""
    out = []
    carried = ""
    for page, found in zip(pages, layouts, strict=True):
        lines = page.text.split("\n")
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line) + 1)
        tables: list[Table] = []
        at = 0
        for n, layout in enumerate(found):
            span = _find_rows(lines, at, layout.body)
            if span is None:
                continue
            first, last = span
            header = " | ".join(layout.header) or (carried if n == 0 else "")
            if header:
                tables.append(Table(start=starts[first], end=starts[last + 1] - 1, header=header))
            at = last + 1
        carried = tables[-1].header if tables else ""
        out.append(page.model_copy(update={"tables": tables}) if tables else page)
    return out


def _find_rows(lines: list[str], at: int, body: str) -> tuple[int, int] | None:
    """(first, last) line of ``lines`` from ``at`` on that spell ``body`` from its start."""
    for first in range(at, len(lines)):
        squashed = _squash(lines[first])
        if len(squashed) < 3 or not body.startswith(squashed):
            continue
        used, last = len(squashed), first
        while last + 1 < len(lines):
            following = _squash(lines[last + 1])
            if not following or not body.startswith(following, used):
                break
            used, last = used + len(following), last + 1
        return first, last
    return None


def _outline(pdf) -> list[tuple[int, str, int | None]]:
    """The bookmarks as (level, title, 0-based page index); empty when the file has none or a
    broken one (a bad outline costs the headings, never the document)."""
    try:
        items = []
        for bookmark in pdf.get_toc(max_depth=8):
            dest = bookmark.get_dest()
            items.append((bookmark.level, bookmark.get_title() or "", dest.get_index() if dest else None))
        return items
    except Exception as e:  # pdfium raises several kinds on malformed outlines
        log.info("ignoring an unreadable PDF outline: %s", e)
        return []


def _metadata_title(pdf) -> str | None:
    try:
        return pdf.get_metadata_value("Title")
    except Exception:  # a broken info dictionary is no reason to skip the file
        return None


_DIGITS = re.compile(r"\d+")


def strip_running_lines(pages: list[Page], min_pages: int = 3, share: float = 0.6, edge_lines: int = 3) -> list[Page]:
    """Drop running headers and footers: edge lines that recur (digits aside) on most pages.

    "Design Criteria v20.1.1 – Page 7 of 15" on every page adds nothing to any passage but
    makes every chunk of the document look alike to both BM25 and the embedding.
    """
    if len(pages) < min_pages:
        return pages

    def key(line: str) -> str:
        return _DIGITS.sub("#", line.strip().lower())

    def edges(lines: list[str]) -> list[str]:
        return lines[:edge_lines] + lines[-edge_lines:]

    split = [[line for line in p.text.split("\n") if line.strip()] for p in pages]
    counts: dict[str, int] = {}
    for lines in split:
        for k in {key(line) for line in edges(lines)}:
            counts[k] = counts.get(k, 0) + 1
    running = {k for k, n in counts.items() if n >= share * len(pages)}
    if not running:
        return pages
    cleaned = []
    for page, lines in zip(pages, split, strict=True):
        head, body, tail = lines[:edge_lines], lines[edge_lines:-edge_lines], lines[-edge_lines:]
        if len(lines) <= 2 * edge_lines:
            head, body, tail = lines, [], []
        kept = [ln for ln in head if key(ln) not in running] + body + [ln for ln in tail if key(ln) not in running]
        cleaned.append(Page(number=page.number, text="\n".join(kept).strip()))
    return cleaned


DOCX_MAX_XML_BYTES = 128 * 2**20
"""Unpacked XML a .docx may hold. python-docx parses every XML part into memory (about twice its
size again): a few hundred kilobytes that unpack to gigabytes (a zip bomb) would take the
machine down. Word itself keeps a document's text under 32 MB, which is far less XML than this."""
DOCX_MAX_UNPACKED_BYTES = 512 * 2**20
"""Everything a .docx may unpack to, images included (python-docx reads every part into memory);
Word's own limit for a document with images."""


def _check_docx_size(path: Path) -> None:
    """Refuse a .docx whose parts unpack to more than the limits, from the sizes its zip directory
    declares (zipfile never inflates a member past its declared size, and a lying member fails its
    CRC), before python-docx inflates anything."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    total = sum(m.file_size for m in members)
    xml = sum(m.file_size for m in members if m.filename.lower().endswith((".xml", ".rels")))
    for size, limit, what in ((xml, DOCX_MAX_XML_BYTES, "XML"), (total, DOCX_MAX_UNPACKED_BYTES, "content")):
        if size > limit:
            raise LoadError(
                f"DOCX unpacks to {size / 2**20:,.0f} MB of {what}, over the {limit / 2**20:,.0f} MB limit "
                "(a zip bomb, or a document too large to index whole)"
            )


def load_docx(path: Path) -> list[Page]:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        _check_docx_size(path)
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as e:
        raise LoadError(f"not a readable DOCX ({e.__class__.__name__})") from e
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return [Page(number=None, text=_clean("\n".join(parts)))]


def load_html(path: Path) -> list[Page]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    headings = [h.get_text(" ", strip=True) for h in soup(["h1", "h2", "h3"])]
    # A data row's cells on one line (innermost tables first): get_text would put each on its
    # own. A row holding paragraphs, headings, lists or a table is layout, not data: left as it
    # is. Setting .string keeps the work linear; replace_with looks each row up in its parent.
    for row in reversed(soup.find_all("tr")):
        cells = [c.get_text(" ") for c in row.find_all(["td", "th"])]
        if row.find(_BLOCKS) is None and all(len(c) <= MAX_CELL_CHARS for c in cells):
            row.string = "\n" + table_row(cells) + "\n"
    text = _clean(soup.get_text("\n"))
    return [Page(number=None, text=text, title=title or path.stem, headings=[h for h in headings if h][:200])]


def load_text(path: Path) -> list[Page]:
    """A text file as one page. Markdown gets its tables compacted and its headings read; plain
    text is left as written (a log's "12 Jan 2024 ERROR ..." is no heading)."""
    if path.suffix.lower() not in MARKDOWN:
        return [Page(number=None, text=_clean(_read_text(path)))]
    text = _clean(compact_tables(_read_text(path)))
    return [Page(number=None, text=text, headings=heading_lines(text, markdown=True))]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise LoadError("binary content in a text file")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


LOADERS: dict[str, Callable[[Path], list[Page]]] = {
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
    ".md": load_text,
    ".markdown": load_text,
    ".txt": load_text,
}


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def load_file(path: Path) -> list[Page]:
    """Read a file into pages.

    Returns:
        The pages in order; at least one of them has text.
    Raises:
        LoadError: the format is unsupported, the file is corrupt, encrypted or holds no text.
    """
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"unsupported file type '{path.suffix or path.name}'")
    if path.stat().st_size == 0:
        raise LoadError("empty file")
    pages = loader(path)
    if not any(p.text for p in pages):
        reason = "no extractable text (scanned images need OCR)" if path.suffix.lower() == ".pdf" else "no text"
        raise LoadError(reason)
    return pages
