from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.errors import LoadError
from rag.ingest.chunking import PageChunker
from rag.ingest.loaders import load_file
from tests.docs import make_blank_pdf, make_docx, make_pdf


def test_pdf_pages_keep_their_numbers(tmp_path: Path):
    path = make_pdf(
        tmp_path / "spec.pdf", ["First page: scope.", "Second page: 412 car parking spaces.", "Third page: lighting."]
    )
    pages = load_file(path)
    assert [p.number for p in pages] == [1, 2, 3]
    assert "412 car parking spaces" in pages[1].text
    assert "412" not in pages[0].text + pages[2].text


def test_encrypted_pdf_is_reported_as_encrypted(tmp_path: Path):
    path = make_pdf(tmp_path / "secret.pdf", ["classified"], password="s3cret")
    with pytest.raises(LoadError, match="encrypted"):
        load_file(path)


def test_corrupt_pdf_is_reported(tmp_path: Path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage without xref")
    with pytest.raises(LoadError, match="not a readable PDF"):
        load_file(path)


def test_truncated_pdf_is_reported(tmp_path: Path):
    good = make_pdf(tmp_path / "good.pdf", ["some text"] * 3)
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    with pytest.raises(LoadError):
        load_file(cut)


def test_empty_file_is_reported(tmp_path: Path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(LoadError, match="empty file"):
        load_file(path)


def test_pdf_without_text_is_reported(tmp_path: Path):
    with pytest.raises(LoadError, match="no extractable text"):
        load_file(make_blank_pdf(tmp_path / "scan.pdf"))


def test_unsupported_type_is_reported(tmp_path: Path):
    path = tmp_path / "model.dwg"
    path.write_bytes(b"AC1032")
    with pytest.raises(LoadError, match="unsupported file type '.dwg'"):
        load_file(path)


def test_docx_paragraphs_and_tables(tmp_path: Path):
    path = make_docx(
        tmp_path / "c.docx",
        ["Maintenance scope.", "Quarterly inspection of DD-114."],
        table=[["Item", "Interval"], ["Sprinklers", "Annual"]],
    )
    (page,) = load_file(path)
    assert page.number is None
    assert "Quarterly inspection of DD-114." in page.text
    assert "Sprinklers | Annual" in page.text


def test_corrupt_docx_is_reported(tmp_path: Path):
    path = tmp_path / "c.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LoadError, match="not a readable DOCX"):
        load_file(path)


def test_html_drops_scripts_and_styles(tmp_path: Path):
    path = tmp_path / "g.html"
    path.write_text(
        "<html><head><style>p{color:red}</style><script>var secret=1;</script></head><body><h1>Checklist</h1><p>Test the fire pump.</p></body></html>"
    )
    (page,) = load_file(path)
    assert "Test the fire pump." in page.text and "Checklist" in page.text
    assert "secret" not in page.text and "color" not in page.text


def test_text_in_legacy_encoding(tmp_path: Path):
    path = tmp_path / "register.txt"
    path.write_bytes("Drawing A-101 – ground floor, 20 °C".encode("cp1252"))
    (page,) = load_file(path)
    assert page.text == "Drawing A-101 – ground floor, 20 °C"


def test_chunks_never_cross_pages_and_keep_the_page(tmp_path: Path):
    long_page = " ".join(f"Sentence {i} about slab loads." for i in range(200))
    path = make_pdf(
        tmp_path / "long.pdf",
        ["alpha " * 50, "\n".join(long_page[i : i + 90] for i in range(0, len(long_page), 90)), "omega " * 50],
    )
    pages = load_file(path)
    chunks = PageChunker(chunk_size=400, chunk_overlap=50).chunk("folder/long.pdf", "hash", pages)
    assert {c.page for c in chunks} == {1, 2, 3}
    for c in chunks:
        assert c.text in pages[c.page - 1].text.replace("\n", "\n")  # the chunk is text of its own page
        assert len(c.text) <= 400
        assert c.folder == "folder"
    assert sum(c.page == 2 for c in chunks) > 3
    again = PageChunker(chunk_size=400, chunk_overlap=50).chunk("folder/long.pdf", "hash", pages)
    assert [c.id for c in chunks] == [c.id for c in again]


def test_running_headers_and_footers_are_dropped(tmp_path: Path):
    bodies = ["Scope and purpose.", "Parking: 412 spaces.", "Lighting: 20 lux.", "Doors: DD-114.", "Racking: 12 m."]
    pages = [f"Design Criteria v20.1.1\n{body}\nPage {n} of 5" for n, body in enumerate(bodies, start=1)]
    loaded = load_file(make_pdf(tmp_path / "dc.pdf", pages))
    assert [p.text for p in loaded] == bodies


def test_recurring_body_lines_are_kept(tmp_path: Path):
    rows = "\n".join(f"Row {i}: item {i} costs {i * 3} units" for i in range(12))
    loaded = load_file(make_pdf(tmp_path / "t.pdf", [f"Table {n}\n{rows}\nEnd {n}" for n in range(4)]))
    assert "Row 5: item 5 costs 15 units" in loaded[2].text


def test_short_documents_keep_every_line(tmp_path: Path):
    loaded = load_file(make_pdf(tmp_path / "memo.pdf", ["Memo\nPage 1", "Memo\nPage 2"]))
    assert loaded[0].text == "Memo\nPage 1"


def test_markdown_table_rows_lose_their_empty_cells_and_rules(tmp_path: Path):
    path = tmp_path / "q2.md"
    path.write_text(
        "Net sales by segment:\n| | | Three Months Ended | |\n| --- | --- | --- | --- |\n"
        "| Greater China | | | $ | 16,372 | | | $ | 17,812 | |\n| Gross margin | | | 46.6 | % | |\n| | | |\n"
    )
    (page,) = load_file(path)
    assert (
        page.text
        == "Net sales by segment:\nThree Months Ended\nGreater China | $16,372 | $17,812\nGross margin | 46.6%"
    )


def test_html_table_rows_stay_on_one_line(tmp_path: Path):
    path = tmp_path / "q2.html"
    path.write_text(
        "<html><body><p>Net sales</p><table><tr><th>Region</th><th></th><th>2024</th></tr>"
        "<tr><td>Greater <b>China</b></td><td>$</td><td>16,372</td></tr>"
        "<tr><td>Japan</td><td>$</td><td>6,262</td></tr></table></body></html>"
    )
    (page,) = load_file(path)
    assert "Region | 2024" in page.text
    assert "Greater China | $16,372" in page.text and "Japan | $6,262" in page.text


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="|\n"), max_size=12), max_size=12))
def test_a_compacted_row_keeps_every_word_of_its_cells(cells):
    from rag.ingest.loaders import table_row

    row = table_row(cells)
    assert "\n" not in row and not row.startswith(" | ") and " |  | " not in row
    assert "".join(row.replace(" | ", "").split()) == "".join("".join(cells).split())


def test_an_html_page_laid_out_in_a_table_keeps_its_lines_and_headings(tmp_path: Path):
    path = tmp_path / "manual.html"
    path.write_text(
        "<html><head><title>Manual</title></head><body><table><tr><td>Home</td><td>"
        "<h1>Pump manual</h1><p>First paragraph.</p><h2>3.1 Maintenance</h2><p>Change the seal.</p>"
        "<table><tr><td>Seal</td><td>$</td><td>40</td></tr></table></td></tr></table></body></html>"
    )
    (page,) = load_file(path)
    assert page.headings == ["Pump manual", "3.1 Maintenance"]
    assert "\nFirst paragraph.\n" in page.text and "\nChange the seal.\n" in page.text
    assert "Seal | $40" in page.text  # the data table inside it still reads row by row


def test_plain_text_and_code_blocks_are_left_as_written(tmp_path: Path):
    log = tmp_path / "pump.txt"
    log.write_text("12 Jan 2024 ERROR Connection refused by\n| raw | | pipe |\n")
    (page,) = load_file(log)
    assert page.headings == [] and "| raw | | pipe |" in page.text
    readme = tmp_path / "README.md"
    readme.write_text("# Setup\n```\n| a | | b |\n```\n| a | | b |\n")
    (page,) = load_file(readme)
    assert page.headings == ["Setup"]
    assert page.text == "# Setup\n```\n| a | | b |\n```\na | b"


def test_a_word_broken_across_lines_is_whole_again(tmp_path: Path):
    # PDFium marks the hyphen at a line end as \x02 and joins the lines: "calcu\x02lated".
    path = make_pdf(
        tmp_path / "r.pdf", ["The resistance can be calcu-\nlated from the sheet resistance of MS-\nDOS files."]
    )
    (page,) = load_file(path)
    assert page.text == "The resistance can be calculated from the sheet resistance of MS-DOS files."
    chunks = PageChunker().chunk("r.pdf", "h", [page])
    assert "calculated" in chunks[0].text and "\x02" not in chunks[0].text
