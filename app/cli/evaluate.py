"""``ragbot eval``: a model (and a baseline) against the reference answers of a validation file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.cli.shared import pass_services


@click.command("eval")
@click.option(
    "--model",
    "model",
    required=True,
    metavar="PATH",
    help="A model folder, a PEFT adapter folder or a packaged model name.",
)
@click.option(
    "--baseline",
    metavar="PATH",
    help="The model to compare with, side by side (default: the served model: RAGBOT_LOCAL_MODEL, else the promoted one).",
)
@click.option("--no-baseline", is_flag=True, help="Score the model alone (no comparison).")
@click.option(
    "--data", required=True, type=click.Path(path_type=Path), metavar="FILE", help="An SFT file: DIR/sft/val.jsonl."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    metavar="REPORT",
    help="Folder for report.md, results.json, answers.jsonl.",
)
@click.option(
    "--judge",
    is_flag=True,
    help="Also grade every answer with the AI judge (RAGBOT_JUDGE_*; SMEs and admins) and report its score distribution.",
)
@click.option("--limit", type=click.IntRange(1), help="Only the first N examples (a quick check).")
@click.option("--max-new-tokens", type=click.IntRange(1, 4096), default=128, show_default=True)
@click.option(
    "--runtime",
    type=click.Choice(["auto", "onnx", "transformers"]),
    default="auto",
    show_default=True,
    help="Runtime of the local model, as RAGBOT_LOCAL_RUNTIME: auto answers through ONNX Runtime as the app does, in batches.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@pass_services
def evaluate(services, model, baseline, no_baseline, data, out, judge, limit, max_new_tokens, runtime, as_json) -> None:
    """Mean MiniLM similarity of the model's answers to the reference answers, and the share of
    answers that state the reference's numbers, beside the served model's (or --baseline's), with
    the gate's verdict: better, no better or worse, with the bootstrap interval of each difference
    (RAGBOT_GATE_* thresholds)."""
    from training.errors import EvaluationError
    from training.evaluate import (
        EvalReport,
        advice,
        answer_all,
        conclude,
        judge_all,
        load_examples,
        write_report,
    )

    if baseline and no_baseline:
        raise click.UsageError("give --baseline PATH or --no-baseline, not both")
    settings = services.settings
    served = services.models.served()[1]  # RAGBOT_LOCAL_MODEL, else the promoted model (ragbot model list)
    served_label = "the served model, RAGBOT_LOCAL_MODEL or the promoted one" + (
        "" if settings.generator == "local" else f"; the app answers through RAGBOT_GENERATOR={settings.generator}"
    )
    no_baseline_note = None
    default_baseline = not baseline and not no_baseline
    if no_baseline:
        no_baseline_note = "No baseline (--no-baseline)."
    elif not baseline and _same_model(model, served):
        no_baseline_note = (
            f"No baseline: --model is the served model ({served}, RAGBOT_LOCAL_MODEL); "
            "compare with another with --baseline PATH."
        )
    elif not baseline:
        baseline = served

    grader = services.judge.grader() if judge else None  # refuse before minutes of answering
    examples = load_examples(data, limit)
    prompts = [p for p, _ in examples]
    references = [r for _, r in examples]
    cache = services.settings.models_dir
    answers = {"model": answer_all(model, prompts, cache, max_new_tokens, runtime)}
    report = EvalReport(data=str(data), model=services.training.score_answers(model, answers["model"], references))
    if baseline:
        try:
            answers["baseline"] = answer_all(baseline, prompts, cache, max_new_tokens, runtime)
        except EvaluationError as e:
            if not default_baseline:
                raise
            # The served model by default: its failure does not cost the model's figures.
            no_baseline_note = (
                f"No baseline: the served model '{served}' (RAGBOT_LOCAL_MODEL) cannot answer here: "
                f"{e.__cause__ or e}; give one with --baseline PATH."
            )
        else:
            report.baseline = services.training.score_answers(baseline, answers["baseline"], references)
    report.no_baseline = no_baseline_note
    if grader is not None:
        grade, concurrency = grader
        for label in ("model", "baseline"):
            if label in answers:
                getattr(report, label).judge = judge_all(grade, prompts, answers[label], references, concurrency)
    conclude(report, settings.gate_options())
    write_report(report, out, answers, examples)
    if as_json:
        figures = {"examples": report.model.examples}
        for label in ("model", "baseline"):
            s = getattr(report, label)
            if s is not None:
                figures[label] = {
                    "path": s.model,
                    "similarity": round(s.similarity, 4),
                    "numbers_right": s.numbers_right,
                }
                if s.judge is not None:
                    figures[label]["judge"] = s.judge.model_dump(exclude={"scores"})
        if report.no_baseline:
            figures["no_baseline"] = report.no_baseline
        figures["verdict"] = report.verdict
        if report.gate is not None:
            figures["gate"] = report.gate.model_dump(mode="json", exclude={"options"})
        click.echo(json.dumps(figures))
        return
    if report.no_baseline:
        click.echo(report.no_baseline)
    for label in ("baseline", "model"):
        s = getattr(report, label)
        if s is not None:
            which = f"{s.model}, {served_label}" if label == "baseline" and s.model == served else s.model
            click.echo(
                f"{label:<9} similarity {s.similarity:.4f}  numbers right {s.numbers_right if s.numbers_right is None else f'{s.numbers_right:.1%}'}  ({which})"
            )
            if s.judge is not None and s.judge.mean is not None:
                click.echo(
                    f"{'':<9} judge mean {s.judge.mean:.2f}  score > 4 {s.judge.above_4:.1%}  score < 3 {s.judge.below_3:.1%}"
                    f"  (no usable score: {s.judge.unscored})"
                )
    if report.gate is None:
        click.echo(f"Verdict: {report.verdict}")
    else:  # the same words as the report's, one interval per line
        gate = report.gate
        click.echo(f"Verdict: {gate.verdict}: {gate.reason}. {gate.level:.2%} intervals of model minus baseline:")
        for d in gate.metrics:
            click.echo(f"  {d.describe()}")
        click.echo(advice(report))
    click.echo(f"Report: {out / 'report.md'}")


def _same_model(a: str, b: str) -> bool:
    """Whether two model names (a packaged name or a folder) name the same model."""
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    if pa.exists() and pb.exists():
        return pa.resolve() == pb.resolve()
    return a == b
