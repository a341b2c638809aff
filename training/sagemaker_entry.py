"""The training image's entry point on SageMaker: run the ``ragbot`` command that
``ragbot train launch`` put in the ``ragbot_command`` hyperparameter.

SageMaker starts the container as ``<image> train``; the Dockerfile puts a ``train`` script on
the PATH that runs this module. The command (a JSON list, e.g. ``["train", "sft", "--data",
"/opt/ml/input/data/data", "--out", "/opt/ml/model", "--profile", "full"]``) is run as a
``ragbot`` subprocess, its output streaming to the job's log; a failure's reason is written to
``/opt/ml/output/failure``, where SageMaker shows it as the job's failure reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HYPERPARAMETERS = Path("/opt/ml/input/config/hyperparameters.json")
FAILURE = Path("/opt/ml/output/failure")
ALLOWED = ("train", "eval", "loop")


def command_from(hyperparameters: Path) -> list[str]:
    """The ragbot arguments in ``hyperparameters``. Raises ValueError with the reason."""
    try:
        raw = json.loads(hyperparameters.read_text(encoding="utf-8"))["ragbot_command"]
        args = json.loads(raw) if isinstance(raw, str) else raw
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"no usable ragbot_command hyperparameter in {hyperparameters}: {e}") from e
    if not (isinstance(args, list) and args and all(isinstance(a, str) for a in args)):
        raise ValueError(f"ragbot_command must be a JSON list of strings, got {raw!r}")
    if args[0] not in ALLOWED:
        raise ValueError(
            f"ragbot_command runs only {', '.join(ALLOWED[:-1])} or {ALLOWED[-1]} commands, not {args[0]!r}"
        )
    return args


def main() -> int:
    hyperparameters = Path(os.environ.get("RAGBOT_SM_HYPERPARAMETERS", HYPERPARAMETERS))
    failure = Path(os.environ.get("RAGBOT_SM_FAILURE", FAILURE))
    try:
        args = command_from(hyperparameters)
    except ValueError as e:
        return _fail(failure, str(e))
    ragbot = shutil.which("ragbot") or sys.executable
    prefix = [ragbot] if ragbot != sys.executable else [sys.executable, "-m", "app.cli"]
    print("$ ragbot " + " ".join(args), flush=True)
    done = subprocess.run([*prefix, *args])
    if done.returncode:
        return _fail(
            failure, f"ragbot {' '.join(args[:2])} exited with status {done.returncode}; the job's log says why"
        )
    return 0


def _fail(failure: Path, reason: str) -> int:
    print(reason, file=sys.stderr, flush=True)
    try:
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(reason + "\n", encoding="utf-8")
    except OSError:
        pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
