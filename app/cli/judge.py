"""``ragbot judge``: score answers with the AI judge; ``ragbot judge agreement``: how far it agrees
with people."""

from __future__ import annotations


import click

from app.cli.shared import RagbotGroup, emit_summary, end_run, pass_services, progress_bar
from app.cli.feedback import filter_options
from feedback.records import LIKERT_LABELS
from feedback.stores.base import InteractionFilter


@click.group(cls=RagbotGroup, invoke_without_command=True)
@filter_options
@click.option("--limit", type=click.IntRange(min=1), help="Score at most this many interactions.")
@click.option("--rescore", is_flag=True, help="Score the matching interactions again, also those already scored.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_context
def judge(ctx: click.Context, filters: InteractionFilter, limit: int | None, rescore: bool, as_json: bool) -> None:
    """Score the answers that have no AI judge score yet (SMEs and admins).

    Takes the same filters as `feedback export`. Each score is stored as soon as it is made, so
    an interrupted run loses nothing and the next run scores only what is left. The judge model
    is chosen by RAGBOT_JUDGE_BACKEND and the other RAGBOT_JUDGE_* settings (default: the answer
    model). Exits with status 1 when an answer could not be scored.
    """
    if ctx.invoked_subcommand is None:
        _run(filters=filters, limit=limit, rescore=rescore, as_json=as_json)


@pass_services
def _run(services, *, filters: InteractionFilter, limit: int | None, rescore: bool, as_json: bool) -> None:
    with progress_bar(" answers", "Judging") as progress:
        summary = services.judge.run(filters, limit=limit, rescore=rescore, progress=progress)
    if as_json:
        emit_summary(summary)
    else:
        click.echo(
            f"Judged {summary.selected} answers with {summary.judge_model} in {summary.seconds:.1f}s: "
            f"{summary.scored} scored, {summary.unparsable} kept raw with no score, {summary.failed} failed"
            + (f", {summary.skipped} already scored meanwhile" if summary.skipped else "")
            + "."
        )
        if summary.issues:
            click.echo("Judge replies: " + ", ".join(f"{name} {count}" for name, count in summary.issues.items()))
    end_run(
        summary, show=not as_json, usable=bool(summary.scored or not summary.selected), next_step=_next_step(summary)
    )


def _next_step(summary) -> str:
    """What to do after a run, in one or two sentences."""
    from feedback.judge.reference import REFERENCE_JUDGE

    reference = summary.judge_model == REFERENCE_JUDGE
    if not summary.selected:
        return "Nothing to judge: every matching answer has an AI score (--rescore scores them again)."
    if not summary.scored:
        if reference:
            return (
                "No answer got a score: without a reference answer, an answer that says the documents do "
                "not answer cannot be scored by similarity. Write reference answers on the Review page, or "
                "set a judge model (RAGBOT_JUDGE_BACKEND; README, Judge)."
            )
        return (
            f"No answer got a usable score: {summary.judge_model}'s replies held no score in <scoring> tags "
            "(the reason is stored with each). Set a capable judge model with RAGBOT_JUDGE_BACKEND "
            "(README, Judge), or unset RAGBOT_JUDGE_LOCAL_MODEL to score by similarity to the reference answers."
        )
    step = "Next: sort the Review page by AI score, or compare the judge with people: `ragbot judge agreement`."
    if reference:
        step += (
            f" Scores are {REFERENCE_JUDGE} (similarity to the reference answer and the grounding check), "
            "as no judge model is configured; set RAGBOT_JUDGE_BACKEND for an LLM judge (README, Judge)."
        )
    return step


@judge.command("agreement")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_services
def agreement_command(services, filters: InteractionFilter, as_json: bool) -> None:
    """How far the judge agrees with users' ratings and SMEs' scores (SMEs and admins).

    Cohen's kappa (quadratic weights) and the confusion matrix compare the judge's score binned
    to 1–5 (round half up, 0 joins 1) with the 1–5 rating; Spearman's rho uses the unbinned
    score; MAE is in Likert points.
    """
    report = services.judge.agreement(filters)
    if as_json:
        click.echo(report.model_dump_json())
        return
    click.echo(f"{report.judged} answers with a judge score. Mapping: {report.mapping}.")
    for a in (report.users, report.smes):
        who = "user ratings" if a.against == "users" else "SME scores"
        click.echo(
            f"\nAgainst {who}: n {a.n}, weighted kappa {_num(a.kappa)}, Spearman rho {_num(a.spearman)}, "
            f"MAE {_num(a.mae)} Likert points"
        )
        if not a.n:
            continue
        click.echo("  person \\ judge " + "".join(f"{j:>6}" for j in a.labels))
        for level, row in zip(a.labels, a.confusion, strict=True):
            click.echo(f"  {level} {LIKERT_LABELS[level]:<17}" + "".join(f"{c:>6}" for c in row))


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
