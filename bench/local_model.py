"""What the answer-model benchmarks share: the sample corpus indexed into a ``RAGBOT_HOME``, the
app's services over it, and whether an answer states the facts of its evidence ("numbers right")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def prepare_home(home: Path) -> None:
    """The sample corpus indexed into ``home`` through the CLI, unless it is there already."""
    env = os.environ | {"RAGBOT_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", str(ROOT / "samples/warehouse-standards"), "--if-empty"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def services(home: Path):
    """The app's ``Services`` over ``home`` (set as ``RAGBOT_HOME`` for this process)."""
    os.environ["RAGBOT_HOME"] = str(home)
    from app.config import Settings
    from app.services import Services

    return Services(Settings())


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2013", "-")
    return re.sub(r"\s+", " ", text).strip()


def key_facts(evidence: str) -> list[str]:
    """What a right answer must say: the evidence's tokens with digits, else its last two words."""
    facts = [t.strip(".,;:") for t in evidence.split() if any(ch.isdigit() for ch in t)]
    return [norm(f).replace(",", "") for f in facts] or [norm(" ".join(evidence.split()[-2:]))]


def is_right(answer: str, evidence: str) -> bool:
    text = norm(answer).replace(",", "")
    return all(f in text for f in key_facts(evidence))
