"""Reinforcement learning against the reward model: TRL's ``GRPOTrainer`` (TRL removed PPO,
the seed's algorithm; GRPO is its maintained successor for reward-model RL).

The policy is a model trained by ``train sft`` (its adapter is merged once, as the app does);
a fresh LoRA (the seed's r=32, α=64, lr 1.41e-5) is trained on top, and with PEFT the frozen
policy is the reference the KL term (``beta``, set explicitly in the profile) pulls towards.
The reward model scores each sampled answer through ``reward.RewardScorer``, which formats
(prompt, answer) exactly as in its training. TRL logs the mean reward of every step as
``reward`` (and ``rewards/reward_model/mean``); they land in OUT/log.jsonl and the progress.
"""

from __future__ import annotations

from pathlib import Path

from training.trainers.data import load_split, split_path
from training.trainers.errors import TrainerError
from training.trainers.models import DEFAULT_CACHE, causal_lm, record_adapter_base
from training.trainers.profiles import ProfileName, profile
from training.trainers.runs import Run, peft_probe_quiet


def train_rl(
    data: Path,
    policy: str,
    reward_model: Path,
    out: Path,
    profile_name: ProfileName = "tiny",
    max_steps: int | None = None,
    overrides: dict | None = None,
    resume: bool = False,
    cache_dir: Path | None = None,
) -> dict:
    """Improve ``policy`` against ``reward_model`` on the prompts of ``data/prompts``."""
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    from training.trainers.reward import RewardScorer

    settings = profile("rl", profile_name, max_steps, overrides)
    train = load_split(data, "prompts", "train", settings.min_train)
    run = Run(
        out,
        "rl",
        settings,
        [split_path(data, "prompts", "train")],
        {"data": str(data), "policy": policy, "reward_model": str(reward_model)},
        resume,
    )
    if not (Path(reward_model) / "config.json").is_file():
        raise TrainerError(f"the reward model '{reward_model}' is missing: train it with `ragbot train reward`")
    folder = causal_lm(policy, cache_dir or DEFAULT_CACHE)
    with peft_probe_quiet():
        trainer = GRPOTrainer(
            model=folder,
            reward_funcs=RewardScorer(Path(reward_model)),
            args=run.trl_args(GRPOConfig),
            train_dataset=train,
            peft_config=LoraConfig(task_type="CAUSAL_LM", **settings.lora),
            callbacks=run.callbacks(),
        )

        def save() -> None:
            trainer.save_model(str(out))
            record_adapter_base(out, policy)

        return run.train(trainer, save)
