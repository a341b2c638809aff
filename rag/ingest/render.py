"""A cited page of a PDF, rendered as an image for people to check the passage against, with the
sentence the answer rests on highlighted where it stands on the page.

The highlight comes from PDFium's own text layer (``PdfTextPage.search`` and the rectangles of
the matched characters), so it marks exactly the words on the page, the way a PDF viewer's
search highlight does, without a browser-side PDF viewer.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

HIGHLIGHT = (255, 214, 0, 96)  # translucent yellow


def _needles(sentence: str) -> list[str]:
    """What to search the page for: the sentence, else shorter runs of its words (line breaks and
    hyphenation in the PDF often split a long sentence where the passage text does not)."""
    words = re.sub(r"\s+", " ", sentence).strip().split(" ")
    needles = [" ".join(words)]
    for size in (12, 8, 5):
        if len(words) > size:
            needles += [" ".join(words[i : i + size]) for i in range(0, len(words) - size + 1, size)]
    return [n for n in needles if len(n) >= 8]


MIN_MATCH_CHARS = 8


def _letters(text: str) -> tuple[str, list[int]]:
    """The letters and digits of ``text``, lower-cased and compatibility-normalised ("ﬁ" is
    "fi"), with the index in ``text`` each came from."""
    kept: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).lower():
            if c.isalnum():
                kept.append(c)
                where.append(i)
    return "".join(kept), where


def sentence_spans(text_page, sentence: str) -> list[tuple[int, int]]:
    """(first character, count) of each place the page holds ``sentence``, its spaces, line
    breaks, hyphens and punctuation aside: a sentence the PDF breaks over two lines, with a word
    hyphenated at the break ("calcu-" / "lated"), is found whole, which PDFium's own search
    (``PdfTextPage.search``) does not do."""
    needle, _ = _letters(sentence)
    count = text_page.count_chars()
    if len(needle) < MIN_MATCH_CHARS or count <= 0:
        return []
    text = text_page.get_text_range(0, count)
    if len(text) != count:  # characters outside the BMP: text offsets are no character indices
        return []
    letters, where = _letters(text)
    spans = []
    at = letters.find(needle)
    while at >= 0:
        first, last = where[at], where[at + len(needle) - 1]
        spans.append((first, last - first + 1))
        at = letters.find(needle, at + len(needle))
    return spans


def highlight_rects(text_page, sentence: str) -> list[tuple[float, float, float, float]]:
    """PDF-space rectangles (left, bottom, right, top) of ``sentence`` on the page, or [] when the
    page's text layer does not hold it."""
    found: list[tuple[float, float, float, float]] = []
    for index, count in sentence_spans(text_page, sentence):
        found += [text_page.get_rect(i) for i in range(text_page.count_rects(index, count))]
    if found:
        return found
    for needle in _needles(sentence):
        searcher = text_page.search(needle, match_case=False)
        try:
            match = searcher.get_next()
            while match:
                index, count = match
                for i in range(text_page.count_rects(index, count)):
                    found.append(text_page.get_rect(i))
                match = searcher.get_next()
        finally:
            searcher.close()
        if found and needle == _needles(sentence)[0]:
            break  # the whole sentence was found: the fragments add nothing
    return found


def render_pdf_page(path: Path, page: int, width: int = 900, highlight: str | None = None) -> bytes | None:
    """Page ``page`` (1-based) of the PDF at ``path`` as a PNG ``width`` pixels wide, with
    ``highlight`` marked where it stands on the page; None when the file is not a readable PDF
    (replaced, damaged or encrypted since ingest) or has no such page."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError):
        return None
    try:
        if not 1 <= page <= len(pdf):
            return None
        pdf_page = pdf[page - 1]
        scale = width / pdf_page.get_width()
        image = pdf_page.render(scale=scale).to_pil().convert("RGBA")
        if highlight:
            from PIL import Image, ImageDraw

            text_page = pdf_page.get_textpage()
            try:
                rects = highlight_rects(text_page, highlight)
            finally:
                text_page.close()
            if rects:
                overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
                draw = ImageDraw.Draw(overlay)
                height = pdf_page.get_height()
                for left, bottom, right, top in rects:
                    # PDF space starts at the bottom left; the image at the top left.
                    draw.rectangle(
                        [
                            left * scale - 1,
                            (height - top) * scale - 1,
                            right * scale + 1,
                            (height - bottom) * scale + 1,
                        ],
                        fill=HIGHLIGHT,
                    )
                image = Image.alpha_composite(image, overlay)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG")
        return buffer.getvalue()
    finally:
        pdf.close()
