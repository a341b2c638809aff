"""What the services store of rag's answers: its citations as feedback records."""

from __future__ import annotations

from collections.abc import Sequence

from feedback.records import CitationRecord
from rag.models import Citation


def citation_records(citations: Sequence[Citation]) -> list[CitationRecord]:
    """The passages of an answer as the interaction record keeps them."""
    return [
        CitationRecord(n=c.n, source=c.source, page=c.page, chunk_id=c.chunk_id, score=c.score, text=c.text)
        for c in citations
    ]
