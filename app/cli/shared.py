"""What every command shares: the services (built once per invocation, lazily), JSON output, and
one translation of the product's errors into a one-line message and a non-zero exit."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator

import click
from pydantic import ValidationError

from app.services import ConfigError, Forbidden, Services
from common.secrets import scrub
from feedback.errors import FeedbackError
from rag.errors import RagError
from training.errors import TrainingError


class CliState:
    """``ctx.obj``: the services, built on first use. Tests pass a ready one with ``obj=CliState(services)``."""

    def __init__(self, services: Services | None = None):
        self._services = services
        self.command = "ragbot"  # the command being run, for the audit of a refusal

    @property
    def services(self) -> Services:
        if self._services is None:
            from app.auth import SignInRefused
            from app.auth.cli import cli_identity
            from app.auth.roles import RolesFileError
            from app.config import Settings, SettingsError, explain

            try:
                settings = Settings()
            except ValidationError as e:  # a setting with a bad value
                raise click.ClickException(f"invalid setting: {explain(e)}") from e
            except SettingsError as e:
                raise click.ClickException(str(e)) from e
            # With sign-in on, the command line acts as its OS account with the roles file's role
            # (app/auth/cli.py), never as whoever RAGBOT_USER names.
            try:
                identity = cli_identity(settings)
            except RolesFileError as e:
                raise click.ClickException(str(e)) from e
            except SignInRefused as e:
                _audit_sign_in_refused(settings, self.command, str(e))
                raise click.ClickException(f"refused: {e}") from e
            self._services = Services(settings, identity=identity)
        return self._services


def pass_services(command):
    """Give the command the services as its first argument."""

    @click.pass_context
    @functools.wraps(command)
    def wrapper(ctx: click.Context, *args, **kwargs):
        state = ctx.find_object(CliState)
        if state is None:
            state = ctx.ensure_object(CliState)
        state.command = ctx.command_path
        return command(state.services, *args, **kwargs)

    return wrapper


class RagbotGroup(click.Group):
    """Turns the product's own errors, refusals and unreadable files into one line and exit status 1,
    with any secret from the settings masked (a server may echo the key it was sent)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Forbidden as e:
            state = ctx.find_object(CliState)
            if state is not None and state._services is not None:  # who was refused what, and why
                state._services.audit.refused(state.command, str(e), needs=str(e.action))
            raise click.ClickException(scrub(f"refused: {e}")) from None
        except (RagError, FeedbackError, TrainingError, ConfigError, OSError) as e:
            raise click.ClickException(scrub(str(e))) from None
        except click.ClickException as e:
            e.message = scrub(e.message)
            raise


def _audit_sign_in_refused(settings, command: str, reason: str) -> None:
    """Leave the refused command-line identity in the audit log: who tried what, and why not."""
    from app.auth.cli import os_login
    from app.auth.roles import OS_ACCOUNT_PREFIX
    from app.services.audit import record_event
    from app.wiring.backends import Backends
    from feedback.audit import AuditEvent

    try:
        event = AuditEvent(
            actor=(OS_ACCOUNT_PREFIX + os_login())[:320],
            role="none",
            how="os-account",
            action=command[:64],
            outcome="refused",
            detail={"reason": reason[:2000]},
        )
        record_event(Backends(settings), event)
    except Exception:  # noqa: BLE001 - the refusal itself must still be reported
        logging.getLogger(__name__).warning("the refused command could not be audited", exc_info=True)


def emit(obj: dict) -> None:
    """Print one JSON object on one line (secrets from the settings masked)."""
    click.echo(scrub(json.dumps(obj, ensure_ascii=False)))


def emit_summary(summary) -> None:
    """Print a run's summary (a pydantic model) as one JSON object (secrets masked in its errors)."""
    click.echo(scrub(summary.model_dump_json()))


@contextlib.contextmanager
def progress_bar(unit: str, desc: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, and the ``progress(done, total)`` callback that the judge and
    synth runs call as they go. When stderr is not a terminal (a log, a pipe, CI) the bar would
    stay hidden, so a line ``desc: done/total`` is written instead, at the start, at the end and
    at most every ``PROGRESS_EVERY`` seconds between."""
    import time

    from tqdm import tqdm

    bar = tqdm(total=0, unit=unit, desc=desc, file=sys.stderr, disable=None, dynamic_ncols=True)
    last = [float("-inf")]

    def progress(done: int, total: int) -> None:
        if bar.disable:
            now = time.monotonic()
            if done in (0, total) or now - last[0] >= PROGRESS_EVERY:
                last[0] = now
                click.echo(f"{desc}: {done}/{total}{unit}", err=True)
            return
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        bar.close()


PROGRESS_EVERY = 10.0


def end_run(summary, *, show: bool, usable: bool = True, next_step: str = "") -> None:
    """After a judge or synth run: its failed requests, why it stopped, whether nothing usable came
    out, and what to do next, on stderr (``show``); exit status 1 when a request failed, the run
    stopped, or nothing usable came out (``usable`` False)."""
    if show:
        for error in summary.errors:
            click.echo(scrub(f"  failed: {error}"), err=True)
        if summary.stopped:
            click.echo(scrub(summary.stopped), err=True)
        if next_step:
            click.echo(next_step, err=True)
    if summary.failed or summary.stopped or not usable:
        raise SystemExit(1)
