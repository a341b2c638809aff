"""Direct preference optimisation on ``DIR/preference`` with TRL's ``DPOTrainer``: the offline
alternative to reward model + RL. A LoRA is trained on the policy (a packaged model, a folder
or an adapter from ``train sft``); with PEFT the policy without the adapter is the reference.
TRL logs reward accuracies and margins on val; they land in OUT/metrics.json.
"""

from __future__ import annotations

from pathlib import Path

from training.trainers.data import load_split, split_path
from training.trainers.models import DEFAULT_CACHE, causal_lm, record_adapter_base
from training.trainers.profiles import ProfileName, profile
from training.trainers.runs import Run


def train_preference(
    kind: str,
    data: Path,
    out: Path,
    policy: str | None = None,
    profile_name: ProfileName = "tiny",
    max_steps: int | None = None,
    overrides: dict | None = None,
    resume: bool = False,
    cache_dir: Path | None = None,
) -> dict:
    """Train ``policy`` with DPO (``kind="dpo"``, on preference pairs) or KTO (``"kto"``, on
    unpaired good/bad answers) into the adapter ``out``."""
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer

    config_class, trainer_class, folder_name = {
        "dpo": (DPOConfig, DPOTrainer, "preference"),
        "kto": (KTOConfig, KTOTrainer, "kto"),
    }[kind]
    settings = profile(kind, profile_name, max_steps, overrides)
    policy = policy or settings.base
    train = load_split(data, folder_name, "train", settings.min_train)
    val = load_split(data, folder_name, "val", settings.min_val)
    run = Run(
        out,
        kind,
        settings,
        [split_path(data, folder_name, s) for s in ("train", "val")],
        {"data": str(data), "policy": policy},
        resume,
    )
    folder = causal_lm(policy, cache_dir or DEFAULT_CACHE)
    trainer = trainer_class(
        model=folder,
        args=run.trl_args(config_class),
        train_dataset=train,
        eval_dataset=val if len(val) else None,
        peft_config=LoraConfig(task_type="CAUSAL_LM", **settings.lora),
        callbacks=run.callbacks(),
    )

    def save() -> None:
        trainer.save_model(str(out))
        record_adapter_base(out, policy)

    return run.train(trainer, save)


def train_dpo(data: Path, out: Path, policy: str | None = None, **options) -> dict:
    return train_preference("dpo", data, out, policy, **options)
