"""RAGBOT_REQUEST_DEADLINE_S and RAGBOT_STREAM_DEADLINE_S reach every remote backend the
composition root builds (rag never reads the environment)."""

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.wiring.backends import Backends


def test_the_deadlines_reach_every_remote_generator_and_the_judge(monkeypatch):
    monkeypatch.setenv("RAGBOT_REQUEST_DEADLINE_S", "7")
    monkeypatch.setenv("RAGBOT_STREAM_DEADLINE_S", "9.5")
    monkeypatch.setenv("RAGBOT_GENERATOR", "openai")
    monkeypatch.setenv("RAGBOT_OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("RAGBOT_OPENAI_MODEL", "m")
    monkeypatch.setenv("RAGBOT_JUDGE_BACKEND", "sagemaker")
    monkeypatch.setenv("RAGBOT_JUDGE_SAGEMAKER_ENDPOINT", "judge-ep")
    monkeypatch.setenv("RAGBOT_SYNTH_BACKEND", "bedrock")
    backends = Backends(Settings())
    assert (backends.generator.deadline, backends.generator.stream_deadline) == (7, 9.5)
    assert (backends.judge_generator.deadline, backends.judge_generator.stream_deadline) == (7, 9.5)
    assert backends.synth_generator.stream_deadline == 9.5


@pytest.mark.parametrize("backend", ["sagemaker", "bedrock"])
def test_the_request_deadline_reaches_the_remote_embedders(monkeypatch, backend):
    monkeypatch.setenv("RAGBOT_REQUEST_DEADLINE_S", "11")
    monkeypatch.setenv("RAGBOT_EMBEDDING_BACKEND", backend)
    monkeypatch.setenv("RAGBOT_EMBEDDING_ENDPOINT", "emb-ep")
    monkeypatch.setenv("RAGBOT_EMBEDDING_DIMENSION", "1024")
    embedder = Backends(Settings()).embedder
    inner = getattr(embedder, "inner", embedder)
    assert inner.deadline == 11


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_a_deadline_must_be_a_positive_number(monkeypatch, value):
    monkeypatch.setenv("RAGBOT_STREAM_DEADLINE_S", value)
    with pytest.raises(ValidationError, match="stream_deadline_s"):
        Settings()
