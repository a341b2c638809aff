"""One factory map per backend kind (embedders, vector stores, generators, feedback stores): a
new backend is a function and an entry in its map. Each factory imports its backend's module on
call, so an optional SDK is needed only when its backend is chosen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.config import Settings
from app.errors import ConfigError


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


def local_generator_at(s: Settings, name: str):
    """The local generator of model ``name`` (a packaged name or a folder), on the settings' runtime."""
    from rag.generators.local import LocalGenerator

    return LocalGenerator(name, cache_dir=s.models_dir, runtime=s.local_runtime, precision=s.local_precision)


def _local_generator(s: Settings):
    def make(name: str):
        return local_generator_at(s, name)

    if "local_model" in s.model_fields_set:  # RAGBOT_LOCAL_MODEL names the model: serve that one
        return make(s.local_model)
    # Unset: the model the registry promoted, reloaded when another is (README, "The loop"); the
    # packaged base until one is.
    from training.registry import Registry
    from training.serving import PromotedGenerator

    return PromotedGenerator(Registry(s.models_dir), s.local_model, make, check_s=s.model_check_s)


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


# -- feedback stores ------------------------------------------------------------------------------


def _sqlite_feedback(s: Settings):
    from feedback.stores.sqlite import SQLiteFeedbackStore

    return SQLiteFeedbackStore(s.home_dir / "feedback.db")


def _dynamodb_feedback(s: Settings):
    from feedback.stores.dynamodb import DynamoDBFeedbackStore

    return DynamoDBFeedbackStore(s.dynamodb_table)


FEEDBACK_STORES: dict[str, Callable[[Settings], Any]] = {"sqlite": _sqlite_feedback, "dynamodb": _dynamodb_feedback}
