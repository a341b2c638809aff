"""The backends of one process, each built from the settings on first use (``Backends``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from pydantic import SecretStr

from app.config import Settings
from app.wiring.factories import EMBEDDERS, FEEDBACK_STORES, GENERATORS, VECTOR_STORES
from app.wiring.judge_model import LOCAL_JUDGE_BATCH, GeneratorJudgeModel
from app.wiring.model_roles import judge_settings, second_generator, stand_in_model, synth_settings
from common.secrets import register_secrets
from rag.generators.base import RemoteModel


class Backends:
    """The backends of one process, built on first use and never rebuilt.

    Shared by every user of the process (the Streamlit server's sessions, one CLI command); a
    test may assign an attribute before first use to share an already loaded model.
    """

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        register_secrets(secret_values(self.settings))

    @cached_property
    def embedder(self):
        return EMBEDDERS[self.settings.embedding_backend](self.settings)

    @cached_property
    def store(self):
        return VECTOR_STORES[self.settings.vector_store](self.settings)

    @cached_property
    def generator(self):
        return GENERATORS[self.settings.generator](self.settings)

    @cached_property
    def feedback_store(self):
        """The configured store behind a local outbox, so a write never fails for an outage."""
        from feedback.stores.outbox import OutboxFeedbackStore

        inner = FEEDBACK_STORES[self.settings.feedback_store](self.settings)
        return OutboxFeedbackStore(inner, self.settings.home_dir / "outbox")

    @cached_property
    def judge_generator(self):
        """The judge's model backend: the answer model itself when no RAGBOT_JUDGE_* changes it."""
        return second_generator(judge_settings(self.settings), self.settings, self.generator, "judge")

    @cached_property
    def judge(self):
        """Grades interactions and stores the verdicts (``feedback.judge.Judge``)."""
        from feedback.judge import Judge

        s = self.settings
        if stand_in_model(s, "judge"):
            # No judge model configured: score by similarity to the reference and the grounding
            # check (feedback.judge.reference), labelled as such, rather than store replies of a
            # model that cannot grade.
            from app.wiring.judge_evidence import RagEvidence
            from feedback.judge.reference import ReferenceJudge

            return ReferenceJudge(
                self.feedback_store, RagEvidence(self.embedder), max_reply_chars=s.judge_max_reply_chars
            )
        generator = self.judge_generator
        # One forward pass at a time in this process: a local model grades in batches when it can.
        local = judge_settings(s).generator == "local"
        batch = local and generator.supports_batch
        concurrency = LOCAL_JUDGE_BATCH if batch else 1 if local else s.judge_concurrency
        model = GeneratorJudgeModel(
            generator, max_new_tokens=s.judge_max_new_tokens, max_concurrency=concurrency, batch=batch
        )
        return Judge(self.feedback_store, model, concurrency=concurrency, max_reply_chars=s.judge_max_reply_chars)

    @cached_property
    def judge_worker(self):
        """The background judge of new answers (its thread starts on the first submit)."""
        from feedback.judge import JudgeWorker

        return JudgeWorker(self.judge)

    @cached_property
    def synth_generator(self):
        """The model that writes synthetic pairs: the judge's model when no RAGBOT_SYNTH_* changes it."""
        return second_generator(
            synth_settings(self.settings), judge_settings(self.settings), self.judge_generator, "synth"
        )

    @cached_property
    def synthesizer(self):
        """Writes grounded question-answer pairs from the indexed passages (``training.synth.Synthesizer``)."""
        from rag.generators.base import GenerationParams
        from training.synth import Synthesizer

        s = self.settings
        local = synth_settings(s).generator == "local"  # one forward pass at a time in this process
        return Synthesizer(
            self.store,
            self.retriever,
            self.embedder,
            self.feedback_store,
            self.synth_generator,
            self.synth_ledger,
            k=s.top_k,
            concurrency=1 if local else (s.synth_concurrency or s.judge_concurrency),
            params=GenerationParams(
                max_new_tokens=s.synth_max_new_tokens or s.judge_max_new_tokens, temperature=s.synth_temperature
            ),
        )

    @cached_property
    def synth_ledger(self):
        """What ``ragbot synth`` has asked about, beside the index (``training.synth.SynthLedger``)."""
        from training.synth import SynthLedger

        return SynthLedger(self.settings.home_dir / "synth" / "passages.jsonl")

    @cached_property
    def retriever(self):
        from rag.retrieval import Retriever

        s = self.settings
        reranker = None
        if s.reranker:
            from rag.rerankers.cross_encoder import CrossEncoderReranker

            reranker = CrossEncoderReranker(s.reranker)
        return Retriever(
            self.store,
            self.embedder,
            mode=s.search_mode,
            distinct_pages=s.distinct_pages,
            reranker=reranker,
            rerank_candidates=s.rerank_candidates,
            route_weight=s.route_weight,
            passage_feedback=self.passage_feedback if s.passage_feedback else None,
        )

    @cached_property
    def passage_feedback(self):
        """Passages endorsed by ratings and reviews, boosted for questions like theirs."""
        from app.endorsement_source import endorsements
        from rag.passage_feedback import PassageFeedback

        s = self.settings
        return PassageFeedback(
            self.embedder,
            lambda: endorsements(self.feedback_store),
            max_boost=s.passage_feedback_boost,
            min_similarity=s.passage_feedback_similarity,
            half_life_days=s.passage_feedback_half_life_days,
        )

    @cached_property
    def verified(self):
        """SME-verified answers, served to questions that ask the same thing (``rag.verified``)."""
        from app.verified_source import verified_entries
        from rag.verified import VerifiedAnswers

        return VerifiedAnswers(
            self.embedder,
            self.store,
            lambda: verified_entries(self.feedback_store),
            threshold=self.settings.verified_threshold,
        )

    def verified_changed(self) -> None:
        """A review changed what may be served and endorsed: reload both on their next use."""
        if "verified" in self.__dict__:
            self.verified.invalidate()
        if "passage_feedback" in self.__dict__:
            self.passage_feedback.invalidate()

    @cached_property
    def pipeline(self):
        from rag.generators.base import GenerationParams
        from rag.pipeline import AnswerPipeline

        s = self.settings
        return AnswerPipeline(
            self.retriever,
            self.generator,
            k=s.top_k,
            min_similarity=s.min_similarity,
            history_turns=s.history_turns,
            params=GenerationParams(max_new_tokens=s.max_new_tokens, temperature=s.temperature),
        )

    @cached_property
    def ab(self):
        """Which model answers each conversation while a blind A/B test runs (``app.wiring.ab``)."""
        from app.wiring.ab import ABRouter

        return ABRouter(self)

    @cached_property
    def catalog(self):
        """What was ingested from where: the roots and the last ingest's report."""
        from rag.ingest.catalog import IngestCatalog

        return IngestCatalog(self.settings.home_dir)

    def warm_up(self, progress: Callable[[str], None] | None = None) -> float:
        """Load the models now instead of at the first question; returns the seconds it took.

        ``progress`` is told what is loading, for a start-up screen."""
        import time

        started = time.perf_counter()
        if progress:
            progress(f"Loading the embedding model ({self.settings.embedding_model})…")
        self.embedder.embed_query("warm up")
        self.retriever.routers.get()  # lists the indexed documents once, before the first question
        if progress and not isinstance(self.generator, RemoteModel):
            progress(
                f"Loading the answer model ({self.generator.model_id}); the first start converts it once, "
                "which takes about half a minute…"
            )
        self.generator.load()
        self._warm = True
        return time.perf_counter() - started

    @property
    def warm(self) -> bool:
        """Whether ``warm_up`` has run in this process."""
        return getattr(self, "_warm", False)


def secret_values(s: Settings) -> list[str]:
    """The value of every secret setting (each ``SecretStr`` field that is set), for
    ``common.secrets`` to mask in whatever is shown or stored."""
    values = []
    for name in type(s).model_fields:
        value = getattr(s, name)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    return values
