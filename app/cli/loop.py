"""``ragbot loop run|freeze-eval|runs``: the loop as one operation (``training.loop``; admins)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from app.cli.shared import RagbotGroup, emit, pass_services
from app.cli.train_models import _overrides


@click.group(cls=RagbotGroup)
def loop() -> None:
    """Feedback to a proven candidate model in one resumable run, on a schedule (admins)."""


@loop.command("run")
@click.option(
    "--method",
    type=click.Choice(["sft", "sft+dpo", "sft+reward+rl"]),
    default="sft",
    show_default=True,
    help="The trainers, in turn.",
)
@click.option(
    "--profile",
    type=click.Choice(["tiny", "full"]),
    default="tiny",
    show_default=True,
    help="tiny: a few steps on the CPU; full: the seed's settings, for a GPU or SageMaker.",
)
@click.option("--base", help="The model to train from (default: the profile's, the packaged SmolLM2).")
@click.option("--max-steps", type=click.IntRange(1), help="Steps per trainer (overrides the profile).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="A TRL config field for every trainer.")
@click.option("--min-examples", type=click.IntRange(1), default=8, show_default=True, help="Fewest SFT examples.")
@click.option("--no-judge", is_flag=True, help="Do not score the unscored answers first.")
@click.option("--eval-limit", type=click.IntRange(1), help="Evaluate on the first N questions only (a quick check).")
@click.option("--max-new-tokens", type=click.IntRange(1, 4096), default=128, show_default=True, help="Per answer.")
@click.option(
    "--runtime",
    type=click.Choice(["auto", "onnx", "transformers"]),
    default="auto",
    show_default=True,
    help="Runtime the models answer the evaluation set with (auto: as the app).",
)
@click.option("--promote", is_flag=True, help="Serve the candidate at once when the gate calls it better.")
@click.option("--fresh", is_flag=True, help="Start over instead of resuming an unfinished run.")
@click.option("--on", "platform", type=click.Choice(["sagemaker"]), help="Run the same steps as a SageMaker job.")
@click.option("--dry-run", is_flag=True, help="With --on sagemaker: print the CreateTrainingJob request only.")
@click.option(
    "--export",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Copy the registered candidate (model and card) into DIR (a SageMaker job's model folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as one JSON object.")
@pass_services
def run_command(
    services,
    method,
    profile,
    base,
    max_steps,
    settings,
    min_examples,
    no_judge,
    eval_limit,
    max_new_tokens,
    runtime,
    promote,
    fresh,
    platform,
    dry_run,
    export,
    as_json,
) -> None:
    """Judge what is unscored, build the dataset (without the frozen evaluation set), train, answer
    the evaluation set with the candidate and the served model, apply the gate and register the
    candidate with its verdict. An interrupted or failed run is resumed by the next; a run with
    nothing new trains nothing; two runs never overlap. Exit status 1 when a step failed (the
    served model is untouched)."""
    from training.loop_state import LoopOptions

    options = LoopOptions(
        method=method,
        profile=profile,
        base=base,
        max_steps=max_steps,
        overrides=_overrides(settings),
        judge=not no_judge,
        min_examples=min_examples,
        eval_limit=eval_limit,
        max_new_tokens=max_new_tokens,
        runtime=runtime,
        promote=promote,
    )
    if platform == "sagemaker":
        if fresh:
            raise click.UsageError("--fresh is for a run on this machine: a loop job resumes what it finds")
        _on_sagemaker(services, options, settings, dry_run)
        return
    if dry_run:
        raise click.UsageError("--dry-run goes with --on sagemaker")
    # The trainers print their logged steps on stdout (transformers' tqdm.write): stdout is the summary's.
    with contextlib.redirect_stdout(sys.stderr):
        state = services.loop.run(options, fresh=fresh, progress=None if as_json else _progress)
    if export is not None and state.candidate:
        services.models.registry.export(state.candidate, export)
    if as_json:
        emit(state.model_dump(mode="json"))
        return
    _print_summary(state)


def _progress(line: str) -> None:
    click.echo(f"  … {line}", err=True)


def _print_summary(state) -> None:
    total = sum(s.seconds for s in state.steps)
    resumed = f", resumed {state.resumed} time(s)" if state.resumed else ""
    click.echo(f"Run {state.id}: {state.status} ({total:.1f}s of steps{resumed})")
    for step in state.steps:
        click.echo(f"  {step.name:<9} {step.seconds:>7.1f}s  {_figures(step.name, step.detail)}")
    if state.gate is not None:
        click.echo(
            f"Gate: {state.gate.verdict}: {state.gate.reason}; {state.gate.level:.2%} intervals, candidate - served:"
        )
        for m in state.gate.metrics:
            click.echo(f"  {m.describe()}")
    click.echo(state.message[:1].upper() + state.message[1:] + ".")


def _figures(name: str, d: dict) -> str:
    if name == "judge":
        return (
            d.get("skipped")
            or f"{d.get('scored', 0)} scored of {d.get('selected', 0)} unscored ({d.get('judge_model')})"
        )
    if name == "eval_set":
        return f"set {d['hash'][:12]} v{d['version']}: {d['questions']} questions ({d['added']} added)"
    if name == "dataset":
        return (
            f"data {d['data_hash'][:12]}: {d['records']} records, {d.get('sft_train', 0)} SFT examples; "
            f"{d['eval_set_excluded']} kept apart for the evaluation set"
        )
    if name == "train":
        return "; ".join(
            f"{trainer} {m.get('global_step', '?')} steps, loss {m.get('train_loss', float('nan')):.3f}"
            for trainer, m in d.items()
        )
    if name == "evaluate":
        return f"{d['questions']} questions: {d['verdict']}"
    return f"candidate {d['candidate']}" + (" (promoted)" if d.get("promoted") else "")


def _on_sagemaker(services, options, settings: tuple[str, ...], dry_run: bool) -> None:
    """The same run as one SageMaker training job (training.launch.loop_job_request)."""
    import json

    from pydantic import SecretStr, ValidationError

    from app.config import explain
    from training.launch import LaunchSettings, loop_job_request, start_loop
    from training.sagemaker_registry import SageMakerRegistrySettings

    s = services.settings
    if s.feedback_store != "dynamodb":
        raise click.ClickException(
            "a loop job on SageMaker reads the feedback store from there: this one is a SQLite file on this machine "
            "(set RAGBOT_FEEDBACK_STORE=dynamodb)"
        )
    try:
        launch, registry = LaunchSettings(), SageMakerRegistrySettings()
    except ValidationError as e:
        raise click.ClickException(
            f"invalid setting (RAGBOT_SAGEMAKER_TRAINING_*, RAGBOT_SAGEMAKER_REGISTRY_*): {explain(e)}"
        ) from e
    # The installation's own settings travel as the job's environment, secrets never (a job's
    # environment is readable by whoever may describe it): the role gives the job its AWS access.
    environment = {
        f"RAGBOT_{name.upper()}": _env_value(getattr(s, name))
        for name in sorted(s.model_fields_set)
        if name not in ("home", "loop_model_data_url") and not isinstance(getattr(s, name), SecretStr)
    }
    environment |= {
        f"RAGBOT_SAGEMAKER_REGISTRY_{k.upper()}": str(v) for k, v in registry.model_dump().items() if v is not None
    }
    args = ["--method", options.method, "--profile", options.profile, "--min-examples", str(options.min_examples)]
    args += ["--max-new-tokens", str(options.max_new_tokens)]
    args += [
        f"--{k.replace('_', '-')}={getattr(options, k)}"
        for k in ("base", "max_steps", "eval_limit")
        if getattr(options, k)
    ]
    args += [a for item in settings for a in ("--set", item)]
    args += [flag for flag, on in (("--no-judge", not options.judge), ("--promote", options.promote)) if on]
    request = loop_job_request(args, launch, environment)
    if dry_run:
        click.echo(json.dumps(request, indent=2))
        return
    click.echo(f"Started {start_loop(request, launch)}: its candidate is registered in {registry.group}.")


def _env_value(value) -> str:
    import json

    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


@loop.command("freeze-eval")
@click.option("--json", "as_json", is_flag=True, help="Print the set's card as one JSON object.")
@pass_services
def freeze_eval_command(services, as_json: bool) -> None:
    """Freeze newly SME-validated references and validated synthetic pairs into the evaluation set
    (RAGBOT_EVAL_SHARE of them; never trained on). Loop runs do it as their first step too."""
    card = services.loop.freeze_eval()
    if as_json:
        emit(card.model_dump(mode="json", exclude={"ids", "question_keys"}))
        return
    click.echo(
        f"Evaluation set {card.hash} (version {card.version}): {card.questions} questions "
        f"({', '.join(f'{n} {k}' for k, n in sorted(card.kinds.items()))}), {card.added} added by this version."
    )
    click.echo(f"Its examples: {services.loop.evalsets.examples_path(card.hash)} (ragbot eval --data reads it).")


@loop.command("runs")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_services
def runs_command(services, as_json: bool) -> None:
    """The loop runs, newest first: status, data, evaluation set, candidate and verdict."""
    for state in services.loop.runs():
        if as_json:
            emit(state.model_dump(mode="json", exclude={"steps", "gate"}))
            continue
        click.echo(
            f"{state.id}  {state.status:<11} {state.options.method:<13} data {(state.data_hash or '-')[:12]:<12} "
            f"set {(state.eval_set or '-')[:12]:<12} {state.candidate or '-'} {state.verdict or ''}"
        )
