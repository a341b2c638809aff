"""What every command shares: the services (built once per invocation, lazily), JSON output, and
one translation of the product's errors into a one-line message and a non-zero exit."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator

import click
from pydantic import ValidationError

from app.services import ConfigError, Forbidden, Services
from feedback.errors import FeedbackError
from rag.errors import RagError
from training.errors import TrainingError


class CliState:
    """``ctx.obj``: the services, built on first use. Tests pass a ready one with ``obj=CliState(services)``."""

    def __init__(self, services: Services | None = None):
        self._services = services

    @property
    def services(self) -> Services:
        if self._services is None:
            from app.config import Settings, SettingsError, explain

            try:
                self._services = Services(Settings())
            except ValidationError as e:  # a setting with a bad value
                raise click.ClickException(f"invalid setting: {explain(e)}") from e
            except SettingsError as e:
                raise click.ClickException(str(e)) from e
        return self._services


def pass_services(command):
    """Give the command the services as its first argument."""

    @click.pass_context
    @functools.wraps(command)
    def wrapper(ctx: click.Context, *args, **kwargs):
        state = ctx.find_object(CliState)
        if state is None:
            state = ctx.ensure_object(CliState)
        return command(state.services, *args, **kwargs)

    return wrapper


class RagbotGroup(click.Group):
    """Turns the product's own errors, refusals and unreadable files into one line and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Forbidden as e:
            raise click.ClickException(f"refused: {e}") from e
        except (RagError, FeedbackError, TrainingError, ConfigError, OSError) as e:
            raise click.ClickException(str(e)) from e


def emit(obj: dict) -> None:
    """Print one JSON object on one line."""
    click.echo(json.dumps(obj, ensure_ascii=False))


@contextlib.contextmanager
def progress_bar(unit: str, desc: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (hidden when it is not a terminal), and the ``progress(done,
    total)`` callback that the judge and synth runs call as they go."""
    from tqdm import tqdm

    bar = tqdm(total=0, unit=unit, desc=desc, file=sys.stderr, disable=None, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        bar.close()


def end_run(summary, *, show: bool) -> None:
    """After a judge or synth run: its failed requests and why it stopped, on stderr (``show``),
    and exit status 1 when either happened."""
    if show:
        for error in summary.errors:
            click.echo(f"  failed: {error}", err=True)
        if summary.stopped:
            click.echo(summary.stopped, err=True)
    if summary.failed or summary.stopped:
        raise SystemExit(1)
