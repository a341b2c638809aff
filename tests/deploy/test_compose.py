"""deploy/compose.yaml stays in step with the Dockerfile (port, RAGBOT_HOME and its volume, the
command) and with the settings (every RAGBOT_ variable is one, and they validate)."""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.deploy import checks
from tests.deploy.cfn import ROOT
from tests.deploy.conftest import settings_env

COMPOSE = ROOT / "deploy" / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "ragbot.env.example"
OPENSEARCH_IMAGE = "opensearchproject/opensearch:2.19.1"


def dockerfile(path: Path = ROOT / "Dockerfile") -> dict:
    """The Dockerfile's EXPOSE, VOLUME, ENV RAGBOT_HOME and CMD, read from its instructions."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found: dict = {"env": {}}
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "EXPOSE":
            found["port"] = int(rest.split("/")[0])
        elif word == "VOLUME":
            found["volume"] = rest.strip()
        elif word == "ENV":
            found["env"].update(dict(pair.split("=", 1) for pair in shlex.split(rest) if "=" in pair))
        elif word == "CMD":
            found["cmd"] = yaml.safe_load(rest)
    return found


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().removeprefix("# ")
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def compose_problems(compose: dict, docker: dict, home: Path, env_example: dict[str, str]) -> list[str]:
    problems = []
    app = compose["services"]["app"]
    build = (COMPOSE.parent / app["build"]["context"]).resolve() / app["build"].get("dockerfile", "Dockerfile")
    if build != (ROOT / "Dockerfile").resolve():
        problems.append(f"the app is built from {build}, not the project's Dockerfile")
    command = app["command"]
    port = int(command[command.index("--port") + 1])
    published = {int(str(p).rsplit(":", 1)[1]) for p in app.get("ports", [])}
    if not port == docker["port"] or published != {docker["port"]}:
        problems.append(f"the app listens on {port} and publishes {published}; the Dockerfile exposes {docker['port']}")
    if "--port" in docker["cmd"][-1] and f"--port {docker['port']}" not in docker["cmd"][-1]:
        problems.append("the Dockerfile's own command does not use the port it exposes")
    environment = {k: str(v) for k, v in app.get("environment", {}).items()}
    volumes = {str(v).split(":")[1]: str(v).split(":")[0] for v in app.get("volumes", [])}
    ragbot_home = environment.get("RAGBOT_HOME", docker["env"].get("RAGBOT_HOME"))
    if not ragbot_home == docker["env"]["RAGBOT_HOME"] == docker["volume"]:
        problems.append(f"RAGBOT_HOME is {ragbot_home}; the Dockerfile's is {docker['env']['RAGBOT_HOME']}")
    if volumes.get(ragbot_home) not in compose.get("volumes", {}):
        problems.append(f"RAGBOT_HOME ({ragbot_home}) is not on a named volume of the compose file")
    problems += checks.unknown_variables(environment, "compose app")
    problems += checks.unknown_variables(env_example, "ragbot.env.example")
    from app.config import Settings

    with settings_env(environment, home):
        settings = Settings()
    search = compose["services"].get("opensearch", {})
    if search.get("image") != OPENSEARCH_IMAGE:
        problems.append(f"OpenSearch runs {search.get('image')}, not the official {OPENSEARCH_IMAGE}")
    if (settings.vector_store, settings.opensearch_url) != ("opensearch", "http://opensearch:9200"):
        problems.append(
            f"the app searches {settings.vector_store} at {settings.opensearch_url}, not the opensearch service"
        )
    if "opensearch" not in app.get("depends_on", {}):
        problems.append("the app does not wait for OpenSearch")
    if search.get("ports") and search["environment"].get("DISABLE_SECURITY_PLUGIN") == "true":
        problems.append("OpenSearch without its security plugin publishes a port")
    if not any(str(v).endswith(":/usr/share/opensearch/data") for v in search.get("volumes", [])):
        problems.append("OpenSearch's data is not on a volume")
    return problems


@pytest.fixture
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_the_compose_file_matches_the_dockerfile_and_the_settings(compose, tmp_path):
    assert compose_problems(compose, dockerfile(), tmp_path, env_file(ENV_EXAMPLE)) == []


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda c: c["services"]["app"].update(ports=["127.0.0.1:8080:8080"]), "publishes {8080}"),
        (lambda c: c["services"]["app"]["environment"].update(RAGBOT_VECTORSTORE="opensearch"), "RAGBOT_VECTORSTORE"),
        (lambda c: c["services"]["app"]["environment"].update(RAGBOT_HOME="/srv/ragbot"), "RAGBOT_HOME is /srv/ragbot"),
        (lambda c: c["services"]["app"].update(volumes=[]), "is not on a named volume"),
        (lambda c: c["services"]["opensearch"].update(image="opensearchproject/opensearch:latest"), "not the official"),
        (lambda c: c["services"]["opensearch"].update(ports=["9200:9200"]), "publishes a port"),
        (lambda c: c["services"]["app"]["environment"].pop("RAGBOT_OPENSEARCH_URL"), "not the opensearch service"),
    ],
)
def test_a_compose_file_out_of_step_is_reported(compose, tmp_path, break_it, expected):
    broken = copy.deepcopy(compose)
    break_it(broken)
    problems = compose_problems(broken, dockerfile(), tmp_path, env_file(ENV_EXAMPLE))
    assert any(expected in p for p in problems), problems


def test_a_dockerfile_that_moves_its_port_or_home_is_reported(compose, tmp_path):
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    moved = tmp_path / "Dockerfile"
    moved.write_text(text.replace("EXPOSE 8501", "EXPOSE 8000").replace("RAGBOT_HOME=/data", "RAGBOT_HOME=/var/ragbot"))
    problems = compose_problems(compose, dockerfile(moved), tmp_path, {})
    assert any("the Dockerfile exposes 8000" in p for p in problems), problems
    assert any("the Dockerfile's is /var/ragbot" in p for p in problems), problems


def test_the_env_example_is_read_as_settings(tmp_path):
    example = env_file(ENV_EXAMPLE)
    assert "RAGBOT_AUTH" in example and "RAGBOT_GENERATOR" in example  # commented lines count too
    broken = tmp_path / "ragbot.env"
    broken.write_text(ENV_EXAMPLE.read_text(encoding="utf-8") + "RAGBOT_OIDC_CLIENTID=x\n")
    (problem,) = checks.unknown_variables(env_file(broken), "env")
    assert problem.startswith("env: RAGBOT_OIDC_CLIENTID is not a setting of Settings")
