"""Profiles: the settings of each trainer, ``full`` (the seed's, for a GPU or SageMaker) and
``tiny`` (a few steps on the CPU, to check the whole loop on this machine).

A profile holds TRL config fields (passed unchanged to ``SFTConfig``, ``RewardConfig``,
``GRPOConfig``, ``DPOConfig`` or ``KTOConfig``), the PEFT ``LoraConfig`` arguments, the default
base model and the smallest dataset it accepts. The ``full`` figures come from the seed (SPEC
§8): SFT with LoRA r=512, α=1024 on the attention projections (436,207,616 trainable weights
of Mistral-7B's 7,677,964,288, 5.68%), about 20 epochs; a distilroberta reward model, lr 1e-5,
about 10 epochs; RL with LoRA r=32, α=64, lr 1.41e-5, 3 epochs (PPO then; GRPO here, as TRL
dropped PPO). Where the seed says nothing (DPO, KTO, batch sizes) the values are TRL's usual
ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

ProfileName = Literal["tiny", "full"]
PROFILE_NAMES: tuple[ProfileName, ...] = ("tiny", "full")

PACKAGED_LM = "SmolLM2-135M-Instruct"
PACKAGED_CLASSIFIER = "all-MiniLM-L6-v2"
ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]

# The longest example `ragbot train dataset` writes by default (--max-tokens): it cuts passages so
# that prompt and answer fit, so a trainer with at least this max_length never truncates one. TRL
# keeps only truncation_mode="keep_start" from v2 (it cuts the end, the answer); "keep_end" is
# deprecated and would warn on every run.
DATASET_TOKENS = 2048

# What every profile shares: no hub, no trackers, logs every step so the progress shows.
COMMON = dict(report_to="none", logging_steps=1, save_total_limit=2, seed=42, dataloader_num_workers=0)
# On the CPU: small batches, a checkpoint every few steps, tiny sequences.
TINY = COMMON | dict(
    use_cpu=True,
    activation_checkpointing=False,  # saves memory, costs time: 135M fits without it
    # TRL turns bf16 mixed precision on by default; a CPU without native bf16 (AVX512-BF16, AMX)
    # emulates it: a KTO step on 2 x 56 tokens took 32 s here with it and 9 s without.
    bf16=False,
    per_device_train_batch_size=2,
    per_device_eval_batch_size=2,
    save_steps=5,
)
FULL = COMMON | dict(
    per_device_train_batch_size=4,
    per_device_eval_batch_size=4,
    gradient_accumulation_steps=4,
    save_strategy="epoch",
    eval_strategy="epoch",
    activation_checkpointing=True,
    bf16=True,
)


@dataclass(frozen=True)
class Profile:
    """One trainer's settings under one profile name."""

    name: ProfileName
    base: str
    args: dict
    lora: dict | None = None
    min_train: int = 2
    min_val: int = 1


PROFILES: dict[str, dict[ProfileName, Profile]] = {
    "sft": {
        "tiny": Profile(
            "tiny",
            PACKAGED_LM,
            TINY | dict(max_steps=10, learning_rate=2e-4, max_length=DATASET_TOKENS),
            lora=dict(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=ATTENTION),
        ),
        "full": Profile(
            "full",
            PACKAGED_LM,
            FULL | dict(num_train_epochs=20, learning_rate=1e-4, max_length=4096),
            lora=dict(r=512, lora_alpha=1024, lora_dropout=0.05, target_modules=ATTENTION),
            min_train=32,
            min_val=8,
        ),
    },
    "reward": {
        "tiny": Profile("tiny", PACKAGED_CLASSIFIER, TINY | dict(max_steps=10, learning_rate=5e-5, max_length=256)),
        "full": Profile(
            "full",
            "distilroberta-base",
            FULL
            | dict(num_train_epochs=10, learning_rate=1e-5, max_length=512, bf16=False, activation_checkpointing=False),
            min_train=32,
            min_val=8,
        ),
    },
    "rl": {
        "tiny": Profile(
            "tiny",
            PACKAGED_LM,
            TINY
            | dict(
                max_steps=4,
                learning_rate=1.41e-5,
                beta=0.04,
                num_generations=2,
                max_completion_length=32,
                temperature=1.0,
            ),
            lora=dict(r=32, lora_alpha=64, lora_dropout=0.0, target_modules=ATTENTION),
        ),
        "full": Profile(
            "full",
            PACKAGED_LM,
            FULL
            | dict(
                num_train_epochs=3,
                learning_rate=1.41e-5,
                beta=0.04,
                num_generations=8,
                max_completion_length=256,
                per_device_train_batch_size=8,
                eval_strategy="no",
            ),
            lora=dict(r=32, lora_alpha=64, lora_dropout=0.05, target_modules=ATTENTION),
            min_train=32,
            min_val=0,
        ),
    },
    "dpo": {
        "tiny": Profile(
            "tiny",
            PACKAGED_LM,
            TINY | dict(max_steps=10, learning_rate=5e-5, beta=0.1, max_length=DATASET_TOKENS),
            lora=dict(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=ATTENTION),
        ),
        "full": Profile(
            "full",
            PACKAGED_LM,
            FULL | dict(num_train_epochs=3, learning_rate=5e-6, beta=0.1, max_length=4096),
            lora=dict(r=32, lora_alpha=64, lora_dropout=0.05, target_modules=ATTENTION),
            min_train=32,
            min_val=8,
        ),
    },
    "kto": {
        "tiny": Profile(
            "tiny",
            PACKAGED_LM,
            TINY | dict(max_steps=10, learning_rate=5e-5, beta=0.1, max_length=1024),
            lora=dict(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=ATTENTION),
        ),
        "full": Profile(
            "full",
            PACKAGED_LM,
            FULL | dict(num_train_epochs=3, learning_rate=5e-6, beta=0.1, max_length=4096),
            lora=dict(r=32, lora_alpha=64, lora_dropout=0.05, target_modules=ATTENTION),
            min_train=32,
            min_val=8,
        ),
    },
}


def profile(trainer: str, name: ProfileName, max_steps: int | None = None, overrides: dict | None = None) -> Profile:
    """The profile ``name`` of ``trainer``; ``max_steps`` and ``overrides`` (TRL config fields,
    checked by the config class itself) replace its values when given."""
    chosen = PROFILES[trainer][name]
    args = chosen.args | (overrides or {}) | ({"max_steps": max_steps} if max_steps is not None else {})
    return replace(chosen, args=args)
