"""The composition root: builds stores and models from settings, and the functions the CLI and
the pages call. Nothing below ``app`` reads settings or the environment.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path

from app.config import Settings
from rag.generators.base import GenerationParams
from rag.ingest.chunking import PageChunker
from rag.ingest.ingestor import IngestReport, Ingestor, Progress
from rag.models import Answer, ScoredChunk, SearchFilters, SearchMode, Turn
from rag.pipeline import AnswerPipeline, Retriever, StreamEvent


class Services:
    """Backends built once, on first use, from one ``Settings``."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()

    @cached_property
    def embedder(self):
        from rag.embedders.local import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(self.settings.embedding_model, batch_size=self.settings.embed_batch_size)

    @cached_property
    def store(self):
        if self.settings.vector_store == "embedded":
            from rag.stores.embedded import LanceDBVectorStore

            return LanceDBVectorStore(self.settings.index_dir, ann_min_rows=self.settings.ann_min_rows)
        raise ValueError(f"unknown vector store {self.settings.vector_store!r}")

    @cached_property
    def generator(self):
        if self.settings.generator == "local":
            from rag.generators.local import TransformersGenerator

            return TransformersGenerator(self.settings.local_model, cache_dir=self.settings.models_dir)
        raise ValueError(f"unknown generator {self.settings.generator!r}")

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.embedder, mode=self.settings.search_mode)

    @cached_property
    def pipeline(self) -> AnswerPipeline:
        s = self.settings
        return AnswerPipeline(
            self.retriever,
            self.generator,
            k=s.top_k,
            min_similarity=s.min_similarity,
            history_turns=s.history_turns,
            params=GenerationParams(max_new_tokens=s.max_new_tokens, temperature=s.temperature),
        )

    # -- ingestion ------------------------------------------------------------------------------

    @property
    def last_ingest_path(self) -> Path:
        return self.settings.home_dir / "last-ingest.json"

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        force: bool = False,
        progress: Callable[[Progress], None] | None = None,
    ) -> IngestReport:
        """Index the files under ``paths``; see ``Ingestor.ingest``. The report is kept as the
        last ingest for the status page."""
        s = self.settings
        ingestor = Ingestor(
            self.store, self.embedder, PageChunker(s.chunk_size, s.chunk_overlap), embed_batch=max(s.embed_batch_size * 4, 64)
        )
        report = ingestor.ingest(paths, prune=prune, force=force, progress=progress)
        self.last_ingest_path.parent.mkdir(parents=True, exist_ok=True)
        self.last_ingest_path.write_text(report.model_dump_json(indent=2))
        return report

    def corpus_status(self) -> dict:
        """Documents, pages and chunks in the index, the embedding model, and the last ingest."""
        docs = self.store.documents()
        try:
            last = json.loads(self.last_ingest_path.read_text())
        except FileNotFoundError:
            last = None
        return {
            "documents": len(docs),
            "pages": sum(d.pages for d in docs.values()),
            "chunks": self.store.count(),
            "embedding_model": (self.store.embedding_model() or {}).get("embedding_model") if hasattr(self.store, "embedding_model") else None,
            "last_ingest": last,
        }

    # -- questions ------------------------------------------------------------------------------

    def search(self, query: str, *, k: int | None = None, mode: SearchMode | None = None, filters: SearchFilters | None = None) -> list[ScoredChunk]:
        """The best chunks for ``query``. Raises InvalidQuery for an empty or oversized query."""
        return self.retriever.search(query, k=k or self.settings.top_k, mode=mode, filters=filters)

    def ask(self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None) -> Answer:
        """A cited answer. Raises InvalidQuery, GeneratorError, StoreError."""
        return self.pipeline.ask(question, history, filters)

    def ask_stream(self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None) -> Iterator[StreamEvent]:
        """A cited answer as events: citations, tokens, then the Answer."""
        return self.pipeline.stream(question, history, filters)

    def warm_up(self) -> float:
        """Load the models now instead of at the first question; returns the seconds it took."""
        started = time.perf_counter()
        self.embedder.embed_query("warm up")
        if hasattr(self.generator, "load"):
            self.generator.load()
        return time.perf_counter() - started
