"""Switching backends is a settings change only: the composition root builds what is asked."""

import pytest

from app.config import Settings
from app.services import Backends, ConfigError
from rag.generators.batching import MicroBatcher


def build(monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Backends(Settings())


def test_defaults_are_the_embedded_backends(monkeypatch):
    s = build(monkeypatch)
    assert type(s.store).__name__ == "LanceDBVectorStore"
    # With RAGBOT_LOCAL_MODEL unset: the registry's promoted model, the packaged local model until one is.
    assert type(s.generator).__name__ == "PromotedGenerator"
    assert type(s.generator.current()).__name__ == "LocalGenerator"
    assert type(s.embedder).__name__ == "SentenceTransformerEmbedder"
    assert type(s.feedback_store).__name__ == "OutboxFeedbackStore"


@pytest.mark.parametrize(
    ("env", "cls"),
    [
        (
            {
                "RAGBOT_GENERATOR": "sagemaker",
                "RAGBOT_SAGEMAKER_ENDPOINT": "mistral-7b",
                "RAGBOT_SAGEMAKER_CONTAINER": "lmi",
            },
            "SageMakerGenerator",
        ),
        (
            {"RAGBOT_GENERATOR": "bedrock", "RAGBOT_BEDROCK_MODEL": "mistral.mistral-7b-instruct-v0:2"},
            "BedrockGenerator",
        ),
        (
            {
                "RAGBOT_GENERATOR": "openai",
                "RAGBOT_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
                "RAGBOT_OPENAI_MODEL": "mistral",
            },
            "OpenAICompatGenerator",
        ),
    ],
)
def test_generator_backends_are_built_lazily(monkeypatch, env, cls):
    # Nothing listens on these endpoints: building must not connect.
    assert type(build(monkeypatch, **env).generator).__name__ == cls


def test_opensearch_store_from_opensearch_url(monkeypatch):
    store = build(
        monkeypatch,
        RAGBOT_VECTOR_STORE="opensearch",
        OPENSEARCH_URL="https://127.0.0.1:9",
        RAGBOT_OPENSEARCH_AUTH="sigv4",
        RAGBOT_OPENSEARCH_SERVICE="aoss",
    ).store
    assert type(store).__name__ == "OpenSearchVectorStore"
    assert store.detected()["hybrid"] == "client"  # per-query fusion unless the pipeline is asked for


def test_search_settings_reach_the_retriever(monkeypatch):
    retriever = build(monkeypatch).retriever
    assert retriever.route_weight == 0.5 and retriever.mode == "hybrid"
    retriever = build(monkeypatch, RAGBOT_ROUTE_WEIGHT="0", RAGBOT_SEARCH_MODE="vector").retriever
    assert retriever.route_weight == 0.0 and retriever.mode == "vector"
    with pytest.raises(ValueError, match="route_weight"):
        build(monkeypatch, RAGBOT_ROUTE_WEIGHT="nan")


def test_dynamodb_feedback_store(monkeypatch):
    store = build(
        monkeypatch, RAGBOT_FEEDBACK_STORE="dynamodb", RAGBOT_DYNAMODB_TABLE="fb", AWS_REGION="eu-west-1"
    ).feedback_store
    assert type(store.inner).__name__ == "DynamoDBFeedbackStore"


@pytest.mark.parametrize(
    ("env", "attribute", "message"),
    [
        ({"RAGBOT_GENERATOR": "sagemaker"}, "generator", "RAGBOT_SAGEMAKER_ENDPOINT"),
        ({"RAGBOT_GENERATOR": "openai", "RAGBOT_OPENAI_MODEL": "m"}, "generator", "RAGBOT_OPENAI_BASE_URL"),
        ({"RAGBOT_VECTOR_STORE": "opensearch"}, "store", "OPENSEARCH_URL"),
        (
            {"RAGBOT_VECTOR_STORE": "opensearch", "OPENSEARCH_URL": "http://x:9200", "RAGBOT_OPENSEARCH_AUTH": "basic"},
            "store",
            "RAGBOT_OPENSEARCH_USER",
        ),
        ({"RAGBOT_EMBEDDING_BACKEND": "sagemaker"}, "embedder", "RAGBOT_EMBEDDING_ENDPOINT"),
    ],
)
def test_missing_settings_are_named(monkeypatch, env, attribute, message):
    with pytest.raises(ConfigError, match=message):
        getattr(build(monkeypatch, **env), attribute)


def test_secrets_stay_out_of_repr(monkeypatch):
    s = build(monkeypatch, RAGBOT_OPENAI_API_KEY="sk-very-secret", RAGBOT_OPENSEARCH_PASSWORD="hunter2")
    assert "sk-very-secret" not in repr(s.settings) and "hunter2" not in repr(s.settings)


# -- the judge's model --------------------------------------------------------------------------


def test_the_judge_reuses_the_answer_model_unless_its_settings_differ(monkeypatch):
    # With nothing configured the judge scores by the reference answer and asks no model.
    default = build(monkeypatch)
    assert type(default.judge).__name__ == "ReferenceJudge" and default.judge.model.model_id == "reference-similarity"
    # Named as the judge, the answer model is reused, not loaded twice.
    same = build(monkeypatch, RAGBOT_JUDGE_LOCAL_MODEL="SmolLM2-135M-Instruct")
    assert same.judge_generator is same.generator
    # The local model runs one forward pass at a time: 8 requests in flight, decoded as one batch.
    assert same.judge.model.max_concurrency == same.judge.concurrency == 8
    assert isinstance(same.judge.model.generator, MicroBatcher) and same.judge.model.generator.size == 8
    assert same.judge.model.generator.generator is same.generator
    # Set, but to what the answer model uses already: still one model loaded, not two.
    again = build(monkeypatch, RAGBOT_JUDGE_BACKEND="local", RAGBOT_JUDGE_LOCAL_MODEL="SmolLM2-135M-Instruct")
    assert again.judge_generator is again.generator
    other = build(monkeypatch, RAGBOT_JUDGE_LOCAL_MODEL="/models/judge-7b")
    assert other.judge_generator is not other.generator and other.judge_generator.model_id == "/models/judge-7b"


def test_a_remote_judge_grades_a_local_answer_model(monkeypatch):
    b = build(
        monkeypatch,
        RAGBOT_JUDGE_BACKEND="bedrock",
        RAGBOT_JUDGE_BEDROCK_MODEL="anthropic.claude-3-5-sonnet-20240620-v1:0",
        RAGBOT_JUDGE_CONCURRENCY="6",
    )
    assert type(b.generator.current()).__name__ == "LocalGenerator"
    assert type(b.judge_generator).__name__ == "BedrockGenerator"
    assert b.judge.model.model_id == "anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert b.judge.concurrency == 6
    assert b.judge.model.generator is b.judge_generator  # a remote model batches on its server


def test_judge_settings_fall_back_to_the_answer_models(monkeypatch):
    b = build(
        monkeypatch,
        RAGBOT_GENERATOR="openai",
        RAGBOT_OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        RAGBOT_OPENAI_MODEL="small",
        RAGBOT_OPENAI_API_KEY="sk-answer",
        RAGBOT_JUDGE_OPENAI_MODEL="big-70b",
    )
    judge = b.judge_generator
    assert judge is not b.generator
    assert (judge.base_url, judge.model, judge._api_key) == ("http://127.0.0.1:9/v1", "big-70b", "sk-answer")
    assert "sk-answer" not in repr(b.settings)


def test_the_local_model_precision_is_a_setting(monkeypatch):
    assert build(monkeypatch).generator.precision is None  # the measured default of rag.generators.ort
    assert build(monkeypatch, RAGBOT_LOCAL_PRECISION="int8").generator.precision == "int8"
    with pytest.raises(ValueError, match="local_precision"):
        build(monkeypatch, RAGBOT_LOCAL_PRECISION="fp16")
