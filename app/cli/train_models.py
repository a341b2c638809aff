"""``ragbot train sft|reward|rl|dpo|kto``: the trainers of ``training.trainers`` from the CLI.

Each command translates options, shows TRL's progress, and turns a ``TrainerError`` (bad data,
a missing model, an interruption) into one line and exit status 1. The heavy imports (torch,
TRL) happen inside the commands, so ``ragbot --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from shlex import quote

import click

from app.cli.train import train

PROFILE = click.option(
    "--profile",
    "profile_name",
    type=click.Choice(["tiny", "full"]),
    default="tiny",
    show_default=True,
    help="tiny: a few steps on the CPU; full: the seed's settings, for a GPU or SageMaker.",
)
MAX_STEPS = click.option(
    "--max-steps", type=click.IntRange(min=1), help="Stop after this many steps (overrides the profile)."
)
SET = click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one TRL config field of the profile, e.g. --set learning_rate=1e-4 (repeatable).",
)
RESUME = click.option(
    "--resume", is_flag=True, help="Resume from OUT's last checkpoint (automatic when OUT has checkpoints)."
)
DATA = click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The folder `ragbot train dataset` wrote.",
)
OUT = click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")


def run_options(command):
    """--profile, --max-steps, --set and --resume: what every trainer takes."""
    for option in reversed((PROFILE, MAX_STEPS, SET, RESUME)):
        command = option(command)
    return command


def _overrides(settings: tuple[str, ...]) -> dict:
    parsed = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{item}' is not KEY=VALUE", param_hint="--set")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return parsed


def _models_dir() -> Path | None:
    """Where the app converts and merges models (RAGBOT_HOME/models), so both share one copy."""
    from app.config import Settings

    try:
        return Settings().models_dir
    except Exception:  # a bad setting elsewhere should not stop training; use the default cache
        return None


def _run(job, settings: tuple[str, ...], **options) -> dict:
    """``job`` with the --set overrides parsed; a TrainerError becomes one line and exit 1."""
    from training.trainers.errors import TrainerError

    overrides = _overrides(settings)
    try:
        return job(overrides=overrides, **options)
    except TrainerError as e:
        raise click.ClickException(str(e)) from e


def _report(out: Path, metrics: dict, keys: tuple[str, ...]) -> None:
    shown = ", ".join(f"{k} {metrics[k]:.4g}" for k in keys if k in metrics)
    click.echo(f"Saved to {out} after {metrics.get('global_step')} steps" + (f": {shown}" if shown else "") + ".")


def _next_eval(model: Path, data: Path) -> None:
    """The step after training an answer model: measure it against the served one."""
    val = data / "sft" / "val.jsonl"
    if val.is_file():
        click.echo(
            f"Next: ragbot eval --model {quote(str(model))} --data {quote(str(val))} --out REPORT"
            "  (compares it with the served model, RAGBOT_LOCAL_MODEL, on the held-out answers)"
        )
    else:
        click.echo(
            f"Next: ragbot eval --model {quote(str(model))} --data FILE --out REPORT  ({data} has no sft/val.jsonl: "
            "build an evaluation set with ragbot train dataset --val-fraction 1)"
        )


@train.command()
@DATA
@OUT
@click.option("--base", help="Base model: the packaged SmolLM2-135M-Instruct (default), a folder or an adapter.")
@run_options
def sft(data: Path, out: Path, base: str | None, profile_name: str, max_steps, settings, resume: bool) -> None:
    """LoRA fine-tuning of the answer model on DATA/sft; OUT is an adapter RAGBOT_LOCAL_MODEL loads."""
    from training.trainers.sft import train_sft

    metrics = _run(
        train_sft,
        data=data,
        out=out,
        base=base,
        profile_name=profile_name,
        max_steps=max_steps,
        settings=settings,
        resume=resume,
        cache_dir=_models_dir(),
    )
    _report(out, metrics, ("train_loss", "eval_loss", "eval_mean_token_accuracy"))
    _next_eval(out, data)


@train.command()
@DATA
@OUT
@click.option("--base", help="Base classifier: all-MiniLM-L6-v2 (packaged, tiny) or distilroberta-base (full).")
@run_options
def reward(data: Path, out: Path, base: str | None, profile_name: str, max_steps, settings, resume: bool) -> None:
    """A reward model on DATA/preference; prints its pairwise accuracy on val."""
    from training.trainers.reward import train_reward

    metrics = _run(
        train_reward,
        data=data,
        out=out,
        base=base,
        profile_name=profile_name,
        max_steps=max_steps,
        settings=settings,
        resume=resume,
    )
    _report(out, metrics, ("train_loss", "eval_loss", "pairwise_accuracy"))
    click.echo(
        f"Next: ragbot train rl --data {quote(str(data))} --policy SFT_OUT --reward-model {quote(str(out))} --out OUT"
        "  (SFT_OUT: the adapter from ragbot train sft)"
    )


@train.command()
@DATA
@click.option(
    "--policy", required=True, help="The model to improve: an adapter from `train sft`, a folder or a packaged name."
)
@click.option(
    "--reward-model",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="A model from `train reward`.",
)
@OUT
@run_options
def rl(
    data: Path, policy: str, reward_model: Path, out: Path, profile_name: str, max_steps, settings, resume: bool
) -> None:
    """Improve POLICY against the reward model with GRPO on DATA/prompts; logs mean reward per step."""
    from training.trainers.rl import train_rl

    metrics = _run(
        train_rl,
        data=data,
        policy=policy,
        reward_model=reward_model,
        out=out,
        profile_name=profile_name,
        max_steps=max_steps,
        settings=settings,
        resume=resume,
        cache_dir=_models_dir(),
    )
    _report(out, metrics, ("train_loss",))
    click.echo(f"Mean reward per step: {out / 'log.jsonl'}")
    _next_eval(out, data)


def _preference_command(kind: str, summary: str):
    @train.command(name=kind, help=summary)
    @DATA
    @click.option("--policy", help="The model to train: an adapter from `train sft`, a folder or the packaged SmolLM2.")
    @OUT
    @run_options
    def command(
        data: Path, policy: str | None, out: Path, profile_name: str, max_steps, settings, resume: bool
    ) -> None:
        from training.trainers.dpo import train_preference

        metrics = _run(
            train_preference,
            kind=kind,
            data=data,
            out=out,
            policy=policy,
            profile_name=profile_name,
            max_steps=max_steps,
            settings=settings,
            resume=resume,
            cache_dir=_models_dir(),
        )
        _report(out, metrics, ("train_loss", "eval_loss", "eval_rewards/accuracies", "eval_rewards/margins"))
        _next_eval(out, data)

    return command


dpo = _preference_command("dpo", "DPO on DATA/preference pairs; OUT is an adapter RAGBOT_LOCAL_MODEL loads.")
kto = _preference_command("kto", "KTO on DATA/kto (answers marked good or bad); OUT is an adapter.")
