"""``ragbot model list|show|promote|rollback``: the registry of trained candidates and the served model."""

from __future__ import annotations

import click

from app.cli.shared import RagbotGroup, emit, pass_services


@click.group(cls=RagbotGroup)
def model() -> None:
    """The trained candidates, their gate verdicts, and which one the app serves (admins)."""


ON = click.option(
    "--on",
    "platform",
    type=click.Choice(["sagemaker"]),
    help="The SageMaker Model Registry (RAGBOT_SAGEMAKER_REGISTRY_*) instead of RAGBOT_HOME's.",
)


@model.command("list")
@ON
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_services
def list_command(services, platform: str | None, as_json: bool) -> None:
    """Every candidate, newest first; the served one marked with *."""
    from training.registry import describe

    if platform == "sagemaker":
        packages = services.models.packages()
        served = next((p.arn for p in packages if p.status == "Approved"), None)
        for p in packages:
            if as_json:
                emit(p.model_dump(mode="json") | {"served": p.arn == served})
            else:
                click.echo(f"{'*' if p.arn == served else ' '} {p.arn}  {p.status:<21} {p.description}")
        return
    served, _ = services.models.served()
    cards = services.models.list()
    if as_json:
        for card in cards:
            emit(describe(card) | {"served": card.id == served})
        return
    if not cards:
        click.echo("No candidates yet: `ragbot loop run` trains and registers one.")
    for card in cards:
        sim = card.metrics.get("candidate", {}).get("similarity")
        figure = f"similarity {sim:.4f}" if sim is not None else ""
        mark = "*" if card.id == served else " "
        click.echo(f"{mark} {card.id}  {card.verdict:<9} {card.method:<13} {card.profile:<4} {figure}")
    click.echo(f"Served: {served}")


@model.command("show")
@click.argument("model_id")
@click.option("--json", "as_json", is_flag=True, help="The card as one JSON object.")
@pass_services
def show_command(services, model_id: str, as_json: bool) -> None:
    """One candidate's card: what it was trained from and on, and how it measured."""
    from training.registry import describe

    card = services.models.show(model_id)
    if as_json:
        emit(describe(card))
        return
    click.echo(f"{card.id}  ({card.created_at:%Y-%m-%d %H:%M} UTC, run {card.run_id})")
    click.echo(f"  trained: {card.method}, profile {card.profile}, from {card.base}")
    click.echo(f"  data {card.data_hash}  evaluation set {card.eval_set_hash}")
    for label, figures in card.metrics.items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in figures.items() if isinstance(v, float))
        click.echo(f"  {label:<9} {figures.get('model')}: {shown}")
    if card.gate is not None:
        click.echo(f"  gate against {card.served}: {card.gate.verdict}: {card.gate.reason}")
        for m in card.gate.metrics:
            click.echo(f"    {m.describe()}")
    click.echo(f"  folder: {services.models.registry.path(card.id)}")


@model.command("promote")
@click.argument("model_id")
@click.option(
    "--force", metavar="REASON", help="Promote a candidate the gate did not call better, saying why (audited)."
)
@ON
@click.option("--json", "as_json", is_flag=True, help="The promotion as one JSON object.")
@pass_services
def promote_command(services, model_id: str, force: str | None, platform: str | None, as_json: bool) -> None:
    """Serve MODEL_ID from now on: the app answers with it within RAGBOT_MODEL_CHECK_S seconds,
    without a restart (when RAGBOT_LOCAL_MODEL is unset). Refused when the gate did not call it
    better, unless --force REASON. With --on sagemaker, MODEL_ID is a model package ARN, approved."""
    if platform == "sagemaker":
        services.models.approve(model_id, force=force)
        click.echo(f"Approved {model_id}: the deployment that follows the group serves it next.")
        return
    event = services.models.promote(model_id, force=force)
    _said(services, event, as_json)


@model.command("rollback")
@ON
@click.option("--json", "as_json", is_flag=True, help="The rollback as one JSON object.")
@pass_services
def rollback_command(services, platform: str | None, as_json: bool) -> None:
    """Serve again the model served before the current promotion (the packaged base at the start).
    With --on sagemaker: reject the newest approved package, so the one approved before is served."""
    if platform == "sagemaker":
        rejected, served = services.models.reject_served()
        click.echo(f"Rejected {rejected}; the newest approved package is now {served or 'none'}.")
        return
    event = services.models.rollback()
    _said(services, event, as_json)


def _said(services, event, as_json: bool) -> None:
    if as_json:
        emit(event.model_dump(mode="json"))
        return
    served = event.served or f"the packaged base ({services.settings.local_model})"
    forced = f" (forced: {event.forced})" if event.forced else ""
    done = {"promote": "Promoted", "rollback": "Rolled back"}[event.action]
    click.echo(f"{done}: the app now serves {served}, instead of {event.before or 'the base'}{forced}.")
    if "local_model" in services.settings.model_fields_set:
        click.echo(
            f"Note: RAGBOT_LOCAL_MODEL={services.settings.local_model} is set here, and an app started with it serves "
            "that model whatever is promoted: unset it to follow the registry.",
            err=True,
        )
