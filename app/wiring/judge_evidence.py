"""The reference judge's evidence made with rag: the product's embedder and the chat's grounding
check, for ``feedback.judge.reference.ReferenceJudge`` (the judge when no judge model is set)."""

from __future__ import annotations

from feedback.judge.reference import Grounded
from feedback.records import Interaction


class RagEvidence:
    """The reference judge's measurements (``feedback.judge.reference.ReferenceEvidence``) made
    with the product's embedder and the chat's grounding check (``rag.grounding``)."""

    def __init__(self, embedder, *, threshold: float | None = None):
        from rag.grounding import DEFAULT_THRESHOLD

        self.embedder = embedder
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold

    def similarity(self, a: str, b: str) -> float:
        vectors = self.embedder.embed_documents([a, b])
        return float(vectors[0] @ vectors[1])

    def grounding(self, interaction: Interaction) -> Grounded:
        from rag.grounding import check
        from rag.records import Citation

        citations = [
            Citation(n=c.n, source=c.source, page=c.page, chunk_id=c.chunk_id, score=c.score, text=c.text)
            for c in interaction.citations
            if c.text
        ]
        if not citations and interaction.context.strip():  # records without their passages' texts
            citations = [
                Citation(n=1, source="context", page=None, chunk_id="context", score=1.0, text=interaction.context)
            ]
        found = check(interaction.answer, interaction.question, citations, self.embedder, threshold=self.threshold)
        return Grounded(
            sentences=len(found.sentences),
            supported=sum(1 for s in found.sentences if s.citation is not None),
            unsupported=list(found.unsupported),
        )

    def identifiers(self, text: str) -> set[str]:
        from rag.grounding import normalise, tokens

        return {normalise(t) for t in tokens(text)}
