"""A model server that echoes the API key it was sent: the key never reaches what ``ragbot``
prints (text or ``--json``, stdout or stderr) nor what it stores. The judge is the real
OpenAICompatGenerator talking HTTP to a server on 127.0.0.1; the store is the real SQLite one."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import CliState, cli
from app.config import Settings
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import make
from tests.rag.generators.servers import Recorded, Reply, ScriptedServer, chat_completion, serve_role

KEY = "sk-judge-4f1c9e0b7d2a6c83"
OTHER = "opensearch-pw-77a1b2c3"  # a secret of another backend, known only to the settings


def echo(request: Recorded) -> Reply:
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    question = request.json["messages"][-1]["content"].split("<question>\n", 1)[1].split(" ", 1)[0]
    if question == "Q1":  # a refusal quoting the key (and, for good measure, the other secret)
        return Reply.json({"error": {"message": f"Incorrect API key provided: {key} ({OTHER})"}}, 400)
    # a reply that quotes them: it is stored as the judge's raw reply
    return chat_completion(f"<thinking>key {key}, pw {OTHER}</thinking><scoring>4</scoring><reason>ok</reason>")


@pytest.fixture
def judge_env(monkeypatch):
    with ScriptedServer() as server:
        server.respond = echo
        serve_role(monkeypatch, "judge", server, "judge-70b", concurrency=1)
        monkeypatch.setenv("RAGBOT_JUDGE_OPENAI_API_KEY", KEY)
        monkeypatch.setenv("RAGBOT_OPENSEARCH_PASSWORD", OTHER)
        store = SQLiteFeedbackStore(Settings().home_dir / "feedback.db")
        store.put(make("a1", minutes=1, question="Q1 How many parking spaces?"))
        store.put(make("a2", minutes=2, question="Q2 Slab load?"))
        store.close()
        yield server


@pytest.mark.parametrize("args", [("judge",), ("judge", "--json")])
def test_an_echoed_key_is_neither_printed_nor_stored(judge_env, args):
    result = CliRunner().invoke(cli, list(args), obj=CliState(), catch_exceptions=False)
    assert result.exit_code == 1  # Q1 failed
    printed = result.stdout + result.stderr
    assert "Incorrect API key provided: ***" in printed
    assert KEY not in printed and OTHER not in printed
    if "--json" in args:
        summary = json.loads(result.stdout)
        assert (summary["scored"], summary["failed"]) == (1, 1)
    assert judge_env.requests[0].headers["Authorization"] == f"Bearer {KEY}"  # the key was really sent

    store = SQLiteFeedbackStore(Settings().home_dir / "feedback.db")
    stored = store.get("a2").judge
    assert stored.score == 4 and "key ***, pw ***" in stored.raw
    store.close()
    for path in Settings().home_dir.rglob("*"):  # nothing under RAGBOT_HOME holds either secret
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data and OTHER.encode() not in data, path


def test_product_errors_shown_by_the_pages_hold_no_secret(monkeypatch):
    """The pages show ``str(error)`` (st.error): once the settings are loaded, a product error
    quoting a secret of any backend shows it masked."""
    from app.wiring.backends import Backends
    from feedback.errors import StoreUnavailable
    from rag.errors import GeneratorError

    monkeypatch.setenv("RAGBOT_OPENSEARCH_PASSWORD", OTHER)
    Backends(Settings())
    for error in (GeneratorError(f"server said: bad password {OTHER}"), StoreUnavailable(f"denied for {OTHER}")):
        assert OTHER not in str(error) and OTHER not in f"{error}" and "***" in str(error)
