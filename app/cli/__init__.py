"""The ``ragbot`` command line: the root group; each group of commands lives in its own module."""

from __future__ import annotations

import logging
import os

import click

from app.cli.chat import ask
from app.cli.shared import CliState, RagbotGroup
from app.cli.corpus import ingest, search, status
from app.cli.evaluate import evaluate
from app.cli.feedback import feedback
from app.cli.judge import judge
from app.cli.loop import loop
from app.cli.model import model
from app.cli.serve import app
from app.cli.synth import synth
from app.cli.train import train
from common.secrets import ScrubFilter
from app.cli import train_models  # noqa: F401  (registers `train sft|reward|rl|dpo|kto`)

__all__ = ["CliState", "cli", "main"]


@click.group(cls=RagbotGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Ask your documents: ingest folders of PDFs, search them, and get cited answers."""
    # Model-loading progress bars from transformers would interleave with our own output.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:  # a secret a server echoed must not reach the log either
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())
    ctx.ensure_object(CliState)


for command in (ingest, search, ask, status, app, feedback, judge, synth, train, evaluate, loop, model):
    cli.add_command(command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
