"""Supervised fine-tuning: LoRA on the answer model with TRL's ``SFTTrainer``.

The rows of ``DIR/sft`` are conversations (system prompt with the passages, question, target
answer); they reach TRL as conversational prompt-completion pairs so the loss falls on the
answer only. The result is a PEFT adapter folder whose recorded base is the packaged model's
name (or the base folder's absolute path): ``RAGBOT_LOCAL_MODEL=OUT`` merges it and answers
with it (``rag.generators.local``).
"""

from __future__ import annotations

from pathlib import Path

from training.trainers.adapter import train_lora_adapter
from training.trainers.profiles import ProfileName, profile


def train_sft(
    data: Path,
    out: Path,
    base: str | None = None,
    profile_name: ProfileName = "tiny",
    max_steps: int | None = None,
    overrides: dict | None = None,
    resume: bool = False,
    cache_dir: Path | None = None,
) -> dict:
    """Fine-tune ``base`` (default: the profile's) on ``data/sft`` into the adapter ``out``.

    Returns the metrics (train loss, val loss). Raises TrainerError on bad data, a missing
    base model, or an interruption (after saving a checkpoint).
    """
    from trl import SFTConfig, SFTTrainer

    settings = profile("sft", profile_name, max_steps, overrides)
    base = base or settings.base
    return train_lora_adapter(
        "sft",
        "sft",
        SFTTrainer,
        SFTConfig,
        data=data,
        out=out,
        model=base,
        inputs={"data": str(data), "base": base},
        settings=settings,
        resume=resume,
        cache_dir=cache_dir,
        completion_only_loss=True,
    )
