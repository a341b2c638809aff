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


def test_a_sentence_hyphenated_over_two_lines_is_highlighted_whole(tmp_path):
    import pypdfium2 as pdfium

    from rag.ingest.loaders import load_file

    pdf = tmp_path / "r.pdf"
    make_pdf(pdf, ["Resistance. It can be calcu-\nlated exactly. Other text."])
    # The passage text the chunker keeps (hence the supporting sentence) has the word whole.
    sentence = "It can be calculated exactly."
    assert sentence in load_file(pdf)[0].text
    doc = pdfium.PdfDocument(pdf)
    text_page = doc[0].get_textpage()
    rects = highlight_rects(text_page, sentence)
    text_page.close()
    doc.close()
    # both lines marked: the one with "It can be calcu-" and the one with "lated exactly."
    assert len({round(top) for _, _, _, top in rects}) == 2
    first_line = max(top for _, _, _, top in rects)
    assert min(left for left, _, _, top in rects if top == first_line) > 100  # not "Resistance." before it


def test_the_whole_sentence_is_found_with_its_spacing_and_punctuation_aside(tmp_path):
    import pypdfium2 as pdfium

    from rag.ingest.render import sentence_spans

    pdf = tmp_path / "s.pdf"
    make_pdf(pdf, ["Doors are rated FD60.\nThe fire pump runs weekly.", "Doors are rated FD60."])
    doc = pdfium.PdfDocument(pdf)
    first = doc[0].get_textpage()
    text = first.get_text_range()
    spans = sentence_spans(first, "the fire  pump runs, weekly")
    assert [text[i : i + n] for i, n in spans] == ["The fire pump runs weekly"]
    assert sentence_spans(first, "pump") == [] and sentence_spans(first, "sprinkler heads") == []
    first.close()
    doc.close()
