"""What every training run shares: its record, checkpoints and resuming, interruption, the log.

An output folder ``OUT`` holds the result (a PEFT adapter or a model) at its top, the trainer's
checkpoints under ``OUT/checkpoints``, ``OUT/run.json`` (command, profile, the TRL and LoRA
settings, package versions, the sha256 of the input files, status) and ``OUT/log.jsonl`` (one
line per logged step: loss, reward…). A run on an ``OUT`` with checkpoints resumes from the last
one, unless the checkpoints came from other data. The first Ctrl-C asks the trainer to save a
checkpoint at the end of the current step and stop, so nothing done is lost; a second one stops
at once.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from training.trainers.data import data_hash
from training.trainers.errors import TrainerError
from training.trainers.profiles import Profile

log = logging.getLogger(__name__)

PACKAGES = ("trl", "transformers", "peft", "torch", "datasets", "accelerate", "pydantic")


def package_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


class Run:
    """One training run into ``out``.

    Args:
        out: the output folder.
        command: the trainer's name ("sft", "reward", …).
        profile: the settings used.
        inputs: the data files read (hashed into run.json).
        options: the command's own options (data folder, base model…), recorded as given.
        resume: True when the user asked to resume: refused if there is nothing to resume.
    """

    def __init__(
        self,
        out: Path,
        command: str,
        profile: Profile,
        inputs: Sequence[Path],
        options: dict,
        resume: bool = False,
    ):
        self.out = Path(out)
        self.command = command
        self.profile = profile
        self.options = options
        self.data = data_hash(inputs)
        self.checkpoints = self.out / "checkpoints"
        self.resume_from = self._checkpoint_to_resume(resume)
        self.interrupted = False
        self.started = time.time()

    @property
    def record_path(self) -> Path:
        return self.out / "run.json"

    @property
    def log_path(self) -> Path:
        return self.out / "log.jsonl"

    def _checkpoint_to_resume(self, asked: bool) -> str | None:
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(str(self.checkpoints)) if self.checkpoints.is_dir() else None
        if last is None:
            if asked:
                raise TrainerError(f"nothing to resume: {self.checkpoints} holds no checkpoint")
            return None
        if self.record_path.exists():
            earlier = json.loads(self.record_path.read_text())
            if earlier.get("command") != self.command or earlier.get("data", {}).get("all") != self.data["all"]:
                raise TrainerError(
                    f"{self.out} holds checkpoints of another run ({earlier.get('command')} on other data): "
                    "choose another --out, or delete that folder to start over"
                )
        return last

    def record(self, status: str, **extra) -> None:
        """Write run.json: what ran, on what, with which versions, and how it ended."""
        self.out.mkdir(parents=True, exist_ok=True)
        body = {
            "command": self.command,
            "status": status,
            "profile": self.profile.name,
            "options": {k: _jsonable(v) for k, v in self.options.items()},
            "trl_args": {k: _jsonable(v) for k, v in self.profile.args.items()},
            "lora": self.profile.lora,
            "versions": package_versions(),
            "data": self.data,
            "resumed_from": self.resume_from,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "seconds": round(time.time() - self.started, 1),
        } | extra
        staging = self.record_path.with_suffix(".json.tmp")
        staging.write_text(json.dumps(body, indent=2) + "\n")
        staging.replace(self.record_path)

    def trl_args(self, config_class, **overrides):
        """The profile's settings as the trainer's own config (``SFTConfig``, ``GRPOConfig``…)."""
        try:
            return config_class(output_dir=str(self.checkpoints), **(self.profile.args | overrides))
        except (TypeError, ValueError) as e:
            raise TrainerError(f"bad {self.command} setting: {str(e).splitlines()[0]}") from e

    def callbacks(self) -> list:
        return [StepLog(self.log_path), StopOnInterrupt(self)]

    def train(self, trainer, save: Callable[[], None] | None = None, aliases: dict[str, str] | None = None) -> dict:
        """Run ``trainer`` (resuming when there is a checkpoint), save the result into ``out``.

        Returns the final metrics (TRL's own, from ``evaluate`` when there is a val set, also
        under the names in ``aliases``). Raises TrainerError when interrupted, after a
        checkpoint was saved.
        """
        previous = _install_interrupt_handler(self)
        try:
            self.record("running")
            if self.resume_from:
                log.info("resuming from %s", self.resume_from)
            result = trainer.train(resume_from_checkpoint=self.resume_from)
        finally:
            _restore_interrupt_handler(previous)
        if self.interrupted:
            step = trainer.state.global_step
            self.record("interrupted", step=step)
            raise TrainerError(
                f"interrupted at step {step}; a checkpoint is in {self.checkpoints}: run the same command again to resume"
            )
        (save or (lambda: trainer.save_model(str(self.out))))()
        metrics = {k: v for k, v in result.metrics.items() if isinstance(v, int | float)}
        if trainer.eval_dataset is not None and len(trainer.eval_dataset):
            metrics |= trainer.evaluate()
        metrics |= {new: metrics[old] for old, new in (aliases or {}).items() if old in metrics}
        metrics["global_step"] = trainer.state.global_step
        (self.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        self.record("finished", metrics=metrics)
        return metrics


@contextmanager
def peft_probe_quiet() -> Iterator[None]:
    """Silence one FutureWarning no call of ours can avoid, and only it: PEFT 0.21 and TRL read
    ``model.is_gradient_checkpointing`` when they wrap or unwrap a LoRA model (peft_model.py,
    trl/models/utils.py), a property transformers 5 renamed ``is_activation_checkpointing``.
    Everything else still warns."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`is_gradient_checkpointing` is deprecated and will be removed", category=FutureWarning
        )
        yield


def _install_interrupt_handler(run: Run):
    if threading.current_thread() is not threading.main_thread():
        return None

    def first(signum, frame):
        run.interrupted = True
        log.warning("interrupted: saving a checkpoint at the end of this step (Ctrl-C again to stop at once)")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    return signal.signal(signal.SIGINT, first)


def _restore_interrupt_handler(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


def _callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


class StepLog(_callback_base()):
    """Appends every log of the trainer (loss, learning rate, TRL's reward…) to log.jsonl."""

    def __init__(self, path: Path):
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and state.is_world_process_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"step": state.global_step, **{k: _jsonable(v) for k, v in logs.items()}}) + "\n")


class StopOnInterrupt(_callback_base()):
    """Turns the first Ctrl-C into "save a checkpoint now and stop"."""

    def __init__(self, run: Run):
        self.run = run

    def on_step_end(self, args, state, control, **kwargs):
        if self.run.interrupted:
            control.should_save = True
            control.should_training_stop = True
        return control
