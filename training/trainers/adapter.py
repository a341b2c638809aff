"""The common path of the trainers that put a LoRA adapter on the answer model (SFT, DPO, KTO):
read the splits, open the run, train with the TRL trainer given, save the adapter with its base
recorded so ``RAGBOT_LOCAL_MODEL=OUT`` loads it."""

from __future__ import annotations

from pathlib import Path

from training.trainers.data import load_split, split_path
from training.trainers.models import DEFAULT_CACHE, causal_lm, record_adapter_base
from training.trainers.runs import Run, peft_probe_quiet


def train_lora_adapter(
    kind: str,
    folder_name: str,
    trainer_class,
    config_class,
    *,
    data: Path,
    out: Path,
    model: str,
    inputs: dict,
    settings,
    resume: bool,
    cache_dir: Path | None,
    **config,
) -> dict:
    """Train a LoRA on ``model`` with ``trainer_class`` on ``data/folder_name`` into ``out``;
    ``config`` goes to ``config_class`` beside the profile's settings. Returns the metrics.
    Raises TrainerError."""
    from peft import LoraConfig

    train = load_split(data, folder_name, "train", settings.min_train)
    val = load_split(data, folder_name, "val", settings.min_val)
    run = Run(out, kind, settings, [split_path(data, folder_name, s) for s in ("train", "val")], inputs, resume)
    with peft_probe_quiet():
        trainer = trainer_class(
            model=causal_lm(model, cache_dir or DEFAULT_CACHE),
            args=run.trl_args(config_class, **config),
            train_dataset=train,
            eval_dataset=val if len(val) else None,
            peft_config=LoraConfig(task_type="CAUSAL_LM", **settings.lora),
            callbacks=run.callbacks(),
        )

        def save() -> None:
            trainer.save_model(str(out))
            record_adapter_base(out, model)

        return run.train(trainer, save)
