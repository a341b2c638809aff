"""Blind A/B between the served model and a registered candidate: who gets which, and what it shows.

A share of new conversations (``RAGBOT_AB_SHARE``) is answered by the candidate: the newest
registered candidate the gate called "better" and that was never promoted, or the one
``RAGBOT_AB_CANDIDATE`` names. Which arm a conversation is in follows from its id alone
(``arm``: a SHA-256 of the candidate's id and the conversation's), so a reload, a second app
process or a restart puts it in the same arm, and a new candidate draws a new split.

``ABLedger`` keeps the tests an admin stopped (``RAGBOT_HOME/models/ab.json``, rewritten whole
under a lock); a stopped candidate gets no more conversations. ``negative_share_test`` compares
the arms' shares of negative ratings (1–2) with Fisher's exact test and says how many rated
answers each arm still needs for a decision at the set power.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from common.files import atomic_write
from training.errors import RegistryError
from training.registry import ModelCard, Registry

Arm = Literal["served", "candidate"]


def bucket(conversation_id: str, salt: str) -> float:
    """A number in [0, 1) fixed by ``salt`` and ``conversation_id``, uniform over ids."""
    digest = hashlib.sha256(f"{salt}\x00{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm(conversation_id: str, share: float, salt: str) -> Arm:
    """The arm of a conversation: the candidate for a ``share`` (0..1) of ids, the same every time."""
    return "candidate" if bucket(conversation_id, salt) < share else "served"


class Stop(BaseModel):
    by: str
    at: datetime


class ABLedger:
    """The A/B tests an admin stopped, in ``path`` (JSON: candidate id → who stopped it, when)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def stopped(self) -> dict[str, Stop]:
        """Every stopped test by candidate id. Raises RegistryError when the file is unreadable."""
        if not self.path.exists():
            return {}
        try:
            return _Stops.model_validate_json(self.path.read_text(encoding="utf-8")).stopped
        except ValueError as e:
            raise RegistryError(f"{self.path} is unreadable: {e}") from e

    def stop(self, candidate: str, *, by: str) -> Stop:
        """Send no more conversations to ``candidate``. Raises RegistryError when already stopped."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{self.path.name}.lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                stops = self.stopped()
                if candidate in stops:
                    raise RegistryError(f"the A/B test of {candidate} was already stopped by {stops[candidate].by}")
                stops[candidate] = Stop(by=by, at=datetime.now(UTC))
                atomic_write(self.path, _Stops(stopped=stops).model_dump_json(indent=2) + "\n")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return stops[candidate]


class _Stops(BaseModel):
    stopped: dict[str, Stop] = Field(default_factory=dict)


def under_test(registry: Registry, named: str | None = None) -> ModelCard | None:
    """The candidate an A/B test is about, whether or not it was stopped: ``named`` (any registered
    candidate), else the newest the gate called "better"; None when that one is served or, unnamed,
    was ever promoted (an older candidate does not take its place).

    Raises:
        RegistryError: ``named`` is not in the registry, or the registry cannot be read.
    """
    pointer = registry.pointer()
    if named:
        card = registry.card(named)
    else:
        # By creation time: ids sort by the second only.
        card = max((c for c in registry.cards() if c.verdict == "better"), key=lambda c: c.created_at, default=None)
        if card is None or any(p.action == "promote" and p.served == card.id for p in pointer.history):
            return None
    return None if card.id == pointer.current else card


def candidate(registry: Registry, ledger: ABLedger, named: str | None = None) -> ModelCard | None:
    """The candidate that gets conversations now: ``under_test``'s, unless its test was stopped.
    Raises RegistryError (see ``under_test``, ``ABLedger.stopped``)."""
    card = under_test(registry, named)
    return None if card is None or card.id in ledger.stopped() else card


class Significance(BaseModel):
    """Fisher's exact test of the arms' negative shares, and the rated answers still needed."""

    test: str = "Fisher's exact test (two-sided) of the negative share"
    p_value: float | None = Field(description="None until both arms have a rated answer.")
    alpha: float
    power: float
    effect: float | None = Field(description="The difference in negative share the count is sized for.")
    needed_per_arm: int | None = Field(description="Rated answers each arm needs to see that difference.")
    more_served: int | None
    more_candidate: int | None
    verdict: Literal["candidate better", "candidate worse", "no difference", "undecided"]


def negative_share_test(
    negative_served: int,
    rated_served: int,
    negative_candidate: int,
    rated_candidate: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    min_effect: float = 0.05,
) -> Significance:
    """Compare the share of negative ratings of the two arms.

    The p-value is Fisher's exact test on the 2×2 table (negative or not, by arm): exact at the
    small counts an A/B starts with, where the z test's normal approximation is poor. The count
    needed is the two-proportion z test's sample size per arm for the observed difference, or
    ``min_effect`` when the observed one is smaller (a smaller difference is not worth deciding
    on): once both arms have it and the test is not significant, there is "no difference" that
    large. Raises ValueError on counts that do not make a table.
    """
    from scipy.stats import fisher_exact, norm

    if not (0 <= negative_served <= rated_served and 0 <= negative_candidate <= rated_candidate):
        raise ValueError("negative counts must be between 0 and the rated counts")
    if not 0 < min_effect <= 1:
        raise ValueError(f"min_effect must be above 0 and at most 1, not {min_effect}")
    base = dict(alpha=alpha, power=power)
    if not rated_served or not rated_candidate:
        return Significance(
            p_value=None, effect=None, needed_per_arm=None, more_served=None, more_candidate=None,
            verdict="undecided", **base,
        )  # fmt: skip
    table = [
        [negative_candidate, rated_candidate - negative_candidate],
        [negative_served, rated_served - negative_served],
    ]
    p_value = float(fisher_exact(table, alternative="two-sided").pvalue)
    p_served, p_candidate = negative_served / rated_served, negative_candidate / rated_candidate
    seen = p_candidate - p_served
    effect = max(abs(seen), min_effect)
    sign = 1 if seen >= 0 else -1
    p_other = p_served + sign * effect
    if not 0 <= p_other <= 1:  # no room on the side seen: size for the same difference on the other
        p_other = min(max(p_served - sign * effect, 0.0), 1.0)
    mean = (p_served + p_other) / 2
    z_alpha, z_power = norm.ppf(1 - alpha / 2), norm.ppf(power)
    spread = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        p_served * (1 - p_served) + p_other * (1 - p_other)
    )
    needed = max(1, math.ceil((spread / effect) ** 2))
    more_served, more_candidate = max(0, needed - rated_served), max(0, needed - rated_candidate)
    if p_value < alpha:
        verdict = "candidate better" if seen < 0 else "candidate worse"
    elif not more_served and not more_candidate:
        verdict = "no difference"
    else:
        verdict = "undecided"
    return Significance(
        p_value=p_value, effect=effect, needed_per_arm=needed, more_served=more_served,
        more_candidate=more_candidate, verdict=verdict, **base,
    )  # fmt: skip
