"""Each trainer run for real on the CPU with ``--profile tiny`` for a step or two, through the CLI:
the result loads, metrics and logs exist, an interrupted run resumes from its checkpoint.

Models and sequences are the real ones at their smallest: SmolLM2-135M (converted once per
machine), the packaged MiniLM as the reward model, 4 training rows of ~60 tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from rag.generators.base import GenerationParams, Message
from tests.training.trainer_data import build_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two torch threads on a shared two-core machine spin against each other (10× slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("data"))


# One row per step: the CPU time of a step grows with its tokens, and two rows teach no more here.
ONE_ROW = ["--set", "per_device_train_batch_size=1", "--set", "per_device_eval_batch_size=1"]


def train(*args: str) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FutureWarning)
        result = CliRunner().invoke(cli, ["train", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    # Deprecated arguments of ours would warn on every run; PEFT's own probe is silenced alone.
    assert [str(w.message) for w in caught if issubclass(w.category, FutureWarning)] == []
    return result.output


@pytest.fixture(scope="module")
def sft_out(data, local_model_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sft") / "adapter"
    output = train(
        "sft", "--data", str(data), "--out", str(out), "--base", str(local_model_dir), "--max-steps", "2", *ONE_ROW
    )
    assert f"Saved to {out} after 2 steps" in output
    assert (
        f"Next: ragbot eval --model {out} --data {data / 'sft' / 'val.jsonl'} --out REPORT"
        "  (compares it with the served model, RAGBOT_LOCAL_MODEL, on the held-out answers)\n"
    ) in output
    return out


@pytest.fixture(scope="module")
def reward_out(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rm") / "reward"
    output = train("reward", "--data", str(data), "--out", str(out), "--max-steps", "2", *ONE_ROW)
    assert "pairwise_accuracy" in output
    assert f"Next: ragbot train rl --data {data} --policy SFT_OUT --reward-model {out} --out OUT" in output
    return out


def test_sft_writes_an_adapter_the_app_answers_with(sft_out, data, local_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    from rag.generators.local import LocalGenerator

    config = json.loads((sft_out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(local_model_dir.resolve())
    assert config["r"] == 8 and sorted(config["target_modules"]) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    run = json.loads((sft_out / "run.json").read_text())
    train_file = data / "sft" / "train.jsonl"
    assert run["status"] == "finished" and run["profile"] == "tiny" and run["trl_args"]["max_steps"] == 2
    assert run["data"][str(train_file)] == hashlib.sha256(train_file.read_bytes()).hexdigest()
    assert run["versions"]["trl"] and run["versions"]["peft"]
    metrics = json.loads((sft_out / "metrics.json").read_text())
    assert metrics["global_step"] == 2 and metrics["eval_loss"] > 0
    steps = [json.loads(line) for line in (sft_out / "log.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps if "loss" in s] == [1, 2]

    # What RAGBOT_LOCAL_MODEL=OUT does in the app: merge the adapter once, answer with it.
    generator = LocalGenerator(str(sft_out), runtime="transformers")
    messages = [
        Message(role="system", content="Answer using only these passages.\n\n[1] The site provides 24 loading docks."),
        Message(role="user", content="How many loading docks are there?"),
    ]
    assert generator.generate(messages, GenerationParams(max_new_tokens=8)).strip()
    weight = "model.layers.0.self_attn.q_proj.weight"
    merged = AutoModelForCausalLM.from_pretrained(sft_out / "merged").state_dict()[weight]
    assert not torch.equal(merged, AutoModelForCausalLM.from_pretrained(local_model_dir).state_dict()[weight])


def test_reward_model_reports_pairwise_accuracy_and_scores_as_trained(reward_out, data):
    from training.trainers.reward import RewardScorer

    metrics = json.loads((reward_out / "metrics.json").read_text())
    assert 0.0 <= metrics["pairwise_accuracy"] <= 1.0 and metrics["global_step"] == 2
    assert json.loads((reward_out / "run.json").read_text())["status"] == "finished"
    row = json.loads((data / "preference" / "val.jsonl").read_text().splitlines()[0])
    scorer = RewardScorer(reward_out)
    assert scorer.max_length == 256, "the length it was trained with, read from its run.json"
    chosen, rejected = scorer([row["prompt"]] * 2, [row["chosen"], row["rejected"]])
    assert chosen != rejected


def test_rl_improves_the_sft_policy_against_the_reward_model_and_logs_mean_reward(sft_out, reward_out, data, tmp_path):
    out = tmp_path / "rl"
    output = train(
        "rl",
        "--data",
        str(data),
        "--policy",
        str(sft_out),
        "--reward-model",
        str(reward_out),
        "--out",
        str(out),
        "--max-steps",
        "1",
        "--set",
        "max_completion_length=6",
    )
    assert f"Next: ragbot eval --model {out} --data {data / 'sft' / 'val.jsonl'} --out REPORT" in output
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 32 and config["lora_alpha"] == 64
    assert config["base_model_name_or_path"] == str(sft_out.resolve()), "stacked on the SFT adapter"
    run = json.loads((out / "run.json").read_text())
    assert run["trl_args"]["beta"] == 0.04 and run["trl_args"]["learning_rate"] == 1.41e-5
    logged = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [s["step"] for s in logged if "reward" in s] == [1]
    assert isinstance(logged[0]["rewards/reward_model/mean"], float)
    from rag.generators.local import resolve_model

    assert (resolve_model(str(out), tmp_path / "cache") / "config.json").exists(), "the app can load it"


@pytest.mark.parametrize("kind", ["dpo", "kto"])
def test_dpo_and_kto_train_an_adapter_on_their_own_files(kind, data, local_model_dir, tmp_path):
    out = tmp_path / kind
    # KTO estimates its KL term from the other answers of a batch: it needs two rows.
    one_row = ONE_ROW if kind == "dpo" else []
    output = train(
        kind, "--data", str(data), "--policy", str(local_model_dir), "--out", str(out), "--max-steps", "1", *one_row
    )
    assert f"Next: ragbot eval --model {out} --data {data / 'sft' / 'val.jsonl'} --out REPORT" in output
    assert (out / "adapter_model.safetensors").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global_step"] == 1 and "eval_loss" in metrics
    folder = "preference" if kind == "dpo" else "kto"
    assert str(data / folder / "train.jsonl") in json.loads((out / "run.json").read_text())["data"]


def test_an_interrupted_run_saves_a_checkpoint_and_resumes_from_it(dataset, local_model_dir, tmp_path):
    out = tmp_path / "sft"
    args = [
        "sft",
        "--data",
        str(dataset),
        "--out",
        str(out),
        "--base",
        str(local_model_dir),
        "--max-steps",
        "2",
        *ONE_ROW,
    ]

    def interrupt_when_running():
        deadline = time.time() + 120
        while time.time() < deadline:
            record = out / "run.json"
            if record.exists() and json.loads(record.read_text())["status"] == "running":
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=interrupt_when_running)
    watcher.start()
    result = CliRunner().invoke(cli, ["train", *args])
    watcher.join()
    assert result.exit_code == 1
    assert "Error: interrupted at step 1; a checkpoint is in" in result.output
    assert (out / "checkpoints" / "checkpoint-1").is_dir()
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"

    train(*args)  # the same command again
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "finished" and run["resumed_from"].endswith("checkpoint-1")
    assert run["metrics"]["global_step"] == 2
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines() if '"loss"' in line]
    assert steps == [1, 2], "step 2 continues step 1, which is not repeated"

    (dataset / "sft" / "val.jsonl").write_text((dataset / "sft" / "val.jsonl").read_text() + "\n")
    result = CliRunner().invoke(cli, ["train", *args])
    assert result.exit_code == 1 and "holds checkpoints of another run" in result.output
