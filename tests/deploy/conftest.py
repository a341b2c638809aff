from __future__ import annotations

import copy
import itertools
import os
from pathlib import Path
from unittest import mock

import pytest

from tests.deploy import cfn

# Every choice a team makes that changes what the stack holds.
CHOICES = {
    "AnswerModel": ["sagemaker", "bedrock"],
    "VectorStore": ["domain", "serverless"],
    "JudgeBedrockModelId": ["", "anthropic.claude-3-5-haiku-20241022-v1:0"],
    "SignIn": ["cognito", "oidc"],
}
COMBINATIONS = [dict(zip(CHOICES, values, strict=True)) for values in itertools.product(*CHOICES.values())]


def combination_id(parameters: dict) -> str:
    return "-".join(v.split(".")[0] or "no-judge" for v in parameters.values())


@pytest.fixture(scope="session")
def template_source() -> dict:
    return cfn.load()


@pytest.fixture
def template(template_source) -> dict:
    """A copy of deploy/aws/ragbot.yaml that a test may break."""
    return copy.deepcopy(template_source)


def settings_env(environment: dict[str, str], home: Path):
    """``os.environ`` holding only ``environment``'s RAGBOT_ variables (RAGBOT_HOME at ``home``,
    a writable stand-in for the container's volume) and the test's empty config file."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_") and k != "OPENSEARCH_URL"}
    keep["RAGBOT_CONFIG"] = os.environ["RAGBOT_CONFIG"]
    return mock.patch.dict(os.environ, {**keep, **environment, "RAGBOT_HOME": str(home)}, clear=True)


@pytest.fixture
def settings_of(tmp_path):
    """Builds ``Settings`` from the environment a task definition gives a container."""
    from app.config import Settings

    def build(environment: dict[str, str]) -> Settings:
        with settings_env(environment, tmp_path / "home"):
            return Settings()

    return build
