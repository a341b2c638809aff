"""How a loop run behaves as an operation, with its training and evaluation steps stood in for
(they run for real in test_loop_e2e): the lock names its holder, a failed step leaves the served
model as it was and the next run resumes at that step, a run that failed before training starts
over, and the state file says what happened."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.errors import LoopError
from training.evalset import EvalSets
from training.gate import GateOptions
from training.loop import LoopContext, LoopRunner
from training.loop_state import LoopOptions, RunStore
from training.registry import Registry


class Runner(LoopRunner):
    """The real runner with its steps replaced by ones that count their calls and can fail."""

    def __init__(self, root: Path, fail: dict[str, int] | None = None):
        context = LoopContext(
            records=list,
            judge=lambda: {"scored": 0},
            embed=lambda texts: np.ones((len(texts), 3)),
            served=lambda: ("SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct"),
            grader=lambda: None,
            user="admin",
            cache_dir=root / "models",
            gate=GateOptions(),
        )
        super().__init__(root / "loop", EvalSets(root / "evalsets"), Registry(root / "models"), context)
        self.calls: list[str] = []
        self.fail = dict(fail or {})

    def _step(self, name: str, state, detail: dict) -> dict:
        self.calls.append(name)
        if self.fail.get(name, 0) > 0:
            self.fail[name] -= 1
            raise RuntimeError(f"{name} broke")
        return detail

    def _judge(self, state, say):
        return self._step("judge", state, {"scored": 0})

    def _eval_set(self, state, say):
        state.eval_set = "e" * 64
        return self._step("eval_set", state, {"hash": state.eval_set})

    def _dataset(self, state, say):
        state.data_hash = "d" * 64
        return self._step("dataset", state, {})

    def _train(self, state, say):
        return self._step("train", state, {})

    def _evaluate(self, state, say):
        state.verdict = "no better"
        return self._step("evaluate", state, {})

    def _register(self, state, say):
        state.candidate = "c1"
        return self._step("register", state, {})


OPTIONS = LoopOptions(max_steps=1)


def test_a_second_run_is_refused_while_one_holds_the_lock_and_named(tmp_path):
    runner = Runner(tmp_path)
    with RunStore(tmp_path / "loop").lock() as name_run:
        name_run("20260101-000000-000000")
        with pytest.raises(LoopError, match=r"another loop run holds .*lock \(process \d+ of .* run 20260101-000000"):
            runner.run(OPTIONS)
    assert runner.calls == []
    assert runner.run(OPTIONS).status == "finished"  # the lock is free again


def test_a_failed_step_leaves_the_served_model_and_the_next_run_resumes_there(tmp_path):
    registry = Registry(tmp_path / "models")
    runner = Runner(tmp_path, fail={"evaluate": 1})
    with pytest.raises(LoopError, match="the evaluate step failed: evaluate broke. The served model is untouched"):
        runner.run(OPTIONS)
    assert registry.promoted() is None and not registry.pointer_path.exists()
    state = RunStore(tmp_path / "loop").runs()[0]
    assert state.status == "failed" and state.error == "evaluate: evaluate broke"
    assert [(s.name, s.status) for s in state.steps][-2:] == [("train", "done"), ("evaluate", "failed")]

    resumed = runner.run(OPTIONS)
    assert resumed.id == state.id and resumed.resumed == 1 and resumed.status == "finished"
    assert runner.calls == ["judge", "eval_set", "dataset", "train", "evaluate", "evaluate", "register"]
    on_disk = json.loads((tmp_path / "loop" / "runs" / state.id / "state.json").read_text())
    assert on_disk["status"] == "finished" and on_disk["candidate"] == "c1"


def test_other_options_or_fresh_start_over_and_a_run_that_failed_before_training_is_not_resumed(tmp_path):
    runner = Runner(tmp_path, fail={"train": 1})
    with pytest.raises(LoopError):
        runner.run(OPTIONS)
    other = runner.run(LoopOptions(max_steps=2))  # another method of training: a new run
    runs = RunStore(tmp_path / "loop").runs()
    assert other.id == runs[0].id and runs[1].status == "abandoned"

    early = Runner(tmp_path, fail={"dataset": 1})
    with pytest.raises(LoopError):
        early.run(OPTIONS)
    again = early.run(OPTIONS)  # the feedback may have changed: judged and built again
    assert early.calls == [
        "judge",
        "eval_set",
        "dataset",
        "judge",
        "eval_set",
        "dataset",
        "train",
        "evaluate",
        "register",
    ]
    assert again.resumed == 0

    late = Runner(tmp_path, fail={"register": 1})
    with pytest.raises(LoopError):
        late.run(OPTIONS)
    fresh = late.run(OPTIONS, fresh=True)
    assert fresh.resumed == 0 and late.calls.count("train") == 2
