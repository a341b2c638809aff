"""``ragbot eval``: a model (and a baseline) against the reference answers of a validation file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from app.cli.context import pass_services


@click.command("eval")
@click.option(
    "--model",
    "model",
    required=True,
    metavar="PATH",
    help="A model folder, a PEFT adapter folder or a packaged model name.",
)
@click.option("--baseline", metavar="PATH", help="A second model to compare with, side by side (e.g. the base model).")
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
def evaluate(services, model, baseline, data, out, judge, limit, max_new_tokens, runtime, as_json) -> None:
    """Mean MiniLM similarity of the model's answers to the reference answers, and the share of
    answers that state the reference's numbers; before/after with --baseline."""
    from training.evaluate import EvalReport, answer_all, judge_all, load_examples, score, write_report

    grader = services.judge.grader() if judge else None  # refuse before minutes of answering
    examples = load_examples(data, limit)
    prompts = [p for p, _ in examples]
    references = [r for _, r in examples]
    embedder = services.backends.embedder
    embed = embedder.embed_documents
    cache = services.settings.models_dir
    answers = {"model": answer_all(model, prompts, cache, max_new_tokens, runtime)}
    report = EvalReport(data=str(data), model=score(model, answers["model"], references, embed))
    if baseline:
        answers["baseline"] = answer_all(baseline, prompts, cache, max_new_tokens, runtime)
        report.baseline = score(baseline, answers["baseline"], references, embed)
    if grader is not None:
        grade, concurrency = grader
        for label in ("model", "baseline"):
            if label in answers:
                getattr(report, label).judge = judge_all(grade, prompts, answers[label], references, concurrency)
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
        click.echo(json.dumps(figures))
        return
    for label in ("baseline", "model"):
        s = getattr(report, label)
        if s is not None:
            click.echo(
                f"{label:<9} similarity {s.similarity:.4f}  numbers right {s.numbers_right if s.numbers_right is None else f'{s.numbers_right:.1%}'}  ({s.model})"
            )
            if s.judge is not None and s.judge.mean is not None:
                click.echo(
                    f"{'':<9} judge mean {s.judge.mean:.2f}  score > 4 {s.judge.above_4:.1%}  score < 3 {s.judge.below_3:.1%}"
                    f"  (no usable score: {s.judge.unscored})"
                )
    click.echo(f"Report: {out / 'report.md'}")
