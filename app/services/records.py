"""What the services store of rag's answers: interactions of one identity, citations as records."""

from __future__ import annotations

from collections.abc import Sequence

from feedback.records import CitationRecord, Interaction
from rag.records import Citation


def citation_records(citations: Sequence[Citation]) -> list[CitationRecord]:
    """The passages of an answer as the interaction record keeps them."""
    return [
        CitationRecord(n=c.n, source=c.source, page=c.page, chunk_id=c.chunk_id, score=c.score, text=c.text)
        for c in citations
    ]


def interaction_for(identity, *, session_id: str, turn: int, question: str, **fields) -> Interaction:
    """A new interaction of ``identity`` (its user and role) for one turn of a conversation."""
    return Interaction(
        session_id=session_id, user=identity.user, role=identity.role, turn=turn, question=question, **fields
    )
