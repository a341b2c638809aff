"""What every command shares: the services (built once per invocation, lazily), JSON output, and
one translation of the product's errors into a one-line message and a non-zero exit."""

from __future__ import annotations

import functools
import json

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
