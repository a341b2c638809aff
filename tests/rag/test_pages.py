"""Which pages the ingestor leaves out, and where each chunk sits in its document."""

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.chunking import PageChunker, chunk_context
from rag.ingest.pages import classify, page_kind
from rag.ingest.structure import document_title, heading_lines, heading_positions, with_headings
from rag.records import Page

CONTENTS = "\n".join(
    ["Contents"]
    + [f"{i}.{j} Section about topic {i}{j} . . . . . . . . {10 * i + j}" for i in range(1, 5) for j in range(1, 4)]
)
INDEX = "\n".join(["Index"] + [f"term{i}, {i + 3}, {i * 7}" for i in range(20)])
TABLE = "\n".join(
    ["Name Parameter Units Default Example"]
    + [f"P{i} parameter number {i} V {i}.0 {i}e-3" for i in range(12)]
    + ["The parameters above are measured at 27 degrees and scale with the device area as the text explains."]
)
FORM = "\n".join(f"Field {i}: ______________" for i in range(10))


def test_contents_index_blank_and_form_pages_are_found():
    assert page_kind(CONTENTS) == "contents"
    assert page_kind(INDEX) == "index"
    assert page_kind("  7 \n") == "blank"
    assert page_kind("Parking: 412 spaces.") == "text"
    assert page_kind(FORM) == "form"


def test_tables_and_prose_beside_a_contents_box_stay():
    assert page_kind(TABLE) == "text"
    prose = " ".join(["The hook management system lets packages add code to kernel hooks safely."] * 12)
    assert page_kind(CONTENTS + "\n" + prose) == "text"


def test_a_page_repeating_an_earlier_one_is_marked_and_page_numbers_do_not_matter():
    pages = [
        Page(number=1, text="Warranty terms apply. Page 1"),
        Page(number=2, text="Body."),
        Page(number=3, text="Warranty terms apply. Page 3"),
    ]
    assert [p.kind for p in classify(pages)] == ["text", "text", "repeated"]


def test_a_page_with_nothing_but_its_running_head_is_blank():
    pages = [
        Page(number=n, text=f"{n} CHAPTER 2. CIRCUIT DESCRIPTION\nBody of page {n} " + "words " * n)
        for n in range(1, 6)
    ]
    pages.append(Page(number=6, text="6 CHAPTER 2. CIRCUIT DESCRIPTION"))
    assert [p.kind for p in classify(pages)] == ["text"] * 5 + ["blank"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=3000))
def test_page_kind_takes_any_text(text):
    assert page_kind(text) in {"text", "contents", "index", "blank", "form"}


def test_title_takes_metadata_and_the_first_short_lines():
    first = "LATEX News\nIssue 28, April 2018\nContents\nA new home 1"
    assert document_title(None, first) == "LATEX News Issue 28, April 2018"
    assert document_title("Microsoft Word - draft.docx", "Annual Report 2023\n" + "x" * 200) == "Annual Report 2023"
    assert document_title("Ngspice manual", "Ngspice manual\nVersion 39") == "Ngspice manual Version 39"


def test_heading_lines_skip_contents_entries_and_sentences():
    text = "3.3.2 Semiconductor Resistors\n3.3.3 Semiconductor Resistor Model (R) . . . . 78\n2 cars are parked.\nChapter 6: Mesh module"
    assert heading_lines(text) == ["3.3.2 Semiconductor Resistors", "Chapter 6: Mesh module"]


def test_outline_headings_carry_over_pages_and_land_on_their_line():
    pages = [
        Page(number=1, text="Contents\nDiode Model . . . 2\nIntro text."),
        Page(number=2, text="Intro, continued.\nDiode Model\nBV Reverse breakdown voltage V inf"),
        Page(number=3, text="IS Saturation current A 1e-14"),
    ]
    outline = [(0, "7 Diodes", 0), (1, "7.2 Diode Model", 1)]
    headed = with_headings(pages, outline)
    assert [p.heading for p in headed] == [None, "7 Diodes", "7 Diodes › 7.2 Diode Model"]
    positions = heading_positions(headed[1])
    assert positions == [(len("Intro, continued.\n"), "7 Diodes › 7.2 Diode Model")]


def test_chunks_carry_title_folder_and_heading_but_show_the_page_text():
    pages = with_headings(
        [Page(number=1, text="Scope\n4.2 Design density\nThe density is 8 mm/min.", title="Sprinkler Standard FP-300")]
    )
    (chunk,) = PageChunker(200, 20).chunk("Fire/FP-300.pdf", "h", pages)
    assert chunk.text == pages[0].text
    assert chunk.context == "Sprinkler Standard FP-300 · Fire · 4.2 Design density"
    assert chunk_context("Same", "same", None) == "Same"


def test_filing_items_notes_and_markdown_headings_are_headings():
    text = "\n".join(
        [
            "Item 1. | Financial Statements",  # a contents row kept as a table row
            "Item 7. Management’s Discussion and Analysis of Financial Condition and Results of Operations",
            "Note 10 — Segment Information",
            "Note 5 to the financial statements describes the debt.",  # a sentence
            "Item 2. Properties | 21",  # a contents entry
            "Note 2: If the model is missing, the default is used",  # a manual's remark
            "NOTE 1 The values given in this table apply to",  # a standard's note
            "Item 12 Gasket, rubber, 40 mm",  # a parts list
            "Item 6. [Reserved]",
            "## Installing the probe",
            "#hashtag is not a heading",
            "```bash",
            "# install the dependencies first",  # a comment in a fenced code block
            "```",
        ]
    )
    filing = [
        "Item 1. Financial Statements",
        "Item 7. Management’s Discussion and Analysis of Financial Condition and Results of Operations",
        "Note 10 — Segment Information",
        "Item 6. [Reserved]",
    ]
    assert heading_lines(text) == filing  # outside Markdown "## ..." may be an example's comment
    assert heading_lines(text, markdown=True) == [*filing, "Installing the probe"]


def test_a_markdown_file_gives_each_chunk_the_section_it_sits_in(tmp_path):
    from rag.ingest.loaders import load_file

    path = tmp_path / "Finance" / "ACME 10-Q 2024Q2.md"
    path.parent.mkdir()
    path.write_text(
        "Item 1. Financial Statements\n\nNote 8 — Segment Information\n\n"
        + "| Segment | | | Three Months Ended June 30, 2024 |\n| --- | --- | --- | --- |\n"
        + "".join(f"| Segment {i} | | | $ | {i},412 | |\n" for i in range(40))
        + "\nItem 2. Management’s Discussion and Analysis\n\n"
        + "Revenue rose in every segment. " * 40
    )
    chunks = PageChunker(400, 40).chunk("Finance/ACME 10-Q 2024Q2.md", "h", load_file(path))
    table = [c for c in chunks if "Segment 39" in c.text]
    assert table and table[0].context == "ACME 10-Q 2024Q2 · Finance · Note 8 — Segment Information"
    assert "Segment 39 | $39,412" in table[0].text
    assert chunks[-1].context.endswith("Item 2. Management’s Discussion and Analysis")
