"""Splitting pages into chunks with LangChain's recursive splitter, never across a page.

Each chunk carries its context (document title, folder, nearest section heading) in
``Chunk.context``: indexed for keyword search and embedded with the text, while ``text`` stays
the page's own words, which is what a citation shows. The chunk id hashes source, page and
text only, so a better heading never changes an id.
"""

from __future__ import annotations

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.ingest.structure import heading_at, heading_positions
from rag.records import Chunk, Page, chunk_id

CONTEXT_SEPARATOR = " · "


def chunk_context(title: str | None, folder: str, heading: str | None, table: str | None = None) -> str:
    """ "Ngspice User's Manual · ngspice · 7 Diodes › 7.2 Diode Model (D)"; parts left out when empty.

    ``table`` is the header of a table whose rows the chunk holds without it ("Name | Parameter |
    Units | Default"): a row "TNOM parameter measurement temperature °C 27 50" says nothing of
    which figure is the default until its header is read with it."""
    parts = [title or "", folder.replace("/", " / "), heading or "", table or ""]
    seen: list[str] = []
    for part in parts:
        if part and part.lower() not in (s.lower() for s in seen):
            seen.append(part)
    return CONTEXT_SEPARATOR.join(seen)


def table_header(page: Page, start: int, text: str) -> str | None:
    """The header of the first table whose rows the chunk at ``start`` of the page holds while its
    header line is not in it (a table's later rows, or the rest of a table from the page before)."""
    end = start + len(text)
    for table in page.tables:
        if table.start < end and start < table.end and table.header.replace(" | ", " ") not in text:
            return table.header
    return None


def page_parts(page: Page, min_prose: int) -> list[tuple[int, str]]:
    """The page's text as (offset, text) parts: each table found on it (``Page.tables``) apart
    from the prose around it, so a table's rows are chunked with their header and its section,
    not glued to the end of the paragraphs before it. Prose shorter than ``min_prose`` between
    or around tables ("The parameters available are as follows:", a footnote under the table)
    stays with the table next to it."""
    if not page.tables:
        return [(0, page.text)] if page.text.strip() else []
    cuts = [0]
    for table in sorted(page.tables, key=lambda t: t.start):
        start, end = max(table.start, cuts[-1]), max(table.end, cuts[-1])
        if start - cuts[-1] >= max(min_prose, 1):
            cuts.append(start)
        if end > cuts[-1]:
            cuts.append(end)
    if len(cuts) > 1 and len(page.text) - cuts[-1] < min_prose:
        cuts.pop()
    bounds = zip(cuts, [*cuts[1:], len(page.text)], strict=True)
    return [(start, page.text[start:end]) for start, end in bounds if page.text[start:end].strip()]


class PageChunker:
    """Splits each page on its own, so every chunk keeps the page it came from.

    Lines are split last (after blank lines): a table row, which pypdfium2 reads as one line,
    stays whole unless it alone is longer than a chunk. A table found in a PDF's layout is
    chunked apart from the prose around it (``page_parts``).
    """

    def __init__(self, chunk_size: int = 1000, chunk_overlap: int = 150):
        if chunk_overlap >= chunk_size:
            raise ValueError(f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})")
        self._min_prose = chunk_overlap
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
            keep_separator="end",
            add_start_index=True,
        )

    def chunk(self, source: str, doc_hash: str, pages: list[Page]) -> list[Chunk]:
        folder = source.rpartition("/")[0]
        fallback_title = source.rpartition("/")[2].rsplit(".", 1)[0]
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for page in pages:
            positions = heading_positions(page)
            parts = page_parts(page, self._min_prose)
            pieces = [
                (offset + piece.metadata.get("start_index", 0), piece.page_content)
                for offset, part in parts
                for piece in self._splitter.create_documents([part])
            ]
            for start, content in pieces:
                text = content.strip()
                if not text:
                    continue
                cid = chunk_id(source, page.number, text)
                if cid in seen:  # a page that repeats a passage verbatim: index it once
                    continue
                seen.add(cid)
                # The heading a third of the way in: a chunk that opens with the end of one
                # section and then starts the next is mostly about the next.
                heading = heading_at(page, positions, start + len(text) // 3)
                chunks.append(
                    Chunk(
                        id=cid,
                        source=source,
                        folder=folder,
                        page=page.number,
                        text=text,
                        doc_hash=doc_hash,
                        chunk_index=len(chunks),
                        context=chunk_context(
                            page.title or fallback_title, folder, heading, table_header(page, start, text)
                        ),
                    )
                )
        return chunks
