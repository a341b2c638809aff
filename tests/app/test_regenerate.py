"""Regenerate (issue 25): the first answer decodes greedily (it measured best on SmolLM2-135M),
a regeneration samples from a seed of its own, so it is a different answer, on the real local
model, through the real pipeline and the chat service."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.services import Backends, Identity, Services
from app.services.chat import regenerate_params
from rag.generators.base import GenerationParams
from rag.generators.ort import OnnxRuntimeGenerator

pytestmark = pytest.mark.slow

QUESTION = "What is the effective capacity of the sprinkler storage tank?"


@pytest.fixture
def engineer(tmp_path, shared_models, local_model_dir):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "sprinklers.md").write_text(
        "# Fire protection\n\n## 4.2 Sprinkler storage tank\n\nThe effective capacity of the sprinkler "
        "storage tank is 950 m3, enough for 60 minutes of the design flow. The tank is refilled from "
        "the town main within 8 hours.\n"
    )
    settings = Settings(local_model=str(local_model_dir), max_new_tokens=48)
    services = Services(backends=shared_models(Backends(settings)), identity=Identity(user="bob", role="engineer"))
    services.as_identity(Identity(user="ada", role="admin")).corpus.ingest([docs])
    return services


def answer(services, turn: int, *, regenerate: bool) -> str:
    run = services.chat.answer(QUESTION, session_id="s1", turn=turn, verified=False, regenerate=regenerate)
    for _ in run:
        pass
    return run.close().answer


def test_two_regenerations_sample_answers_that_differ_from_the_greedy_one(engineer, monkeypatch):
    model = engineer.backends.generator._model
    reached: list[dict] = []
    real_generate = model.generate

    def spy(*args, **kwargs):
        reached.append({k: kwargs.get(k) for k in ("do_sample", "temperature", "top_p")})
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(model, "generate", spy)
    greedy = answer(engineer, 1, regenerate=False)
    first, second = answer(engineer, 2, regenerate=True), answer(engineer, 3, regenerate=True)

    assert reached[0] == {"do_sample": False, "temperature": None, "top_p": None}, "the first answer is greedy"
    assert reached[1:] == [{"do_sample": True, "temperature": 0.7, "top_p": 0.9}] * 2, "the runtime samples"
    # Sampled from two seeds, the two regenerations are not both the greedy text (this passage
    # leaves the model nearly certain: one of them, seeded, comes back greedy's words, every run).
    assert {first, second} - {greedy}, (greedy, first, second)
    assert [t.answer for t in engineer.chat.conversation("s1")] == [greedy, first, second], "every answer is kept"


def test_each_regeneration_draws_its_own_seed_and_the_runtimes_take_it():
    base = GenerationParams(max_new_tokens=64)
    settings = Settings(regenerate_temperature=0.5, regenerate_top_p=0.8)
    two, three = regenerate_params(base, settings, "s1", 2), regenerate_params(base, settings, "s1", 3)
    assert (two.temperature, two.top_p, two.max_new_tokens) == (0.5, 0.8, 64)
    assert two.seed != three.seed and two.seed == regenerate_params(base, settings, "s1", 2).seed
    assert regenerate_params(base, settings, "s2", 2).seed != two.seed, "another conversation, another sample"
    options = OnnxRuntimeGenerator._search(OnnxRuntimeGenerator.__new__(OnnxRuntimeGenerator), two, 2048)
    assert (options["do_sample"], options["temperature"], options["random_seed"]) == (True, 0.5, two.seed)
    assert "random_seed" not in OnnxRuntimeGenerator._search(
        OnnxRuntimeGenerator.__new__(OnnxRuntimeGenerator), base, 2048
    )
