"""Kahneman-Tversky optimisation on ``DIR/kto`` (unpaired answers marked good or bad) with TRL's
``KTOTrainer``: for feedback where a thumbs-down has no better answer beside it. Shares its run
with DPO (``dpo.train_preference``)."""

from __future__ import annotations

from pathlib import Path

from training.trainers.dpo import train_preference


def train_kto(data: Path, out: Path, policy: str | None = None, **options) -> dict:
    return train_preference("kto", data, out, policy, **options)
