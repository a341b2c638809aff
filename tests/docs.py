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


def make_docx_bomb(path: Path, megabytes: int, level: int = 1) -> Path:
    """A valid .docx whose word/document.xml unpacks to about ``megabytes`` MB of paragraphs while
    the file stays small (deflate shrinks the repeats ~150x at level 1, ~300x at level 9)."""
    import zipfile

    plain = make_docx(path.with_name(path.name + ".seed.docx"), ["seed"])
    paragraph = b"<w:p><w:r><w:t>Sprinkler heads are inspected every quarter by the contractor.</w:t></w:r></w:p>"
    block = paragraph * 10_000
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename != "word/document.xml":
                out.writestr(item, data)
                continue
            head, _, tail = data.partition(b"<w:body>")
            with out.open(item.filename, "w", force_zip64=True) as f:
                f.write(head + b"<w:body>")
                for _ in range(megabytes * 2**20 // len(block)):
                    f.write(block)
                f.write(tail)
    plain.unlink()
    return path
