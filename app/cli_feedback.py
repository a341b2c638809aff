"""``ragbot feedback …``: export, import and summarise the recorded interactions.

Registered on the main group in ``app.cli`` with ``cli.add_command(feedback)``.
"""

from __future__ import annotations

import functools
import sys
import time
from datetime import UTC, date, datetime, time as dtime, timedelta
from pathlib import Path

import click

from feedback.errors import FeedbackError
from feedback.stores.base import InteractionFilter

ADMIN = "admin"


class FeedbackGroup(click.Group):
    """Turns the feedback package's errors, and files that cannot be read or written, into one
    line and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (FeedbackError, OSError) as e:
            raise click.ClickException(str(e)) from e


def _services():
    from app.cli import _services  # app.cli imports this module to register the group

    return _services()


def _require_admin(services, action: str) -> None:
    role = services.settings.role
    if role != ADMIN:
        raise click.ClickException(
            f"{action} is for admins; {services.settings.user} has the {role} role (RAGBOT_ROLE)"
        )


def _parse_when(value: str | None, option: str, *, end: bool) -> datetime | None:
    """An ISO date or date-time as an aware UTC datetime (naive values are UTC).

    A bare date given to the exclusive ``--until`` means the end of that day, so
    ``--until 2025-03-31`` includes March 31.
    """
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, dtime(), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date or date-time (e.g. 2025-03-14 or 2025-03-14T09:30)", param_hint=option
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def filter_options(command):
    """The options that select interactions, shared by export and stats; they arrive as ``filters``."""

    @click.option("--since", metavar="DATE", help="From this ISO date or date-time on (UTC unless it has an offset).")
    @click.option("--until", metavar="DATE", help="Before this date-time; a bare date includes that whole day.")
    @click.option("--min-rating", type=click.IntRange(1, 5), help="Rated at least this (1–5).")
    @click.option("--max-rating", type=click.IntRange(1, 5), help="Rated at most this (1–5).")
    @click.option("--user", help="Only this user's interactions.")
    @click.option("--source", help="Only answers citing this document, or any document under this folder.")
    @click.option("--has-correction/--no-correction", default=None, help="Only with (or without) a better answer.")
    @click.option(
        "--review-status", type=click.Choice(["unreviewed", "validated", "rejected"]), help="Only this SME review status."
    )
    @functools.wraps(command)
    def wrapper(*args, since, until, min_rating, max_rating, user, source, has_correction, review_status, **kwargs):
        if min_rating is not None and max_rating is not None and min_rating > max_rating:
            raise click.BadParameter(
                f"--min-rating {min_rating} is above --max-rating {max_rating}", param_hint="--min-rating"
            )
        filters = InteractionFilter(
            since=_parse_when(since, "--since", end=False),
            until=_parse_when(until, "--until", end=True),
            min_rating=min_rating,
            max_rating=max_rating,
            user=user,
            source_prefix=source,
            has_correction=has_correction,
            review_status=review_status,
        )
        return command(*args, filters=filters, **kwargs)

    return wrapper


def _progress_bar(desc: str):
    from tqdm import tqdm

    return tqdm(total=None, unit=" records", desc=desc, file=sys.stderr, disable=None, dynamic_ncols=True)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@click.group(cls=FeedbackGroup)
def feedback() -> None:
    """Export, import and summarise the recorded questions, answers and ratings."""


@feedback.command("export")
@click.option(
    "--format", "-f", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]),
    help="Output format (default: from the --out suffix). CSV is for spreadsheets; JSONL and Parquet are lossless.",
)
@click.option("--out", "-o", metavar="FILE", required=True, help="The file to write ('-' for standard output).")
@filter_options
def export_command(fmt: str | None, out: str, filters: InteractionFilter) -> None:
    """Export interactions and their feedback (admins only).

    The file appears only once the export is complete. Prints a one-line summary.
    """
    from feedback.export import export, format_for

    to_stdout = out == "-"
    fmt = fmt or (None if to_stdout else format_for(out))
    if fmt is None:
        raise click.UsageError("give --format csv|jsonl|parquet (the --out name does not say which)")
    services = _services()
    _require_admin(services, "Exporting feedback")
    bar = _progress_bar("Exporting")
    started = time.perf_counter()
    try:
        if to_stdout:
            stream = click.get_binary_stream("stdout")
            count = export(services.feedback_store, stream, fmt, filters, progress=lambda n: bar.update(n - bar.n))
            stream.flush()
        else:
            count = export(services.feedback_store, Path(out), fmt, filters, progress=lambda n: bar.update(n - bar.n))
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    where = "standard output" if to_stdout else f"{out} ({_size(Path(out).stat().st_size)})"
    click.echo(f"Exported {count} interactions as {fmt} to {where} in {seconds:.1f}s.", err=to_stdout)


@feedback.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Load a JSONL or Parquet export back into the feedback store (admins only).

    Ids are kept, so importing a file twice changes nothing the second time. A file with a bad
    record is rejected as a whole, naming the line.
    """
    from feedback.export import import_records

    services = _services()
    _require_admin(services, "Importing feedback")
    bar = _progress_bar("Importing")
    try:
        count = import_records(services.feedback_store, file, progress=lambda n: bar.update(n - bar.n))
    finally:
        bar.close()
    click.echo(f"Imported {count} interactions from {file}.")


@feedback.command("flush")
def flush_command() -> None:
    """Replay feedback writes that waited in the local outbox while the store was unreachable."""
    services = _services()
    replayed, remaining = services.feedback_store.flush()
    click.echo(f"Replayed {replayed} queued writes; {remaining} still waiting.")
    if remaining:
        raise SystemExit(1)


@feedback.command("init-table")
def init_table_command() -> None:
    """Create the DynamoDB feedback table (RAGBOT_FEEDBACK_STORE=dynamodb, RAGBOT_DYNAMODB_TABLE)."""
    from feedback.stores.dynamodb import DynamoDBFeedbackStore, init_table

    services = _services()
    _require_admin(services, "Creating the feedback table")
    if services.settings.feedback_store != "dynamodb":
        raise click.ClickException("init-table is for the DynamoDB store: set RAGBOT_FEEDBACK_STORE=dynamodb")
    click.echo(init_table(DynamoDBFeedbackStore(services.settings.dynamodb_table)))


@feedback.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@filter_options
def stats_command(as_json: bool, filters: InteractionFilter) -> None:
    """Ratings, negative share, trends, the documents behind bad answers, AI judge scores.

    Engineers see the statistics of their own questions only.
    """
    from feedback.stats import feedback_stats

    services = _services()
    me = services.settings.user
    own_only = services.settings.role == "engineer"
    if own_only:
        if filters.user not in (None, me):
            raise click.ClickException(f"engineers see the statistics of their own questions only, not {filters.user}'s")
        filters = filters.model_copy(update={"user": me})
    stats = feedback_stats(services.feedback_store, filters)
    if as_json:
        click.echo(stats.model_dump_json())
        return
    _print_stats(stats, own_only=own_only, user=me)


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.1%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _print_stats(stats, *, own_only: bool, user: str) -> None:
    if own_only:
        click.echo(f"Your interactions only ({user}).")
    click.echo(
        f"{stats.total} interactions, {stats.rated} rated, {stats.with_correction} with a better answer; "
        f"negative (1–2): {stats.negative} = {_pct(stats.negative_share)} of rated; mean rating {_num(stats.mean_rating)}"
    )
    if not stats.total:
        return
    click.echo("\nRating                   count  share")
    for r in stats.ratings:
        share = r.count / stats.rated if stats.rated else None
        click.echo(f"  {r.rating} {r.label:<20} {r.count:>6}  {_pct(share):>6}")
    click.echo("\nDay (UTC)     answers  rated  mean  negative")
    for d in stats.per_day:
        click.echo(f"  {d.day}  {d.count:>7}  {d.rated:>5}  {_num(d.mean_rating):>4}  {_pct(d.negative_share):>8}")
    if stats.negative_sources:
        click.echo("\nMost cited by negatively rated answers")
        for s in stats.negative_sources:
            click.echo(f"  {s.count:>5}  {s.source}")
    click.echo(f"\nAI judge score (mean {_num(stats.mean_judge_score)} over {stats.judged} scored)")
    for b in stats.judge_scores:
        click.echo(f"  {b.bucket:<9} {b.count:>6}")

