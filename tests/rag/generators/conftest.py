import os

import pytest

from tests.rag.generators.servers import ScriptedServer

REGION = "eu-west-1"


@pytest.fixture
def server():
    with ScriptedServer() as s:
        yield s


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials and a region through the SDK's own chain; no files, no instance metadata,
    and no sleeping between botocore's retries."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
