"""Corpus actions: ingest, status, search, and finding a cited page again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from app.services.access import Action, authorize
from app.services.base import AuditedService
from rag.ingest.ingestor import IngestReport, Progress
from rag.models import ScoredChunk, SearchFilters, SearchMode


class CorpusStatus(BaseModel):
    """What the index holds and what the last ingest did."""

    documents: int
    pages: int
    chunks: int
    embedding_model: str | None
    last_ingest: IngestReport | None
    # What an OpenSearch store detected of its cluster (version, plugins, hybrid_mode, writes);
    # None for the embedded store. README's deployment checklist reads it from `status --json`.
    store: dict | None = None


class CorpusService(AuditedService):
    """Corpus actions on behalf of one identity."""

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        force: bool = False,
        progress: Callable[[Progress], None] | None = None,
    ) -> IngestReport:
        """Index the files under ``paths`` (see ``Ingestor.ingest``) and keep the report as the last
        ingest. Raises Forbidden (admins only), RagError."""
        from rag.ingest.chunking import PageChunker
        from rag.ingest.ingestor import Ingestor

        authorize(self.identity, Action.INGEST)
        s = self.backends.settings
        ingestor = Ingestor(
            self.backends.store,
            self.backends.embedder,
            PageChunker(s.chunk_size, s.chunk_overlap),
            embed_batch=max(s.embed_batch_size * 4, 64),
            follow_links=s.ingest_follow_links,
            skip_pages=s.skip_boilerplate_pages,
        )
        report = ingestor.ingest(paths, prune=prune, force=force, progress=progress)
        self.backends.catalog.record(report)
        self.audit.record(
            "ingest",
            target=", ".join(str(p) for p in paths),
            indexed=len(report.indexed),
            failed=len(report.failed),
            pruned=len(report.pruned),
            prune=prune,
            force=force,
        )
        return report

    def status(self) -> CorpusStatus:
        """Documents, pages and chunks in the index, its embedding model, and the last ingest."""
        store = self.backends.store
        docs = store.documents()
        meta = store.embedding_model() or {}
        detected = getattr(store, "detected", None)
        return CorpusStatus(
            documents=len(docs),
            pages=sum(d.pages for d in docs.values()),
            chunks=store.count(),
            embedding_model=meta.get("embedding_model"),
            last_ingest=self.backends.catalog.last_report(),
            store=detected() if callable(detected) else None,
        )

    def is_empty(self) -> bool:
        return self.backends.store.count() == 0

    def search(
        self, query: str, *, k: int | None = None, mode: SearchMode | None = None, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """The best chunks for ``query``. Raises InvalidQuery for an empty or oversized query."""
        authorize(self.identity, Action.ASK)
        return self.backends.retriever.search(query, k=k or self.backends.settings.top_k, mode=mode, filters=filters)

    def locate_source(self, source: str) -> Path | None:
        """The file a cited source came from, when it is still where it was ingested from."""
        return self.backends.catalog.locate(source)

    def render_page(self, source: str, page: int, width: int = 900, highlight: str | None = None) -> bytes | None:
        """The cited page as a PNG with ``highlight`` marked on it, or None when the file is gone or not a PDF."""
        from rag.ingest.render import render_pdf_page

        path = self.locate_source(source)
        if path is None or path.suffix.lower() != ".pdf":
            return None
        return render_pdf_page(path, page, width, highlight)
