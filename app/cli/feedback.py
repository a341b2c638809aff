"""``ragbot feedback …``: export, import and summarise the recorded interactions."""

from __future__ import annotations

import functools
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from app.cli.shared import RagbotGroup, pass_services
from app.services.filters import parse_when
from feedback.stores.base import InteractionFilter


def _parse_when(value: str | None, option: str, *, end: bool) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_when(value, end=end)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date or date-time (e.g. 2025-03-14 or 2025-03-14T09:30)", param_hint=option
        ) from None


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
        "--review-status",
        type=click.Choice(["unreviewed", "validated", "rejected"]),
        help="Only this SME review status.",
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


@click.group(cls=RagbotGroup)
def feedback() -> None:
    """Export, import and summarise the recorded questions, answers and ratings."""


@feedback.command("export")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["csv", "jsonl", "parquet"]),
    help="Output format (default: from the --out suffix). CSV is for spreadsheets; JSONL and Parquet are lossless.",
)
@click.option("--out", "-o", metavar="FILE", required=True, help="The file to write ('-' for standard output).")
@click.option(
    "--redact",
    is_flag=True,
    help="Mask e-mail addresses, phone numbers and user ids (stable pseudonyms: one user's records still group).",
)
@filter_options
@pass_services
def export_command(services, fmt: str | None, out: str, redact: bool, filters: InteractionFilter) -> None:
    """Export interactions and their feedback (admins only).

    The file appears only once the export is complete. Prints a one-line summary.
    """
    from feedback.formats import format_for

    to_stdout = out == "-"
    fmt = fmt or (None if to_stdout else format_for(out))
    if fmt is None:
        raise click.UsageError("give --format csv|jsonl|parquet (the --out name does not say which)")
    bar = _progress_bar("Exporting")
    started = time.perf_counter()
    unreadable: list[str] = []
    try:
        target = click.get_binary_stream("stdout") if to_stdout else Path(out)
        count = services.feedback.export(
            target, fmt, filters, progress=lambda n: bar.update(n - bar.n), unreadable=unreadable, redact=redact
        )
        if to_stdout:
            target.flush()
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    where = "standard output" if to_stdout else f"{out} ({_size(Path(out).stat().st_size)})"
    click.echo(f"Exported {count} interactions as {fmt} to {where} in {seconds:.1f}s.", err=to_stdout)
    if unreadable:
        click.echo(_unreadable_line(len(unreadable), "left out of the export", unreadable), err=True)


@feedback.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_services
def import_command(services, file: Path) -> None:
    """Load a JSONL or Parquet export back into the feedback store (admins only).

    Ids are kept, so importing a file twice changes nothing the second time. A file with a bad
    record is rejected as a whole, naming the line.
    """
    bar = _progress_bar("Importing")
    try:
        count = services.feedback.import_file(file, progress=lambda n: bar.update(n - bar.n))
    finally:
        bar.close()
    click.echo(f"Imported {count} interactions from {file}.")


@feedback.command("flush")
@pass_services
def flush_command(services) -> None:
    """Replay feedback writes that waited in the local outbox while the store was unreachable (admins only)."""
    replayed, remaining = services.feedback.flush()
    click.echo(f"Replayed {replayed} queued writes; {remaining} still waiting.")
    if remaining:
        raise SystemExit(1)


@feedback.command("init-table")
@pass_services
def init_table_command(services) -> None:
    """Create the DynamoDB feedback table (RAGBOT_FEEDBACK_STORE=dynamodb, RAGBOT_DYNAMODB_TABLE; admins only)."""
    click.echo(services.feedback.init_table())


@feedback.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@filter_options
@pass_services
def stats_command(services, as_json: bool, filters: InteractionFilter) -> None:
    """Ratings, negative share, trends, the documents behind bad answers, AI judge scores.

    Engineers see the statistics of their own questions only.
    """
    from app.services import Action

    me = services.identity.user
    own_only = not services.identity.may(Action.SEE_ALL)
    stats = services.feedback.stats(filters)
    if as_json:
        click.echo(stats.model_dump_json())
        return
    _print_stats(stats, own_only=own_only, user=me)


def _unreadable_line(count: int, what: str, ids: list[str] = ()) -> str:
    shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
    return (
        f"Warning: {count} stored record{'s' * (count != 1)} could not be read and {'were' if count != 1 else 'was'} "
        f"{what}{f' ({shown})' if shown else ''}; the warnings above say why. Importing a corrected copy "
        "with the same id replaces a record."
    )


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
    if stats.unreadable:
        click.echo(_unreadable_line(stats.unreadable, "left out of these figures"), err=True)
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


@feedback.command("audit")
@click.option(
    "--out", "-o", metavar="FILE", help="Write every event as JSON lines to FILE instead of listing the newest."
)
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many of the newest to list."
)
@pass_services
def audit_command(services, out: str | None, limit: int) -> None:
    """Who ingested, exported, imported, reviewed and rescored, who was refused what, and the bulk
    actions begun or cut short (STARTED, INTERRUPTED, FAILED, REFUSED), newest first (admins only)."""
    if out:
        count = services.audit.export(Path(out))
        click.echo(f"Wrote {count} audit events to {out}.")
        return
    for e in services.audit.events(limit=limit).items:
        target = f" {e.target}" if e.target else ""
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items() if k != "filters")
        how = f" via {e.how}" if e.how else ""  # events from before it was recorded have none
        outcome = "" if e.outcome == "done" else f" {e.outcome.upper()}"
        click.echo(
            f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor} ({e.role}{how}) {e.action}{target}{outcome}"
            + (f" [{detail}]" if detail else "")
        )
