"""Direct preference optimisation on ``DIR/preference`` with TRL's ``DPOTrainer``: the offline
alternative to reward model + RL. A LoRA is trained on the policy (a packaged model, a folder
or an adapter from ``train sft``); with PEFT the policy without the adapter is the reference.
TRL logs reward accuracies and margins on val; they land in OUT/metrics.json.
"""

from __future__ import annotations

from pathlib import Path

from training.trainers.adapter import train_lora_adapter
from training.trainers.profiles import ProfileName, profile


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
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer

    config_class, trainer_class, folder_name = {
        "dpo": (DPOConfig, DPOTrainer, "preference"),
        "kto": (KTOConfig, KTOTrainer, "kto"),
    }[kind]
    settings = profile(kind, profile_name, max_steps, overrides)
    policy = policy or settings.base
    return train_lora_adapter(
        kind,
        folder_name,
        trainer_class,
        config_class,
        data=data,
        out=out,
        model=policy,
        inputs={"data": str(data), "policy": policy},
        settings=settings,
        resume=resume,
        cache_dir=cache_dir,
    )


def train_dpo(data: Path, out: Path, policy: str | None = None, **options) -> dict:
    return train_preference("dpo", data, out, policy, **options)
