"""Splitting pages into chunks with LangChain's recursive splitter, never across a page."""

from __future__ import annotations

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.models import Chunk, Page, chunk_id


class PageChunker:
    """Splits each page on its own, so every chunk keeps the page it came from."""

    def __init__(self, chunk_size: int = 1000, chunk_overlap: int = 150):
        if chunk_overlap >= chunk_size:
            raise ValueError(f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})")
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
            keep_separator="end",
        )

    def chunk(self, source: str, doc_hash: str, pages: list[Page]) -> list[Chunk]:
        folder = source.rpartition("/")[0]
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for page in pages:
            for text in self._splitter.split_text(page.text):
                text = text.strip()
                if not text:
                    continue
                cid = chunk_id(source, page.number, text)
                if cid in seen:  # a page that repeats a passage verbatim: index it once
                    continue
                seen.add(cid)
                chunks.append(
                    Chunk(
                        id=cid,
                        source=source,
                        folder=folder,
                        page=page.number,
                        text=text,
                        doc_hash=doc_hash,
                        chunk_index=len(chunks),
                    )
                )
        return chunks
