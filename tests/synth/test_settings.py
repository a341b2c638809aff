"""RAGBOT_SYNTH_* settings: each unset one falls back to the judge's, which falls back to the answer model's."""

from __future__ import annotations

from app.config import Settings
from app.wiring.backends import Backends
from app.wiring.model_roles import synth_settings


def test_the_synth_model_is_the_judges_unless_its_own_settings_change_it(monkeypatch):
    monkeypatch.setenv("RAGBOT_JUDGE_BACKEND", "openai")
    monkeypatch.setenv("RAGBOT_JUDGE_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("RAGBOT_JUDGE_OPENAI_MODEL", "judge-70b")
    backends = Backends(Settings())
    assert synth_settings(backends.settings).openai_model == "judge-70b"
    assert backends.synth_generator is backends.judge_generator

    monkeypatch.setenv("RAGBOT_SYNTH_OPENAI_MODEL", "writer-405b")
    backends = Backends(Settings())
    ss = synth_settings(backends.settings)
    assert (ss.generator, ss.openai_base_url, ss.openai_model) == ("openai", "http://127.0.0.1:9/v1", "writer-405b")
    assert backends.synth_generator is not backends.judge_generator
    assert backends.synth_generator.model_id == "writer-405b"


def test_a_missing_synth_setting_names_the_synth_variable(monkeypatch):
    import pytest

    from app.errors import ConfigError

    monkeypatch.setenv("RAGBOT_SYNTH_BACKEND", "openai")
    with pytest.raises(ConfigError, match="RAGBOT_SYNTH_OPENAI_BASE_URL"):
        Backends(Settings()).synth_generator
