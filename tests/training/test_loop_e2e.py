"""The loop end to end on the CPU, through the command line, with the real tiny models: seeded
feedback -> `ragbot loop run` -> a candidate registered with the gate's verdict; a second run with
nothing new trains nothing; a candidate made worse on purpose (shuffled targets at a learning rate
that wrecks it) is refused by the gate, even with --promote, and never served; `model promote` and
`model rollback` change the model the app answers with, named on each recorded interaction."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from app.cli import CliState, cli
from app.config import Settings
from app.services import Services
from tests.docs import make_pdf
from tests.training.conftest import QUESTIONS, feedback_set, record
from tests.training.test_evalset import references

pytestmark = pytest.mark.slow

# The smallest run that still trains and answers: one step on one row, four questions, short answers.
QUICK = ["--max-steps", "1", "--set", "per_device_train_batch_size=1", "--set", "per_device_eval_batch_size=1"]
QUICK += ["--max-new-tokens", "16", "--eval-limit", "4", "--runtime", "transformers", "--min-examples", "3"]


@pytest.fixture(autouse=True)
def one_thread():
    """Two torch threads on a shared two-core machine spin against each other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def services(ragbot_home, local_model_dir, monkeypatch, shared_models, tmp_path):
    """An installation with RAGBOT_LOCAL_MODEL unset (the app follows the registry), the packaged
    model already converted into its RAGBOT_HOME, seeded feedback, and a small indexed document."""
    monkeypatch.setenv("RAGBOT_LOCAL_RUNTIME", "transformers")
    monkeypatch.setenv("RAGBOT_MODEL_CHECK_S", "0")
    monkeypatch.setenv("RAGBOT_MAX_NEW_TOKENS", "16")
    shutil.copytree(local_model_dir, ragbot_home / "models" / "SmolLM2-135M-Instruct", copy_function=os.link)
    services = Services(Settings())
    shared_models(services.backends)
    for r in feedback_set() + references():
        services.backends.feedback_store.put(r)
    make_pdf(tmp_path / "docs" / "criteria.pdf", ["21 01 13 Parking. The site provides 412 car parking spaces."])
    services.corpus.ingest([tmp_path / "docs"])
    return services


def ragbot(services, *args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--json"], obj=CliState(services))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.stdout)


def refused(services, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj=CliState(services))
    assert result.exit_code == 1, result.output
    return result.output


def answered_by(services, session: str) -> str:
    """Ask in the chat as a user would; the model id the recorded interaction names."""
    run = services.chat.answer(
        "How many car parking spaces does the site provide?", session_id=session, turn=1, verified=False
    )
    for _ in run:
        pass
    recorded = run.close()
    assert recorded.answer.strip()
    return services.backends.feedback_store.get(recorded.id).model_id


def test_the_loop_registers_refuses_and_serves_what_the_gate_says(services, local_model_dir):
    base = ["loop", "run", "--base", str(local_model_dir), *QUICK]
    first = ragbot(services, *base)
    assert first["status"] == "finished" and first["candidate"]
    assert [s["name"] for s in first["steps"]] == ["judge", "eval_set", "dataset", "train", "evaluate", "register"]
    frozen = first["eval_set"]
    assert first["steps"][2]["detail"]["eval_set_excluded"] > 0  # the evaluation set was kept apart
    assert first["verdict"] in ("better", "no better", "worse") and first["served"] == "SmolLM2-135M-Instruct"
    card = ragbot(services, "model", "show", first["candidate"])
    assert (card["verdict"], card["eval_set_hash"], card["data_hash"]) == (first["verdict"], frozen, first["data_hash"])
    assert [m["metric"] for m in card["gate"]["metrics"]][:2] == ["numbers_right", "similarity"]

    again = ragbot(services, *base)
    assert again["status"] == "nothing new" and again["candidate"] is None
    assert [s["name"] for s in again["steps"]] == ["judge", "eval_set", "dataset"]  # trained nothing
    assert again["message"].startswith(f"nothing new since run {first['id']}")

    # New feedback whose corrections answer other questions, learnt at a rate that wrecks the model.
    for i, (q, _, wrong, pages) in enumerate(QUESTIONS):
        other = QUESTIONS[(i + 1) % len(QUESTIONS)][1]
        services.backends.feedback_store.put(
            record(f"bad{i}", f"{q} ({i})", wrong, pages=pages, rating=1, correction=other, session=f"bad-{i}")
        )
    worse = ragbot(services, *base, "--set", "learning_rate=0.5", "--promote")
    assert worse["eval_set"] == frozen and worse["data_hash"] != first["data_hash"]
    assert worse["verdict"] == "worse" and worse["promoted"] is False
    assert "not served (the gate refused it)" in worse["message"]
    assert "worse beyond noise on" in worse["gate"]["reason"]
    out = refused(services, "model", "promote", worse["candidate"])
    assert f"the gate called {worse['candidate']} 'worse'" in out and "--force REASON" in out

    # What the app answers with: the base, the first candidate once promoted, the base after rollback.
    assert answered_by(services, "before") == "SmolLM2-135M-Instruct"
    promoted = ragbot(services, "model", "promote", first["candidate"], "--force", "the e2e test serves it")
    assert promoted["served"] == first["candidate"]
    assert answered_by(services, "promoted") == first["candidate"]
    listed = CliRunner().invoke(cli, ["model", "list"], obj=CliState(services)).output
    assert f"* {first['candidate']}" in listed and f"  {worse['candidate']}  worse" in listed
    back = ragbot(services, "model", "rollback")
    assert back["served"] is None and back["before"] == first["candidate"]
    assert answered_by(services, "after") == "SmolLM2-135M-Instruct"
    assert worse["candidate"] not in {r.model_id for r in services.backends.feedback_store.list(limit=100).items}
