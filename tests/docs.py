"""Builders for small real documents used by the tests."""

from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, pages: list[str], password: str | None = None) -> Path:
    """A PDF with one text block per page (lines split on newlines)."""
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    encrypt = StandardEncryption(password, ownerPassword=password + "-owner") if password else None
    c = canvas.Canvas(str(path), encrypt=encrypt, invariant=1)
    for text in pages:
        y = 760
        for line in text.split("\n"):
            c.drawString(60, y, line)
            y -= 16
        c.showPage()
    c.save()
    return path


def make_docx(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    import docx

    path.parent.mkdir(parents=True, exist_ok=True)
    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    document.save(str(path))
    return path


def make_blank_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages hold no text (what a scan without OCR looks like to a parser)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), invariant=1)
    for _ in range(pages):
        c.rect(100, 100, 200, 200, fill=1)
        c.showPage()
    c.save()
    return path
