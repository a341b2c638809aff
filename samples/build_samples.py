#!/usr/bin/env python3
"""Build the ragbot sample corpus into samples/warehouse-standards/.

The corpus is a small, fictional set of engineering documents (PDF, DOCX,
HTML, Markdown, text) written for ragbot and dedicated to the public domain
under CC0 1.0 (see samples/LICENSE.md).  All text lives in corpus_pdfs.py and
corpus_other.py next to this script.

The build is deterministic: PDFs are written in reportlab's invariant mode
and the DOCX zip is rewritten with fixed timestamps, so running the script
twice produces byte-identical files.

Usage:
    python samples/build_samples.py              # writes samples/warehouse-standards/
    python samples/build_samples.py --out DIR    # writes somewhere else
    python samples/build_samples.py --check      # build, then run check_questions.py
"""

import argparse
import datetime
import html
import io
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

sys.dont_write_bytecode = True  # keep samples/ free of __pycache__

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from reportlab import rl_config  # noqa: E402

rl_config.invariant = 1  # fixed creation date and document ID -> byte-stable PDFs

from reportlab.lib import colors  # noqa: E402
from reportlab.lib.enums import TA_LEFT  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    BaseDocTemplate,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

import corpus_other  # noqa: E402
import corpus_pdfs  # noqa: E402

DEFAULT_OUT = HERE / "warehouse-standards"
AUTHOR = "ragbot sample corpus (fictional, CC0 1.0)"
CREATOR = "samples/build_samples.py"
FIXED_DATE = datetime.datetime(2024, 9, 18, 9, 0, 0)

PAGE_W, PAGE_H = A4
MARGIN_L = MARGIN_R = 20 * mm
MARGIN_T = 24 * mm
MARGIN_B = 22 * mm
TEXT_W = PAGE_W - MARGIN_L - MARGIN_R

INK = colors.HexColor("#1f2933")
RULE = colors.HexColor("#7b8794")
HEAD_FILL = colors.HexColor("#d9e2ec")

STYLES = {
    "title": ParagraphStyle(
        "title", fontName="Helvetica-Bold", fontSize=20, leading=25, textColor=INK, spaceBefore=18, spaceAfter=8
    ),
    "subtitle": ParagraphStyle("subtitle", fontName="Helvetica", fontSize=12, leading=16, textColor=INK, spaceAfter=4),
    "h1": ParagraphStyle(
        "h1", fontName="Helvetica-Bold", fontSize=12.5, leading=16, textColor=INK, spaceBefore=12, spaceAfter=5
    ),
    "h2": ParagraphStyle(
        "h2", fontName="Helvetica-Bold", fontSize=10.5, leading=13, textColor=INK, spaceBefore=8, spaceAfter=4
    ),
    "p": ParagraphStyle(
        "p", fontName="Helvetica", fontSize=9.5, leading=13, textColor=INK, alignment=TA_LEFT, spaceAfter=6
    ),
    "bullet": ParagraphStyle(
        "bullet",
        fontName="Helvetica",
        fontSize=9.5,
        leading=13,
        textColor=INK,
        leftIndent=14,
        bulletIndent=4,
        spaceAfter=2,
    ),
    "cell": ParagraphStyle("cell", fontName="Helvetica", fontSize=8.5, leading=10.5, textColor=INK),
    "cell_head": ParagraphStyle("cell_head", fontName="Helvetica-Bold", fontSize=8.5, leading=10.5, textColor=INK),
}


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------


def _pdf_table(spec):
    header = [Paragraph(escape(c), STYLES["cell_head"]) for c in spec["header"]]
    rows = [[Paragraph(escape(c), STYLES["cell"]) for c in row] for row in spec["rows"]]
    widths = spec["widths"]
    if widths is None:
        widths = [1.0 / len(spec["header"])] * len(spec["header"])
    t = Table([header] + rows, colWidths=[w * TEXT_W for w in widths], repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
                ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return t


def _pdf_flowables(block):
    kind, content = block
    if kind in ("title", "subtitle", "h1", "h2", "p"):
        return [Paragraph(escape(content), STYLES[kind])]
    if kind == "bullets":
        return [Paragraph(escape(item), STYLES["bullet"], bulletText="\u2022") for item in content]
    if kind == "table":
        return [_pdf_table(content), Spacer(1, 6)]
    raise ValueError(f"unknown block kind {kind!r}")


def build_pdf(doc, out_path):
    n_pages = len(doc["pages"])
    seen_pages = []

    def decorate(canv, _doc):
        page_no = canv.getPageNumber()
        seen_pages.append(page_no)
        canv.saveState()
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.5)
        canv.setFillColor(INK)
        canv.setFont("Helvetica-Bold", 8)
        canv.drawString(MARGIN_L, PAGE_H - 14 * mm, doc["title"])
        canv.setFont("Helvetica", 8)
        canv.drawRightString(PAGE_W - MARGIN_R, PAGE_H - 14 * mm, doc["header_right"])
        canv.line(MARGIN_L, PAGE_H - 15.5 * mm, PAGE_W - MARGIN_R, PAGE_H - 15.5 * mm)
        canv.line(MARGIN_L, 15.5 * mm, PAGE_W - MARGIN_R, 15.5 * mm)
        canv.drawString(MARGIN_L, 11 * mm, doc["footer_left"])
        canv.drawRightString(PAGE_W - MARGIN_R, 11 * mm, f"Page {page_no} of {n_pages}")
        canv.restoreState()

    buf = io.BytesIO()
    template = BaseDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN_L,
        rightMargin=MARGIN_R,
        topMargin=MARGIN_T,
        bottomMargin=MARGIN_B,
        title=doc["title"],
        author=AUTHOR,
        subject=doc.get("subject", ""),
        creator=CREATOR,
        invariant=1,
    )
    frame = Frame(
        MARGIN_L,
        MARGIN_B,
        TEXT_W,
        PAGE_H - MARGIN_T - MARGIN_B,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    template.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=decorate)])

    story = []
    for i, page in enumerate(doc["pages"]):
        if i:
            story.append(PageBreak())
        for block in page:
            story.extend(_pdf_flowables(block))
    template.build(story)

    if len(seen_pages) != n_pages:
        raise SystemExit(
            f"{doc['path']}: content defines {n_pages} pages but the PDF has {len(seen_pages)}; "
            "a page overflowed - shorten it so facts stay on their stated page"
        )
    _write_bytes(out_path, buf.getvalue())
    return n_pages


# ---------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------


def _normalize_zip(data):
    """Rewrite a zip with fixed timestamps so the file is byte-stable."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def build_docx(spec, out_path):
    import docx

    d = docx.Document()
    cp = d.core_properties
    cp.title = spec["title"]
    cp.author = AUTHOR
    cp.last_modified_by = AUTHOR
    cp.comments = "Fictional sample document written for ragbot. CC0 1.0."
    cp.created = FIXED_DATE
    cp.modified = FIXED_DATE
    cp.revision = 1

    for kind, content in spec["blocks"]:
        if kind == "title":
            d.add_heading(content, level=0)
        elif kind == "h1":
            d.add_heading(content, level=1)
        elif kind == "h2":
            d.add_heading(content, level=2)
        elif kind == "p":
            d.add_paragraph(content)
        elif kind == "bullets":
            for item in content:
                d.add_paragraph(item, style="List Bullet")
        elif kind == "table":
            header, rows = content["header"], content["rows"]
            t = d.add_table(rows=1 + len(rows), cols=len(header))
            t.style = "Table Grid"
            for j, text in enumerate(header):
                cell = t.rows[0].cells[j]
                cell.text = ""
                cell.paragraphs[0].add_run(text).bold = True
            for i, row in enumerate(rows, start=1):
                for j, text in enumerate(row):
                    t.rows[i].cells[j].text = text
            d.add_paragraph("")
        else:
            raise ValueError(f"unknown block kind {kind!r}")

    buf = io.BytesIO()
    d.save(buf)
    _write_bytes(out_path, _normalize_zip(buf.getvalue()))


# ---------------------------------------------------------------------------
# HTML, Markdown, text
# ---------------------------------------------------------------------------


def build_html(spec, out_path):
    e = html.escape
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(spec['title'])}</title>",
        '<meta name="generator" content="samples/build_samples.py">',
        "<style>",
        "body { font-family: Arial, Helvetica, sans-serif; margin: 2em; color: #1f2933; }",
        "table { border-collapse: collapse; width: 100%; }",
        "th, td { border: 1px solid #7b8794; padding: 4px 6px; text-align: left; vertical-align: top; }",
        "th { background: #d9e2ec; }",
        "</style>",
        "</head>",
        "<body>",
        f"<h1>{e(spec['title'])}</h1>",
    ]
    lines += [f"<p>{e(par)}</p>" for par in spec["intro"]]
    lines += [
        "<table>",
        "<thead>",
        "<tr>" + "".join(f"<th>{e(h)}</th>" for h in spec["header"]) + "</tr>",
        "</thead>",
        "<tbody>",
    ]
    for row in spec["rows"]:
        lines.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
    lines += ["</tbody>", "</table>"]
    lines += [f"<p>{e(par)}</p>" for par in spec["outro"]]
    lines += ["</body>", "</html>", ""]
    _write_text(out_path, "\n".join(lines))


def _write_bytes(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_text(path, text):
    _write_bytes(path, text.encode("utf-8"))


# ---------------------------------------------------------------------------


def build(out_dir):
    out_dir = Path(out_dir)
    written = []
    for doc in corpus_pdfs.PDF_DOCUMENTS:
        path = out_dir / doc["path"]
        pages = build_pdf(doc, path)
        written.append((doc["path"], pages))

    spec = corpus_other.MAINTENANCE_CONTRACT
    build_docx(spec, out_dir / spec["path"])
    written.append((spec["path"], None))

    spec = corpus_other.COMMISSIONING_CHECKLIST
    build_html(spec, out_dir / spec["path"])
    written.append((spec["path"], None))

    spec = corpus_other.ONBOARDING_MD
    _write_text(out_dir / spec["path"], spec["text"])
    written.append((spec["path"], None))

    spec = corpus_other.DRAWING_REGISTER
    _write_text(out_dir / spec["path"], corpus_other.drawing_register_text())
    written.append((spec["path"], None))

    total = 0
    for rel, pages in written:
        size = (out_dir / rel).stat().st_size
        total += size
        pages_s = f"{pages:>3} pages" if pages else "          "
        print(f"{size:>8,} B  {pages_s}  {rel}")
    print(f"{total:>8,} B  total, {len(written)} files -> {out_dir}")
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output directory")
    ap.add_argument(
        "--check", action="store_true", help="after building, verify samples/questions.jsonl against the output"
    )
    args = ap.parse_args(argv)
    build(args.out)
    if args.check:
        cmd = [sys.executable, str(HERE / "check_questions.py"), "--corpus", args.out]
        return subprocess.call(cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
