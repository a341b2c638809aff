"""``ragbot synth``: grounded question–answer pairs from the documents, for SMEs to validate;
``ragbot synth export-eval``: the validated ones as a retrieval evaluation set."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.shared import RagbotGroup, emit_summary, end_run, pass_services, progress_bar
from app.cli.corpus import search_filters
from training.synth import KINDS, REASONS


def _kinds(ctx, param, value: str) -> tuple[str, ...]:
    kinds = tuple(k.strip().lower() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise click.BadParameter(f"{', '.join(unknown) or value!r} is not one of {', '.join(KINDS)}")
    return kinds


@click.group(cls=RagbotGroup, invoke_without_command=True)
@click.option("--folder", help="Only documents in this folder (and below).")
@click.option("--source", help="Only this document (its path as cited).")
@click.option("--per-page", type=click.IntRange(1, 10), default=2, show_default=True, help="Pairs asked for per page.")
@click.option("--limit", type=click.IntRange(min=1), help="Ask about at most this many pages.")
@click.option(
    "--kinds", default=",".join(KINDS), show_default=True, callback=_kinds, help="Kinds of question, comma-separated."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_context
def synth(ctx: click.Context, folder, source, per_page: int, limit: int | None, kinds, as_json: bool) -> None:
    """Write question-answer pairs from the indexed documents for SMEs to validate (admins).

    Pages are sampled across documents (contents and index pages skipped); the model chosen by
    RAGBOT_SYNTH_* (default: the judge's) writes questions the page answers, each with its answer
    and supporting sentence. A pair is dropped, and counted, when the reply is not valid JSON, the
    question gives the answer away, the page does not support the answer, the retriever cannot
    find the page from the question, or it repeats an earlier question. Kept pairs wait in the
    Review queue ("Synthetic pairs"). Pages already asked about are skipped, so an interrupted
    run resumes. Exits with status 1 when a request failed.
    """
    if folder and source:
        raise click.UsageError("give --folder or --source, not both")
    if ctx.invoked_subcommand is None:
        _run(filters=search_filters(folder, source), per_page=per_page, limit=limit, kinds=kinds, as_json=as_json)


@pass_services
def _run(services, *, filters, per_page: int, limit: int | None, kinds, as_json: bool) -> None:
    with progress_bar(" pages", "Writing questions") as progress:
        summary = services.synth.run(filters, per_page=per_page, limit=limit, kinds=kinds, progress=progress)
    if as_json:
        emit_summary(summary)
    else:
        skipped = ", ".join(f"{n} {why}" for why, n in summary.skipped.items())
        click.echo(
            f"Asked {summary.synth_model} about {summary.asked} of {summary.passages} pages in {summary.seconds:.1f}s"
            + (f" (left out: {skipped})" if skipped else "")
            + f": {summary.stored} pairs stored for review, {sum(summary.rejected.values())} dropped"
            + (f", {summary.failed} requests failed" if summary.failed else "")
            + "."
        )
        if summary.rejected:
            click.echo("Dropped: " + ", ".join(f"{r} {summary.rejected[r]}" for r in REASONS if r in summary.rejected))
    end_run(summary, show=not as_json, usable=bool(summary.stored or not summary.asked), next_step=_next_step(summary))


def _next_step(summary) -> str:
    """What to do after a run, in one or two sentences."""
    if not summary.passages:
        return (
            "Nothing to ask about: every matching page was asked about before (RAGBOT_HOME/synth/passages.jsonl) "
            "or none matched; ingest more documents or change --folder/--source."
        )
    if not summary.stored and summary.asked:
        malformed = summary.rejected.get("malformed", 0)
        if malformed and malformed >= sum(summary.rejected.values()) / 2:
            return (
                f"No pair was kept: {summary.synth_model}'s replies were mostly not the JSON asked for. "
                "Set a capable model with RAGBOT_SYNTH_BACKEND (README, Synthetic questions)."
            )
        return (
            "No pair was kept: every pair failed a check (counted above). Try other pages (--folder, --source, "
            "--limit) or a stronger model (RAGBOT_SYNTH_BACKEND; README, Synthetic questions)."
        )
    if not summary.stored:
        return ""
    return (
        "Next: validate the pairs on the Review page under 'Synthetic pairs', then write the validated ones as an "
        "evaluation set with `ragbot synth export-eval --out eval.jsonl`."
    )


@synth.command("export-eval")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The JSONL file to write.")
@pass_services
def export_eval_command(services, out: Path) -> None:
    """Write the validated pairs as a retrieval evaluation set (admins).

    One JSON line per question with the document and page that hold its answer, as
    bench/retrieval_eval.py and `ragbot search --queries` read them.
    """
    count = services.synth.export_eval(out)
    click.echo(f"Wrote {count} questions to {out}.")
