"""Tables in PDFs: found from where PDFium lays out their text, and their header kept with every
chunk of their rows (in the chunk's context), on the page the table starts on and the next."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from rag.ingest.chunking import PageChunker, page_parts
from rag.ingest.loaders import load_file
from rag.records import Page, Table

HEADER = ["Name", "Parameter", "Units", "Default", "Example"]
COLUMNS = [60, 130, 330, 390, 460]


def rows(first: int, count: int) -> list[list[str]]:
    return [[f"P{i}", f"parameter number {i}", "V", f"{i}.5", f"{i}e-3"] for i in range(first, first + count)]


def make_table_pdf(path: Path, pages: list[tuple[str, list[str] | None, list[list[str]], str]]) -> Path:
    """Pages of prose, then a table laid out in columns (its header, when given, then its rows),
    then prose: what a manual's parameter table looks like to a PDF reader."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), invariant=1)
    for before, header, body, after in pages:
        y = 760
        for line in before.split("\n"):
            c.drawString(60, y, line)
            y -= 15
        for row in ([header] if header else []) + body:
            for x, cell in zip(COLUMNS, row, strict=False):
                c.drawString(x, y, cell)
            y -= 15
        for line in after.split("\n"):
            c.drawString(60, y, line)
            y -= 15
        c.showPage()
    c.save()
    return path


PROSE = "The switch model allows an almost ideal switch to be described in the simulator.\nIts parameters are below."


def test_a_pdf_table_is_found_with_its_header_and_its_rows(tmp_path: Path):
    path = make_table_pdf(tmp_path / "m.pdf", [(PROSE, HEADER, rows(1, 6), "The resistance follows.")])
    (page,) = load_file(path)
    (table,) = page.tables
    assert table.header == "Name | Parameter | Units | Default | Example"
    held = page.text[table.start : table.end]
    assert held.startswith("Name Parameter Units Default Example\nP1 parameter number 1")
    assert held.endswith("P6 parameter number 6 V 6.5 6e-3")
    assert "switch" not in held and "resistance follows" not in held


def test_prose_and_a_two_column_list_are_no_table(tmp_path: Path):
    lines = "\n".join(f"Sentence {i} of a paragraph about slab loads and the design of footings." for i in range(20))
    options = [[f"--enable-option{i}", f"Compile with option {i} and test it."] for i in range(8)]
    (page,) = load_file(make_table_pdf(tmp_path / "p.pdf", [(lines, None, options, "")]))
    assert page.tables == []


def test_every_chunk_of_a_long_table_reads_its_header(tmp_path: Path):
    path = make_table_pdf(tmp_path / "m.pdf", [(PROSE, HEADER, rows(1, 30), "The resistance follows.")])
    pages = load_file(path)
    chunks = PageChunker(chunk_size=300, chunk_overlap=40).chunk("m.pdf", "h", pages)
    with_rows = [c for c in chunks if "parameter number" in c.text]
    assert len(with_rows) >= 3
    for c in with_rows:
        assert "Name Parameter Units Default Example" in c.text or "Name | Parameter | Units | Default" in c.context
    later = [c for c in with_rows if "Name Parameter" not in c.text]
    assert later and all("Default | Example" in c.context for c in later)
    assert all("Default |" not in c.context for c in chunks if "parameter number" not in c.text)


def test_a_table_continued_on_the_next_page_takes_its_header_along(tmp_path: Path):
    path = make_table_pdf(
        tmp_path / "m.pdf",
        [(PROSE, HEADER, rows(1, 5), ""), ("", None, rows(6, 5), "Notes on the model follow here.")],
    )
    first, second = load_file(path)
    assert [t.header for t in second.tables] == ["Name | Parameter | Units | Default | Example"]
    assert second.text[second.tables[0].start :].startswith("P6 parameter number 6")
    chunks = PageChunker().chunk("m.pdf", "h", [first, second])
    (on_second,) = [c for c in chunks if c.page == 2]
    assert "Name | Parameter | Units | Default | Example" in on_second.context


def test_a_table_is_chunked_apart_from_the_prose_before_it(tmp_path: Path):
    prose = "\n".join(f"Sentence {i} of the switch model description, which runs on for a while." for i in range(8))
    path = make_table_pdf(tmp_path / "m.pdf", [(prose + "\nThe parameters are:", HEADER, rows(1, 5), "(*) A note.")])
    pages = load_file(path)
    chunks = PageChunker().chunk("m.pdf", "h", pages)
    (table,) = [c for c in chunks if "parameter number" in c.text]
    # the header, every row, and the short note under it; the long paragraph before goes alone
    assert table.text.startswith("Name Parameter Units Default Example\nP1 ") and table.text.endswith("(*) A note.")
    assert "switch model description" not in table.text
    for c in chunks:
        assert c.text in pages[0].text  # still the page's own words
    again = PageChunker().chunk("m.pdf", "h", load_file(path))
    assert [c.id for c in chunks] == [c.id for c in again]


@given(
    st.text(alphabet="ab \n", max_size=300),
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), max_size=4),
    st.integers(0, 80),
)
def test_page_parts_cover_the_page_in_order(text, spans, min_prose):
    tables = [Table(start=min(a, b, len(text)), end=min(max(a, b), len(text)), header="A | B | C") for a, b in spans]
    page = Page(number=1, text=text, tables=tables)
    parts = page_parts(page, min_prose)
    at = 0
    for offset, part in parts:
        assert offset >= at and text[offset : offset + len(part)] == part and part.strip()
        assert not text[at:offset].strip()  # nothing but blanks left out between parts
        at = offset + len(part)
    assert not text[at:].strip()


def test_a_page_whose_layout_cannot_be_read_keeps_its_text(tmp_path: Path, monkeypatch):
    import pypdfium2 as pdfium

    import rag.ingest.loaders as loaders

    def broken(textpage):
        raise pdfium.PdfiumError("bad text layer")

    monkeypatch.setattr(loaders, "table_layouts", broken)
    path = make_table_pdf(tmp_path / "m.pdf", [(PROSE, HEADER, rows(1, 4), "")])
    (page,) = load_file(path)
    assert "P3 parameter number 3" in page.text and page.tables == []


@given(st.lists(st.text(alphabet="ab1 |", max_size=12), max_size=12), st.text(alphabet="ab1", max_size=60))
def test_the_rows_found_spell_the_table_from_its_start(lines, body):
    from rag.ingest.loaders import _find_rows

    span = _find_rows(lines, 0, body)
    if span is None:
        return
    first, last = span
    assert 0 <= first <= last < len(lines)
    spelled = "".join("".join(line.split()) for line in lines[first : last + 1])
    assert len("".join(lines[first].split())) >= 3 and body.startswith(spelled)


def test_a_first_row_of_lower_case_words_is_data_not_a_header(tmp_path: Path):
    colours = [[f"pale{c}", f"light{c}", c] for c in ("red", "cyan", "green", "blue", "grey")]
    (page,) = load_file(make_table_pdf(tmp_path / "c.pdf", [("Named colours:", None, colours, "")]))
    assert page.tables == []  # no header to give its rows, and none carried from a page before
    first, second = load_file(
        make_table_pdf(tmp_path / "t.pdf", [(PROSE, HEADER, rows(1, 4), ""), ("", None, colours, "")])
    )
    assert [t.header for t in second.tables] == ["Name | Parameter | Units | Default | Example"]
