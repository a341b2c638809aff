"""The trainers: TRL's SFT, reward, GRPO, DPO and KTO trainers run on the datasets that
``ragbot train dataset`` writes.

Each module translates a profile (``profiles``) and a dataset folder into one TRL trainer and
leaves everything else to TRL, PEFT and transformers; ``runs`` holds what every run shares
(run.json, checkpoints and resuming, interruption, the per-step log). Errors are
``TrainerError`` with a one-line message the CLI prints as it is.
"""

from training.trainers.errors import TrainerError

__all__ = ["TrainerError"]
