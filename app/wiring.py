"""The composition root: every backend is built here, from one ``Settings``, on first use.

One factory map per backend kind; a new backend is a function and an entry in its map. Nothing
else in the product reads settings to decide which class to build.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from pydantic import SecretStr

from app.config import Settings
from common.secrets import register_secrets, scrub
from rag.errors import RagError
from rag.generators.base import RemoteModel


class ConfigError(RagError):
    """A backend was chosen without the settings it needs."""


def _need(condition: object, message: str) -> None:
    if not condition:
        raise ConfigError(message)


# -- embedders ------------------------------------------------------------------------------------


def _local_embedder(s: Settings):
    from rag.embedders.local import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(s.embedding_model, batch_size=s.embed_batch_size)


def _sagemaker_embedder(s: Settings):
    from rag.embedders.sagemaker import SageMakerEmbedder

    _need(
        s.embedding_endpoint and s.embedding_dimension,
        "RAGBOT_EMBEDDING_BACKEND=sagemaker needs RAGBOT_EMBEDDING_ENDPOINT and RAGBOT_EMBEDDING_DIMENSION",
    )
    from rag.embedders.concurrent import ConcurrentEmbedder

    inner = SageMakerEmbedder(
        s.embedding_endpoint,
        model_id=s.embedding_model,
        dimension=s.embedding_dimension,
        payload=s.embedding_payload,
        deadline=s.request_deadline_s,
    )
    # Remote embedding is latency-bound: several batches in flight ingest at the endpoint's rate.
    return ConcurrentEmbedder(inner, batch_size=inner.batch_size, concurrency=s.embed_concurrency)


def _bedrock_embedder(s: Settings):
    from rag.embedders.bedrock import BedrockEmbedder

    model = s.embedding_model if s.embedding_model != "all-MiniLM-L6-v2" else "amazon.titan-embed-text-v2:0"
    return BedrockEmbedder(model, dimension=s.embedding_dimension or 1024, deadline=s.request_deadline_s)


EMBEDDERS: dict[str, Callable[[Settings], Any]] = {
    "local": _local_embedder,
    "sagemaker": _sagemaker_embedder,
    "bedrock": _bedrock_embedder,
}

# -- vector stores --------------------------------------------------------------------------------


def _embedded_store(s: Settings):
    from rag.stores.embedded import LanceDBVectorStore

    return LanceDBVectorStore(s.index_dir, ann_min_rows=s.ann_min_rows)


def _opensearch_store(s: Settings):
    from rag.stores.opensearch import OpenSearchVectorStore

    _need(s.opensearch_url, "RAGBOT_VECTOR_STORE=opensearch needs OPENSEARCH_URL (e.g. https://localhost:9200)")
    auth: Any = None
    if s.opensearch_auth == "basic":
        _need(
            s.opensearch_user and s.opensearch_password,
            "RAGBOT_OPENSEARCH_AUTH=basic needs RAGBOT_OPENSEARCH_USER and RAGBOT_OPENSEARCH_PASSWORD",
        )
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


VECTOR_STORES: dict[str, Callable[[Settings], Any]] = {"embedded": _embedded_store, "opensearch": _opensearch_store}

# -- generators -----------------------------------------------------------------------------------


def _local_generator(s: Settings):
    from rag.generators.local import LocalGenerator

    return LocalGenerator(s.local_model, cache_dir=s.models_dir, runtime=s.local_runtime, precision=s.local_precision)


def _sagemaker_generator(s: Settings):
    from rag.generators.sagemaker import SageMakerGenerator

    _need(s.sagemaker_endpoint, "RAGBOT_GENERATOR=sagemaker needs RAGBOT_SAGEMAKER_ENDPOINT")
    return SageMakerGenerator(
        s.sagemaker_endpoint,
        container=s.sagemaker_container,
        inference_component=s.sagemaker_inference_component,
        deadline=s.request_deadline_s,
        stream_deadline=s.stream_deadline_s,
    )


def _bedrock_generator(s: Settings):
    from rag.generators.bedrock import BedrockGenerator

    return BedrockGenerator(s.bedrock_model, stream_deadline=s.stream_deadline_s)


def _openai_generator(s: Settings):
    from rag.generators.openai_compat import OpenAICompatGenerator

    _need(
        s.openai_base_url and s.openai_model,
        "RAGBOT_GENERATOR=openai needs RAGBOT_OPENAI_BASE_URL and RAGBOT_OPENAI_MODEL",
    )
    key = s.openai_api_key.get_secret_value() if s.openai_api_key else None
    return OpenAICompatGenerator(
        s.openai_base_url,
        s.openai_model,
        api_key=key,
        deadline=s.request_deadline_s,
        stream_deadline=s.stream_deadline_s,
    )


GENERATORS: dict[str, Callable[[Settings], Any]] = {
    "local": _local_generator,
    "sagemaker": _sagemaker_generator,
    "bedrock": _bedrock_generator,
    "openai": _openai_generator,
}

# -- the AI judge ---------------------------------------------------------------------------------

# The settings a generator is built from: the judge reuses the answer model when they all match.
GENERATOR_FIELDS = (
    "generator",
    "sagemaker_endpoint",
    "sagemaker_container",
    "sagemaker_inference_component",
    "bedrock_model",
    "openai_base_url",
    "openai_model",
    "openai_api_key",
    "local_model",
    "local_runtime",
    "local_precision",
)
# RAGBOT_JUDGE_* setting -> the answer-model setting it replaces for the judge.
JUDGE_OVERRIDES = {
    "judge_backend": "generator",
    "judge_sagemaker_endpoint": "sagemaker_endpoint",
    "judge_sagemaker_container": "sagemaker_container",
    "judge_sagemaker_inference_component": "sagemaker_inference_component",
    "judge_bedrock_model": "bedrock_model",
    "judge_openai_base_url": "openai_base_url",
    "judge_openai_model": "openai_model",
    "judge_openai_api_key": "openai_api_key",
    "judge_local_model": "local_model",
}


def judge_settings(s: Settings) -> Settings:
    """The settings the judge's generator is built from: the answer model's, with every
    RAGBOT_JUDGE_* that is set in place of its counterpart."""
    update = {field: getattr(s, judge) for judge, field in JUDGE_OVERRIDES.items() if getattr(s, judge) is not None}
    return s.model_copy(update=update)


# RAGBOT_SYNTH_* setting -> the answer-model setting it replaces for the synth model; unset, the
# judge's (which falls back to the answer model's).
SYNTH_OVERRIDES = {
    "synth_backend": "generator",
    "synth_sagemaker_endpoint": "sagemaker_endpoint",
    "synth_sagemaker_container": "sagemaker_container",
    "synth_sagemaker_inference_component": "sagemaker_inference_component",
    "synth_bedrock_model": "bedrock_model",
    "synth_openai_base_url": "openai_base_url",
    "synth_openai_model": "openai_model",
    "synth_openai_api_key": "openai_api_key",
    "synth_local_model": "local_model",
}


def synth_settings(s: Settings) -> Settings:
    """The settings the synth model's generator is built from: the judge's (``judge_settings``),
    with every RAGBOT_SYNTH_* that is set in place of its counterpart."""
    js = judge_settings(s)
    update = {field: getattr(s, synth) for synth, field in SYNTH_OVERRIDES.items() if getattr(s, synth) is not None}
    return js.model_copy(update=update)


def stand_in_model(s: Settings, role: str) -> bool:
    """Whether the judge's (``role="judge"``) or the synth model's (``"synth"``) model would be
    the local answer model by default, which cannot do the job (it does not keep the reply form):
    its backend is local and no RAGBOT_JUDGE_LOCAL_MODEL (or RAGBOT_SYNTH_LOCAL_MODEL) names a
    local model for it on purpose."""
    resolved = judge_settings(s) if role == "judge" else synth_settings(s)
    named = s.judge_local_model or (s.synth_local_model if role == "synth" else None)
    return resolved.generator == "local" and named is None


LOCAL_JUDGE_BATCH = 8
"""Records a local judge model is handed at a time (see ``GeneratorJudgeModel``)."""


class GeneratorJudgeModel:
    """An answer-model backend as the judge's model (``feedback.judge.JudgeModel``): chat messages
    in, the whole reply out, greedy, with the backend's errors in the feedback package's terms
    (``ThrottledError`` -> ``JudgeThrottled``, any other ``GeneratorError`` -> ``JudgeModelError``).
    """

    def __init__(self, generator: Any, *, max_new_tokens: int, max_concurrency: int, batch: bool = False):
        from rag.generators.base import GenerationParams
        from rag.generators.batching import MicroBatcher

        # A local model answers one request at a time: concurrent grading requests are gathered
        # and handed to it as batches (rag.generators.batching), decoded together where the
        # runtime batches (transformers) and one after another where it does not (ONNX Runtime).
        self.generator = MicroBatcher(generator, size=max_concurrency) if batch else generator
        self.model_id = generator.model_id
        self.max_concurrency = max_concurrency
        self.params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0)

    def complete(self, messages) -> str:
        from feedback.errors import JudgeModelError, JudgeThrottled
        from rag.errors import GeneratorError, ThrottledError
        from rag.generators.base import Message

        # The reply is stored and the error printed and kept in the run's summary: neither may
        # carry a secret a server echoed.
        try:
            reply = self.generator.generate(
                [Message(role=m["role"], content=m["content"]) for m in messages], self.params
            )
        except ThrottledError as e:
            raise JudgeThrottled(scrub(str(e))) from None
        except GeneratorError as e:
            raise JudgeModelError(scrub(str(e))) from None
        return scrub(reply)


# -- feedback stores ------------------------------------------------------------------------------


def _sqlite_feedback(s: Settings):
    from feedback.stores.sqlite import SQLiteFeedbackStore

    return SQLiteFeedbackStore(s.home_dir / "feedback.db")


def _dynamodb_feedback(s: Settings):
    from feedback.stores.dynamodb import DynamoDBFeedbackStore

    return DynamoDBFeedbackStore(s.dynamodb_table)


FEEDBACK_STORES: dict[str, Callable[[Settings], Any]] = {"sqlite": _sqlite_feedback, "dynamodb": _dynamodb_feedback}


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
        from feedback.outbox import OutboxFeedbackStore

        inner = FEEDBACK_STORES[self.settings.feedback_store](self.settings)
        return OutboxFeedbackStore(inner, self.settings.home_dir / "outbox")

    @cached_property
    def judge_generator(self):
        """The judge's model backend: the answer model itself when no RAGBOT_JUDGE_* changes it."""
        return _second_generator(judge_settings(self.settings), self.settings, self.generator, "judge")

    @cached_property
    def judge(self):
        """Grades interactions and stores the verdicts (``feedback.judge.Judge``)."""
        from feedback.judge import Judge

        s = self.settings
        if stand_in_model(s, "judge"):
            # No judge model configured: score by similarity to the reference and the grounding
            # check (feedback.judge.reference), labelled as such, rather than store replies of a
            # model that cannot grade.
            from app.services.judge import RagEvidence
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
        return _second_generator(
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
        from rag.pipeline import Retriever

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


def _second_generator(own: Settings, fallback: Settings, fallback_generator, role: str):
    """The generator of a second model (the judge, the synth model): ``fallback_generator`` itself
    when none of ``own``'s generator settings differs from ``fallback``'s, else a new one. A
    missing setting is named as the role's own (RAGBOT_JUDGE_…, RAGBOT_SYNTH_…), the one to set."""
    if all(getattr(own, f) == getattr(fallback, f) for f in GENERATOR_FIELDS):
        return fallback_generator
    try:
        return GENERATORS[own.generator](own)
    except ConfigError as e:
        prefix = f"RAGBOT_{role.upper()}_"
        message = str(e).replace("RAGBOT_", prefix).replace(f"{prefix}GENERATOR", f"{prefix}BACKEND")
        raise ConfigError(f"the {role} model: {message}") from e
