"""The cited page rendered with the supporting sentence highlighted from PDFium's text layer."""

from __future__ import annotations

import io

from PIL import Image

from rag.ingest.render import highlight_rects, render_pdf_page
from tests.docs import make_pdf


def yellow_pixels(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in image.getdata() if r > 200 and g > 180 and b < 160)


def test_the_supporting_sentence_is_highlighted_where_it_stands(tmp_path):
    pdf = tmp_path / "criteria.pdf"
    make_pdf(
        pdf,
        [
            "General requirements.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
        ],
    )
    plain = render_pdf_page(pdf, 2, width=600)
    marked = render_pdf_page(
        pdf, 2, width=600, highlight="The site provides 412 car parking spaces and 38 trailer positions."
    )
    assert plain and marked and yellow_pixels(plain) == 0 and yellow_pixels(marked) > 500
    absent = render_pdf_page(pdf, 2, width=600, highlight="Sprinkler heads are spaced 3.0 m apart.")
    assert yellow_pixels(absent) == 0


def test_rectangles_come_from_the_text_layer(tmp_path):
    import pypdfium2 as pdfium

    pdf = tmp_path / "a.pdf"
    make_pdf(pdf, ["The doors are rated FD60 for sixty minutes."])
    doc = pdfium.PdfDocument(pdf)
    text_page = doc[0].get_textpage()
    rects = highlight_rects(text_page, "rated FD60 for sixty minutes")
    assert rects and all(left < right and bottom < top for left, bottom, right, top in rects)
    text_page.close()
    doc.close()


def test_a_missing_page_or_file_gives_nothing(tmp_path):
    pdf = tmp_path / "a.pdf"
    make_pdf(pdf, ["One page."])
    assert render_pdf_page(pdf, 2) is None and render_pdf_page(tmp_path / "none.pdf", 1) is None
