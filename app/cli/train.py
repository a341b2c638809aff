"""``ragbot train …``: the companion training package (``training/``) driven from the CLI.

The commands only translate options and errors; the work lives in ``training``, which never
imports ``app``.
"""

from __future__ import annotations

import click


@click.group()
def train() -> None:
    """Turn feedback into a better model: datasets, fine-tuning, reward model, RL, launch."""
