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
from feedback.errors import InvalidFeedback, NotFound, StoreUnavailable
from feedback.records import LIKERT_LABELS, MAX_CORRECTION_CHARS, MAX_NOTE_CHARS, CitationRecord, Feedback, Interaction
from feedback.stores.base import InteractionFilter, SessionSummary
from rag.prompts import format_passages
from rag.errors import RagError
from rag.generators.base import GenerationParams
from rag.ingest.chunking import PageChunker
from rag.ingest.ingestor import IngestReport, Ingestor, Progress
from rag.models import Answer, ScoredChunk, SearchFilters, SearchMode, Turn
from rag.pipeline import AnswerPipeline, Retriever, StreamEvent


class ConfigError(RagError):
    """A backend was chosen without the settings it needs."""


class Services:
    """Backends built once, on first use, from one ``Settings``."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()

    @cached_property
    def embedder(self):
        s = self.settings
        if s.embedding_backend == "sagemaker":
            from rag.embedders.sagemaker import SageMakerEmbedder

            if not (s.embedding_endpoint and s.embedding_dimension):
                raise ConfigError("RAGBOT_EMBEDDING_BACKEND=sagemaker needs RAGBOT_EMBEDDING_ENDPOINT and RAGBOT_EMBEDDING_DIMENSION")
            from rag.embedders.concurrent import ConcurrentEmbedder

            inner = SageMakerEmbedder(s.embedding_endpoint, model_id=s.embedding_model, dimension=s.embedding_dimension, payload=s.embedding_payload)
            return ConcurrentEmbedder(inner, batch_size=inner.batch_size, concurrency=s.embed_concurrency)
        if s.embedding_backend == "bedrock":
            from rag.embedders.bedrock import BedrockEmbedder

            model = s.embedding_model if s.embedding_model != "all-MiniLM-L6-v2" else "amazon.titan-embed-text-v2:0"
            return BedrockEmbedder(model, dimension=s.embedding_dimension or 1024)
        from rag.embedders.local import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(s.embedding_model, batch_size=s.embed_batch_size)

    @cached_property
    def store(self):
        s = self.settings
        if s.vector_store == "opensearch":
            from rag.stores.opensearch import OpenSearchVectorStore

            if not s.opensearch_url:
                raise ConfigError("RAGBOT_VECTOR_STORE=opensearch needs OPENSEARCH_URL (e.g. https://localhost:9200)")
            auth = None
            if s.opensearch_auth == "basic":
                if not (s.opensearch_user and s.opensearch_password):
                    raise ConfigError("RAGBOT_OPENSEARCH_AUTH=basic needs RAGBOT_OPENSEARCH_USER and RAGBOT_OPENSEARCH_PASSWORD")
                auth = (s.opensearch_user, s.opensearch_password.get_secret_value())
            elif s.opensearch_auth == "sigv4":
                auth = "sigv4"
            return OpenSearchVectorStore(
                s.opensearch_url,
                s.opensearch_index,
                engine=s.opensearch_engine,
                space_type=s.opensearch_space_type,
                auth=auth,
                service=s.opensearch_service,
                verify_certs=s.opensearch_verify_certs,
                hybrid=s.opensearch_hybrid,
            )
        from rag.stores.embedded import LanceDBVectorStore

        return LanceDBVectorStore(s.index_dir, ann_min_rows=s.ann_min_rows)

    @cached_property
    def generator(self):
        s = self.settings
        if s.generator == "sagemaker":
            from rag.generators.sagemaker import SageMakerGenerator

            if not s.sagemaker_endpoint:
                raise ConfigError("RAGBOT_GENERATOR=sagemaker needs RAGBOT_SAGEMAKER_ENDPOINT")
            return SageMakerGenerator(s.sagemaker_endpoint, container=s.sagemaker_container, inference_component=s.sagemaker_inference_component)
        if s.generator == "bedrock":
            from rag.generators.bedrock import BedrockGenerator

            return BedrockGenerator(s.bedrock_model)
        if s.generator == "openai":
            from rag.generators.openai_compat import OpenAICompatGenerator

            if not (s.openai_base_url and s.openai_model):
                raise ConfigError("RAGBOT_GENERATOR=openai needs RAGBOT_OPENAI_BASE_URL and RAGBOT_OPENAI_MODEL")
            key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
            return OpenAICompatGenerator(s.openai_base_url, s.openai_model, api_key=key)
        from rag.generators.local import TransformersGenerator

        return TransformersGenerator(s.local_model, cache_dir=s.models_dir)

    @cached_property
    def feedback_store(self):
        """The configured store behind a local outbox, so a write never fails for an outage."""
        from feedback.outbox import OutboxFeedbackStore

        s = self.settings
        if s.feedback_store == "dynamodb":
            from feedback.stores.dynamodb import DynamoDBFeedbackStore

            inner = DynamoDBFeedbackStore(s.dynamodb_table)
        else:
            from feedback.stores.sqlite import SQLiteFeedbackStore

            inner = SQLiteFeedbackStore(s.home_dir / "feedback.db")
        return OutboxFeedbackStore(inner, s.home_dir / "outbox")

    @cached_property
    def retriever(self) -> Retriever:
        s = self.settings
        reranker = None
        if s.reranker:
            from rag.rerankers.cross_encoder import CrossEncoderReranker

            reranker = CrossEncoderReranker(s.reranker)
        return Retriever(
            self.store, self.embedder, mode=s.search_mode, distinct_pages=s.distinct_pages,
            reranker=reranker, rerank_candidates=s.rerank_candidates,
        )

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
            self.store, self.embedder, PageChunker(s.chunk_size, s.chunk_overlap), embed_batch=max(s.embed_batch_size * 4, 64),
            skip_pages=s.skip_boilerplate_pages,
        )
        report = ingestor.ingest(paths, prune=prune, force=force, progress=progress)
        self.last_ingest_path.parent.mkdir(parents=True, exist_ok=True)
        self.last_ingest_path.write_text(report.model_dump_json(indent=2))
        roots = set(self._roots()) | {str(Path(r)) for r in report.roots}
        self._roots_path.write_text(json.dumps(sorted(roots), indent=2))
        return report

    @property
    def _roots_path(self) -> Path:
        return self.settings.home_dir / "roots.json"

    def _roots(self) -> list[str]:
        try:
            return json.loads(self._roots_path.read_text())
        except FileNotFoundError:
            return []

    def locate_source(self, source: str) -> Path | None:
        """The file a cited source came from, when it is still where it was ingested from."""
        for root in self._roots():
            base = Path(root)
            candidate = (base.parent if base.is_file() else base) / source
            if candidate.is_file():
                return candidate
        return None

    def render_page(self, source: str, page: int, width: int = 900) -> bytes | None:
        """The cited page as a PNG, or None when the file is gone or not a PDF."""
        path = self.locate_source(source)
        if path is None or path.suffix.lower() != ".pdf":
            return None
        import io

        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(path)
        except pdfium.PdfiumError:  # replaced by a damaged or encrypted file since it was ingested
            return None
        try:
            if not 1 <= page <= len(pdf):
                return None
            pdf_page = pdf[page - 1]
            image = pdf_page.render(scale=width / pdf_page.get_width()).to_pil()
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            return buffer.getvalue()
        finally:
            pdf.close()

    def require_role(self, *roles: str) -> None:
        """Raise PermissionError unless the current user has one of ``roles``."""
        if self.settings.role not in roles:
            raise PermissionError(f"{self.settings.user} is a {self.settings.role}; this needs the {' or '.join(roles)} role")

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

    # -- feedback -------------------------------------------------------------------------------

    def record_answer(self, answer: Answer, *, session_id: str, turn: int) -> Interaction:
        """Store an answered question as an interaction (rated or not) and return it."""
        interaction = Interaction(
            session_id=session_id,
            user=self.settings.user,
            role=self.settings.role,
            turn=turn,
            question=answer.question,
            answer=answer.answer,
            found=answer.found,
            citations=[CitationRecord(n=c.n, source=c.source, page=c.page, chunk_id=c.chunk_id, score=c.score, text=c.text) for c in answer.citations],
            context=format_passages(answer.citations),
            model_id=answer.model_id,
            prompt_version=answer.prompt_version,
            latency_ms=answer.latency_ms,
        )
        self.feedback_store.put(interaction)
        return interaction

    def record_feedback(self, interaction_id: str, rating: int, correction: str | None = None, note: str | None = None) -> Interaction:
        """Rate an answer 1–5 (Likert), optionally with a better answer and a note.

        Rating again replaces the earlier feedback on the same record.
        Raises:
            InvalidFeedback: rating outside 1–5, correction or note too long.
            NotFound: no such interaction, or it is another user's.
        """
        if not isinstance(rating, int) or isinstance(rating, bool) or rating not in LIKERT_LABELS:
            raise InvalidFeedback(f"rating must be a whole number from 1 to 5, not {rating!r}")
        if correction and len(correction) > MAX_CORRECTION_CHARS:
            raise InvalidFeedback(f"The better answer is {len(correction)} characters long; the limit is {MAX_CORRECTION_CHARS}.")
        if note and len(note) > MAX_NOTE_CHARS:
            raise InvalidFeedback(f"The note is {len(note)} characters long; the limit is {MAX_NOTE_CHARS}.")
        try:
            existing = self.feedback_store.get(interaction_id)
        except StoreUnavailable:
            # The store is down: check ownership against this process's own copy, so the
            # rating is queued in the outbox instead of lost.
            existing = self.feedback_store.get_local(interaction_id)
        if existing is None or existing.user != self.settings.user:
            raise NotFound(f"no answer with id {interaction_id} for {self.settings.user}")
        return self.feedback_store.set_feedback(interaction_id, Feedback(rating=rating, correction=correction, note=note))

    def feedback_stats(self, filters: InteractionFilter | None = None):
        """Rating distribution, negative share, trend and the documents behind bad answers (admins, SMEs)."""
        from feedback.stats import feedback_stats

        self.require_role("admin", "sme")
        return feedback_stats(self.feedback_store, filters)

    def export_feedback(self, out, fmt: str, filters: InteractionFilter | None = None) -> int:
        """Stream the interactions matching ``filters`` to ``out`` as csv, jsonl or parquet (admins)."""
        from feedback.export import export

        self.require_role("admin")
        return export(self.feedback_store, out, fmt, filters)

    def feedback_queued(self) -> bool:
        """Whether this thread's last feedback write waits in the local outbox (store unreachable)."""
        return self.feedback_store.last_write_queued

    def feedback_pending(self) -> int:
        """Feedback writes waiting in the local outbox for the store to come back."""
        return self.feedback_store.pending()

    def conversations(self, limit: int = 20) -> list[SessionSummary]:
        """The current user's conversations, newest first."""
        return self.feedback_store.sessions(self.settings.user, limit=limit)

    def conversation(self, session_id: str) -> list[Interaction]:
        """The current user's turns of one conversation, in order."""
        page = self.feedback_store.list(InteractionFilter(user=self.settings.user, session_id=session_id), limit=200)
        return sorted(page.items, key=lambda i: i.turn)

    def warm_up(self) -> float:
        """Load the models now instead of at the first question; returns the seconds it took."""
        started = time.perf_counter()
        self.embedder.embed_query("warm up")
        if hasattr(self.generator, "load"):
            self.generator.load()
        return time.perf_counter() - started
