"""The model registry on disk (cards, the promoted pointer, promote/rollback and their refusals) and
the app's generator that follows the pointer without a restart. The real local model serving a
promoted adapter is in test_loop_e2e; here the models are stand-ins that say who they are."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from app.config import Settings
from app.wiring.backends import Backends
from rag.generators.base import Message
from rag.generators.local import LocalGenerator
from tests.fakes import FakeGenerator
from training.errors import RegistryError
from training.gate import GateOptions, decide
from training.registry import ModelCard, Registry, new_id
from training.serving import PromotedGenerator


def trained_folder(tmp_path, name="out"):
    """A folder as `train sft` leaves it: the adapter, its run record, checkpoints, a merge."""
    out = tmp_path / name
    (out / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (out / "merged").mkdir()
    (out / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "SmolLM2-135M-Instruct"}))
    (out / "adapter_model.safetensors").write_bytes(b"weights")
    (out / "run.json").write_text("{}")
    return out


def card(verdict="better", method="sft", **extra) -> ModelCard:
    served = {"similarity": [0.5] * 30}
    shift = {"better": 0.1, "worse": -0.1, "no better": 0.0}[verdict]
    gate = decide({"similarity": [0.5 + shift] * 30}, served, GateOptions())
    assert gate.verdict == verdict
    return ModelCard(
        id=new_id(method),
        created_at=datetime.now(UTC),
        base="SmolLM2-135M-Instruct",
        method=method,
        profile="tiny",
        data_hash="d" * 64,
        eval_set_hash="e" * 64,
        served="SmolLM2-135M-Instruct",
        gate=gate,
        verdict=verdict,
        **extra,
    )


def test_a_candidate_is_registered_without_its_checkpoints_and_listed_newest_first(tmp_path):
    registry = Registry(tmp_path / "models")
    first = registry.register(trained_folder(tmp_path), card())
    second = registry.register(trained_folder(tmp_path, "other"), card("worse", method="sft+dpo"))
    folder = registry.path(first.id)
    assert sorted(p.name for p in folder.iterdir()) == ["adapter_config.json", "adapter_model.safetensors", "run.json"]
    assert registry.card(first.id) == first
    assert [c.id for c in registry.cards()] == sorted([first.id, second.id], reverse=True)
    assert "-sft-dpo-" in second.id
    with pytest.raises(RegistryError, match="no model 'nope' in the registry .*; the latest: "):
        registry.card("nope")
    with pytest.raises(RegistryError, match="is not a new registry id"):
        registry.register(trained_folder(tmp_path, "again"), first)
    with pytest.raises(RegistryError, match="holds no model"):
        registry.register(tmp_path / "models", card())
    # The packaged model converted beside the candidates is not one of them.
    (tmp_path / "models" / "SmolLM2-135M-Instruct").mkdir()
    assert len(registry.cards()) == 2


def test_promote_refuses_what_the_gate_did_not_call_better_unless_forced_and_rollback_walks_back(tmp_path):
    registry = Registry(tmp_path / "models")
    good = registry.register(trained_folder(tmp_path, "a"), card())
    bad = registry.register(trained_folder(tmp_path, "b"), card("worse"))
    same = registry.register(trained_folder(tmp_path, "c"), card("no better"))
    assert registry.promoted() is None
    with pytest.raises(RegistryError, match=f"the gate called {bad.id} 'worse' .*--force REASON"):
        registry.promote(bad.id, by="admin")
    with pytest.raises(RegistryError, match="--force REASON"):
        registry.promote(same.id, by="admin", force="  ")
    assert registry.promoted() is None and not registry.pointer_path.exists()  # nothing changed

    registry.promote(good.id, by="admin")
    with pytest.raises(RegistryError, match="already the served model"):
        registry.promote(good.id, by="admin")
    forced = registry.promote(same.id, by="ml@example.com", force="the judge likes its tone")
    assert forced.forced == "the judge likes its tone" and forced.before == good.id
    assert registry.promoted() == same.id

    back = registry.rollback(by="admin")
    assert (back.before, back.served, registry.promoted()) == (same.id, good.id, good.id)
    base = registry.rollback(by="admin")
    assert base.served is None and registry.promoted() is None
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback(by="admin")
    history = registry.pointer().history
    assert [(h.action, h.served) for h in history] == [
        ("promote", good.id),
        ("promote", same.id),
        ("rollback", good.id),
        ("rollback", None),
    ]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def made(tmp_path):
    built: list[str] = []

    def make(path: str):
        built.append(path)
        return FakeGenerator(default=f"answered by {path}")

    return built, make


ASK = [Message(role="user", content="How many parking spaces?")]


def test_the_served_model_follows_the_pointer_at_most_every_check_s(tmp_path):
    registry = Registry(tmp_path / "models")
    a = registry.register(trained_folder(tmp_path, "a"), card())
    b = registry.register(trained_folder(tmp_path, "b"), card())
    built, make = made(tmp_path)
    clock = Clock()
    served = PromotedGenerator(registry, "SmolLM2-135M-Instruct", make, check_s=5.0, clock=clock)
    assert served.generate(ASK).strip() == "answered by SmolLM2-135M-Instruct"
    assert served.model_id == "SmolLM2-135M-Instruct"

    registry.promote(a.id, by="admin")
    clock.now = 4.9  # not looked at yet
    served.generate(ASK)
    assert served.model_id == "SmolLM2-135M-Instruct"
    clock.now = 5.0
    assert served.generate(ASK).strip() == f"answered by {registry.path(a.id)}"
    assert served.model_id == a.id

    # Two changes within one tick of the file system's clock are still seen (the file is replaced).
    registry.promote(b.id, by="admin")
    registry.rollback(by="admin")
    registry.rollback(by="admin")
    clock.now = 10.0
    served.generate(ASK)
    assert served.model_id == "SmolLM2-135M-Instruct"
    assert built == ["SmolLM2-135M-Instruct", str(registry.path(a.id)), "SmolLM2-135M-Instruct"]


def test_an_answer_streaming_while_another_model_is_promoted_keeps_its_own_model_id(tmp_path):
    registry = Registry(tmp_path / "models")
    a = registry.register(trained_folder(tmp_path, "a"), card())
    _, make = made(tmp_path)
    served = PromotedGenerator(registry, "SmolLM2-135M-Instruct", make, check_s=0.0)
    stream = served.stream(ASK)
    first = next(stream)
    registry.promote(a.id, by="admin")
    seen = {}

    def other_user():
        served.generate(ASK)
        seen["id"] = served.model_id

    worker = threading.Thread(target=other_user)
    worker.start()
    worker.join()
    rest = "".join(stream)
    assert (first + rest).strip() == "answered by SmolLM2-135M-Instruct"
    assert served.model_id == "SmolLM2-135M-Instruct"  # what this thread's answer records
    assert seen["id"] == a.id


def test_the_app_serves_the_promoted_model_unless_ragbot_local_model_names_one(monkeypatch, tmp_path):
    served = Backends(Settings()).generator
    assert isinstance(served, PromotedGenerator) and served.model_id == "SmolLM2-135M-Instruct"
    assert isinstance(served.current(), LocalGenerator) and served.precision is None  # read through
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", "SmolLM2-135M-Instruct")
    assert isinstance(Backends(Settings()).generator, LocalGenerator)


def test_promote_and_rollback_are_audited_admin_actions_and_a_forced_one_keeps_its_reason(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from app.cli import CliState, cli
    from app.services import Services

    services = Services(Settings())
    registry = services.models.registry
    worse = registry.register(trained_folder(tmp_path, "w"), card("worse"))

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), obj=CliState(services))

    out = invoke("model", "promote", worse.id)
    assert out.exit_code == 1 and "--force REASON" in out.output
    done = invoke("model", "promote", worse.id, "--force", "SMEs prefer its wording")
    assert done.exit_code == 0 and f"Promoted: the app now serves {worse.id}" in done.output
    assert "(forced: SMEs prefer its wording)" in done.output
    assert invoke("model", "rollback").exit_code == 0
    events = [(e.action, e.outcome, e.target) for e in services.backends.feedback_store.events(limit=10).items]
    assert events[:3] == [
        ("model rollback", "done", "base"),
        ("model promote", "done", worse.id),
        ("model promote", "refused", worse.id),
    ]
    forced = services.backends.feedback_store.events(limit=10).items[1]
    assert forced.detail["forced"] == "SMEs prefer its wording" and forced.detail["verdict"] == "worse"

    monkeypatch.setenv("RAGBOT_ROLE", "sme")
    out = CliRunner().invoke(cli, ["model", "rollback"])
    assert out.exit_code == 1 and "only the admin role may change the served model" in out.output
    assert registry.pointer().history[-1].action == "rollback"  # nothing changed since
