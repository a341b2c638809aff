"""Supervised fine-tuning: LoRA on the answer model with TRL's ``SFTTrainer``.

The rows of ``DIR/sft`` are conversations (system prompt with the passages, question, target
answer); they reach TRL as conversational prompt-completion pairs so the loss falls on the
answer only. The result is a PEFT adapter folder whose recorded base is the packaged model's
name (or the base folder's absolute path): ``RAGBOT_LOCAL_MODEL=OUT`` merges it and answers
with it (``rag.generators.local``).
"""

from __future__ import annotations

from pathlib import Path

from training.trainers.data import load_split, split_path
from training.trainers.models import DEFAULT_CACHE, causal_lm, record_adapter_base
from training.trainers.profiles import ProfileName, profile
from training.trainers.runs import Run


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
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    settings = profile("sft", profile_name, max_steps, overrides)
    base = base or settings.base
    train = load_split(data, "sft", "train", settings.min_train)
    val = load_split(data, "sft", "val", settings.min_val)
    run = Run(
        out,
        "sft",
        settings,
        [split_path(data, "sft", s) for s in ("train", "val")],
        {"data": str(data), "base": base},
        resume,
    )
    folder = causal_lm(base, cache_dir or DEFAULT_CACHE)
    trainer = SFTTrainer(
        model=folder,
        args=run.trl_args(SFTConfig, completion_only_loss=True),
        train_dataset=train,
        eval_dataset=val if len(val) else None,
        peft_config=LoraConfig(task_type="CAUSAL_LM", **settings.lora),
        callbacks=run.callbacks(),
    )

    def save() -> None:
        trainer.save_model(str(out))
        record_adapter_base(out, base)

    return run.train(trainer, save)
