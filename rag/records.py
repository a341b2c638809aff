"""Typed records that travel from the parser to the citation.

The page number is set by the loader and never changed afterwards: it is 1-based for paged
formats (PDF) and ``None`` for formats without pages.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field


def chunk_id(source: str, page: int | None, text: str) -> str:
    """Stable id of a chunk: the same source, page and text always give the same id."""
    digest = hashlib.sha256(f"{source}\x1f{page}\x1f{text}".encode()).hexdigest()
    return digest[:32]


PageKind = Literal["text", "contents", "index", "blank", "form", "repeated"]


class Table(BaseModel):
    """A table laid out on a page: where its rows sit in ``Page.text`` (``start`` to ``end``) and
    the line naming its columns, cells joined by `` | `` ("Name | Parameter | Units | Default");
    a table continued from the page before carries that page's header."""

    start: int
    end: int
    header: str


class Page(BaseModel):
    """Text of one page (or the whole document for page-less formats).

    ``title`` is the document's title as the file states it (its metadata or first lines), the
    same on every page; ``heading`` the section in effect at the top of the page and
    ``headings`` the sections that start on it, in order (from the PDF outline, or heading
    lines found in the text). ``kind`` says whether the page is worth indexing (see
    ``rag.ingest.pages``). ``tables`` are the tables found in a PDF page's layout.
    """

    number: int | None
    text: str
    title: str | None = None
    heading: str | None = None
    headings: list[str] = Field(default_factory=list)
    kind: PageKind = "text"
    tables: list[Table] = Field(default_factory=list)


class Chunk(BaseModel):
    """A passage of one page of one document, as indexed."""

    id: str
    source: str = Field(description="Path relative to the ingested root, '/' separated.")
    folder: str = Field(description="Folder part of source ('' at the root).")
    page: int | None
    text: str
    doc_hash: str = Field(description="Content hash of the whole file the chunk came from.")
    chunk_index: int = 0
    context: str = Field(
        default="",
        description="Document title, folder and nearest section heading: searched and embedded with the text, never shown as it.",
    )


class SearchFilters(BaseModel):
    """Metadata filters. ``folder`` matches the folder and everything below it."""

    folder: str | None = None
    source: str | None = None

    def is_empty(self) -> bool:
        return not (self.folder or self.source)


SearchMode = Literal["hybrid", "vector", "keyword"]


class ScoredChunk(BaseModel):
    """A chunk returned by a search, with the evidence for its rank.

    ``score`` is the fused rank score (higher is better); ``similarity`` is the cosine
    similarity of the vector match (None when the vector search did not return it) and
    ``keyword_score`` the BM25 score (None when keyword search did not return it).
    """

    chunk: Chunk
    score: float
    similarity: float | None = None
    keyword_score: float | None = None


class Citation(BaseModel):
    """A passage given to the model, numbered as in the prompt (``n`` starts at 1)."""

    n: int
    source: str
    page: int | None
    chunk_id: str
    score: float
    text: str

    @property
    def label(self) -> str:
        """How people see the citation: ``folder/file.pdf – page 10``."""
        return f"{self.source} – page {self.page}" if self.page is not None else self.source


class FlaggedPassage(BaseModel):
    """A passage holding text addressed to the model ("ignore previous instructions", a chat
    template token): found by ``rag.injection`` at ingest and again on an answer's citations."""

    source: str
    page: int | None
    chunk_id: str
    n: int | None = Field(default=None, description="The citation's number, in an answer.")
    kinds: list[str] = Field(description="What the matches do: override, role, address, reply, template…")
    matches: list[str] = Field(description="The matched text (the first few, each clipped).")


class Turn(BaseModel):
    """One earlier exchange of a conversation."""

    question: str
    answer: str


class SentenceSupport(BaseModel):
    """One sentence of an answer and the passage that supports it (``None``: no passage does)."""

    text: str
    citation: int | None
    similarity: float | None = None
    explicit: bool = Field(default=False, description="The model wrote the marker itself.")


class Grounding(BaseModel):
    """How an answer relates to its passages (see ``rag.grounding``)."""

    unsupported: list[str] = Field(default=[], description="Numbers and codes found in no passage.")
    sentences: list[SentenceSupport] = []
    supporting: dict[int, str] = Field(default={}, description="Passage n -> its sentence the answer rests on.")
    repeated: list[str] = Field(
        default=[], description="Sentences repeating an earlier answer of the conversation that no passage holds."
    )

    @property
    def unsupported_sentences(self) -> list[str]:
        return [s.text for s in self.sentences if s.citation is None]

    def marked(self) -> str:
        """The answer with a ``[n]`` after each sentence that had none and has support."""
        parts = []
        for s in self.sentences:
            if s.citation is not None and not s.explicit:
                stripped = s.text.rstrip()
                end = len(stripped) - 1 if stripped.endswith((".", "!", "?")) else len(stripped)
                parts.append(f"{stripped[:end]} [{s.citation}]{stripped[end:]}")
            else:
                parts.append(s.text)
        return " ".join(parts)


class Answer(BaseModel):
    """What the answer pipeline returns."""

    question: str
    answer: str
    found: bool = Field(description="False when the documents did not hold the answer.")
    citations: list[Citation]
    model_id: str
    prompt_version: str
    latency_ms: int
    retrieval_ms: int = 0
    context: str = Field(
        default="", description="The passages exactly as the model read them (trimmed); empty when it was not asked."
    )
    grounding: Grounding | None = Field(default=None, description="The answer checked against its passages.")
    injection: list[FlaggedPassage] = Field(
        default=[],
        description="Cited passages holding text addressed to the model; its sentences were withheld from the model.",
    )

    @property
    def unsupported(self) -> list[str]:
        return self.grounding.unsupported if self.grounding else []
