"""A cited page of a PDF, rendered as an image for people to check the passage against."""

from __future__ import annotations

import io
from pathlib import Path


def render_pdf_page(path: Path, page: int, width: int = 900) -> bytes | None:
    """Page ``page`` (1-based) of the PDF at ``path`` as a PNG ``width`` pixels wide, or None when
    the file is not a readable PDF (replaced, damaged or encrypted since ingest) or has no such page."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError):
        return None
    try:
        if not 1 <= page <= len(pdf):
            return None
        pdf_page = pdf[page - 1]
        image = pdf_page.render(scale=width / pdf_page.get_width()).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    finally:
        pdf.close()
