"""``ragbot train …``: the companion training package (``training/``) driven from the CLI.

The commands only translate options and errors; the work lives in ``training``, which never
imports ``app``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from app.cli.shared import RagbotGroup, pass_services
from app.cli.feedback import filter_options
from feedback.stores.base import InteractionFilter


@click.group(cls=RagbotGroup)
def train() -> None:
    """Turn feedback into a better model: datasets, fine-tuning, reward model, RL, launch."""


@train.command("dataset")
@click.option(
    "--out", "-o", metavar="DIR", required=True, type=click.Path(path_type=Path), help="Folder to write the dataset to."
)
@click.option(
    "--from",
    "from_file",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSONL or Parquet export to read instead of the feedback store.",
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=0.1,
    show_default=True,
    help="Share of the records held out for validation (at most, rounded half up; at least one), whole "
    "conversations at a time (1: all, an evaluation set).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Fixes which conversations go to validation.")
@click.option("--base", metavar="MODEL", help="Model whose tokenizer measures length (default: RAGBOT_LOCAL_MODEL).")
@click.option(
    "--max-tokens",
    type=click.IntRange(256),
    default=2048,
    show_default=True,
    help="Longest example; longer passages are cut.",
)
@click.option(
    "--min-examples", type=click.IntRange(1), default=8, show_default=True, help="Refuse with fewer SFT examples."
)
@filter_options
@pass_services
def dataset_command(
    services,
    out: Path,
    from_file: Path | None,
    val_fraction: float,
    seed: int,
    base: str | None,
    max_tokens: int,
    min_examples: int,
    filters: InteractionFilter,
) -> None:
    """Build SFT, preference, KTO and RL-prompt datasets (TRL's formats) and a card from feedback.

    Targets: the SME's reference answer, else the user's correction, else an answer rated (or
    judged) 4 or more. Split by conversation; no question is in both train and val.
    """
    from training.dataset import DatasetOptions, build_dataset
    from training.evalset import EvalSets
    from training.tokens import load_tokenizer

    unreadable: list[str] = []
    if from_file is not None:
        records = services.feedback.interactions_from_file(from_file, filters)
    else:
        records = services.feedback.interactions(filters, unreadable=unreadable)
    if unreadable:
        click.echo(f"Warning: {len(unreadable)} stored records could not be read and were left out.", err=True)
    model = base or services.settings.local_model
    counter = load_tokenizer(model, services.settings.models_dir)
    options = DatasetOptions(val_fraction=val_fraction, seed=seed, max_tokens=max_tokens, min_examples=min_examples)
    source = {"file": str(from_file)} if from_file else {"store": services.settings.feedback_store}
    source["filters"] = filters.model_dump(mode="json", exclude_none=True)
    frozen = EvalSets(services.settings.evalsets_dir).current()  # never trained on
    card = build_dataset(records, out, counter, options, source, frozen.holdout() if frozen else None)
    click.echo(f"Wrote {out} from {card.records.used} of {card.records.read} interactions:")
    if card.eval_set is not None:
        click.echo(f"  left out: {card.eval_set.excluded} records of the evaluation set {card.eval_set.hash[:12]}")
    for kind, f in card.files.items():
        cut = f", {f.truncated} with passages cut" if f.truncated else ""
        dropped = f", {sum(f.dropped.values())} dropped" if f.dropped else ""
        click.echo(f"  {kind:<10} {f.train:>5} train {f.val:>5} val{cut}{dropped}")
    leaks = sum(v["questions_in_both"] for v in card.split.leakage.values())
    click.echo(f"  leakage: {leaks} questions in both train and val; card: {out / 'card.md'}")
    if card.files["sft"].train:
        click.echo(f"Next: ragbot train sft --data {_quoted(out)} --out OUT  (OUT: a new folder for the adapter)")
    else:  # --val-fraction 1: an evaluation set
        click.echo(f"Next: ragbot eval --model MODEL --data {_quoted(out / 'sft' / 'val.jsonl')} --out REPORT")


def _quoted(path: Path) -> str:
    """A path as it can be pasted into a shell."""
    import shlex

    return shlex.quote(str(path))


@train.command("launch", context_settings={"ignore_unknown_options": True})
@click.option("--on", "platform", type=click.Choice(["sagemaker"]), required=True, help="Where the job runs.")
@click.option("--dry-run", is_flag=True, help="Print the CreateTrainingJob request instead of sending it.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def launch_command(platform: str, dry_run: bool, command: tuple[str, ...]) -> None:
    """Run a train command as a SageMaker training job: ragbot train launch --on sagemaker -- train sft --data DIR --out OUT --profile full.

    Settings: RAGBOT_SAGEMAKER_TRAINING_ROLE_ARN, _IMAGE_URI, _DATA_S3, _OUTPUT_S3, _INSTANCE_TYPE,
    _SPOT, _MAX_RUNTIME_S, _MAX_WAIT_S (see training/launch.py).
    """
    import json

    from pydantic import ValidationError

    from app.config import explain
    from training.launch import LaunchSettings, launch, training_job_request

    try:
        settings = LaunchSettings()
    except ValidationError as e:
        raise click.ClickException(f"invalid launch setting (RAGBOT_SAGEMAKER_TRAINING_*): {explain(e)}") from e
    if dry_run:
        click.echo(json.dumps(training_job_request(command, settings), indent=2))
        return
    click.echo(f"Started {launch(command, settings)}")


@train.command("reranker")
@click.option(
    "--out", "-o", metavar="DIR", required=True, type=click.Path(file_okay=False, path_type=Path), help="Model folder."
)
@click.option(
    "--pairs", type=click.IntRange(10), default=1500, show_default=True, help="Pairs to mine from the corpus."
)
@click.option(
    "--negatives", type=click.IntRange(1, 20), default=3, show_default=True, help="Wrong pages per corpus query."
)
@click.option(
    "--holdout",
    type=click.FloatRange(0.01, 0.5),
    default=0.1,
    show_default=True,
    help="Share of pages and feedback questions kept out of training, to measure the model on.",
)
@click.option("--epochs", type=click.IntRange(1, 20), help="Passes over the pairs [default: the measured recipe's, 2].")
@click.option("--max-steps", type=click.IntRange(1), help="Stop after this many steps.")
@click.option("--no-feedback", is_flag=True, help="Mine the corpus only (no feedback records read).")
@pass_services
def reranker_command(
    services, out: Path, pairs: int, negatives: int, holdout: float, epochs: int | None, max_steps, no_feedback: bool
) -> None:
    """Train a passage re-ranker for RAGBOT_RERANKER from the index and from feedback, no download.

    Pairs: a sentence of a passage finds that passage and not the pages keyword search confuses
    it with; answers judged good endorse the passages they cited, answers judged bad with a
    correction or a reference demote theirs. Prints search quality on held-out questions with
    and without the model.
    """
    from training.errors import TrainingError
    from training.reranker import RerankerOptions

    options = RerankerOptions(pairs=pairs, negatives=negatives, holdout=holdout, max_steps=max_steps)
    if epochs is not None:
        options = dataclasses.replace(options, epochs=epochs)
    try:
        report = services.training.train_reranker(
            out, options, use_feedback=not no_feedback, progress=lambda line: click.echo(line + "…", err=True)
        )
    except TrainingError as e:
        raise click.ClickException(str(e)) from e
    click.echo(
        f"Saved to {out} after {report.training['global_step']} steps; pairs: "
        + ", ".join(f"{n} {kind}" for kind, n in report.pairs.items() if n)
    )
    click.echo(f"{report.held_out} held-out questions      hit@1   hit@5   MRR")
    for label, f in (("without the re-ranker", report.without), ("with the re-ranker", report.with_reranker)):
        click.echo(f"  {label:<26} {f.hit_at_1:.3f}   {f.hit_at_5:.3f}   {f.mrr:.3f}")
    if report.helps:
        click.echo(f"It helps: set RAGBOT_RERANKER={out.resolve()} to use it.")
    else:
        click.echo(
            "It did not help on the held-out questions: leave RAGBOT_RERANKER unset (or train longer: --epochs 3)."
        )
