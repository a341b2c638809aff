"""``ragbot ask``: a cited answer on the command line."""

from __future__ import annotations

import click

from app.cli.shared import emit, pass_services
from app.cli.corpus import citation_json, search_filters
from rag.records import Answer
from rag.verified import VerifiedMatch


def verified_json(match: VerifiedMatch | None) -> dict | None:
    """The SME-verified answer served for the question, or None (``ragbot ask --json``'s ``verified``)."""
    if match is None:
        return None
    e = match.entry
    return {
        "id": e.id,
        "question": e.question,
        "reviewer": e.reviewer,
        "reviewed_at": e.reviewed_at.isoformat() if e.reviewed_at else None,
        "similarity": match.similarity,
        "answer": e.answer,
        "citations": [citation_json(c) for c in e.citations],
    }


def answer_json(a: Answer) -> dict:
    return {
        "question": a.question,
        "answer": a.answer,
        "found": a.found,
        "citations": [citation_json(c) for c in a.citations],
        "model_id": a.model_id,
        "prompt_version": a.prompt_version,
        "latency_ms": a.latency_ms,
        "retrieval_ms": a.retrieval_ms,
        # Numbers and codes in the answer that no cited passage holds: check them first.
        "unsupported": a.unsupported,
        "sentences": [s.model_dump() for s in a.grounding.sentences] if a.grounding else [],
        "supporting": {str(n): text for n, text in a.grounding.supporting.items()} if a.grounding else {},
        # Passages the answer was built on that address the model ("ignore previous instructions…"):
        # their sentences were withheld from the model; read the answer with care.
        "injection": [f.model_dump() for f in a.injection],
    }


def injection_warning(a: Answer) -> str:
    """The one-line warning for an answer built on passages that address the model ('' when none)."""
    if not a.injection:
        return ""
    cited = ", ".join(f"[{f.n}] {f.source}" + (f" – page {f.page}" if f.page is not None else "") for f in a.injection)
    return (
        f"Passage{'s' * (len(a.injection) != 1)} {cited} hold{'s' * (len(a.injection) == 1)} text addressed to the "
        "assistant (possible prompt injection); it was withheld from the model. Check the answer against the sources."
    )


@click.command()
@click.argument("question")
@click.option("--folder", help="Only documents in this folder (and below).")
@click.option("--source", help="Only this document.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of streaming.")
@pass_services
def ask(services, question, folder, source, as_json) -> None:
    """Answer QUESTION from the documents, with citations."""
    filters = search_filters(folder, source)
    verified = services.verified.find(question, filters)
    if as_json:
        emit(answer_json(services.chat.ask(question, filters=filters)) | {"verified": verified_json(verified)})
        return
    if verified is not None:
        e = verified.entry
        when = f" on {e.reviewed_at:%Y-%m-%d}" if e.reviewed_at else ""
        click.echo(
            click.style(f"Verified by {e.reviewer or 'an SME'}{when} for: {e.question!r}", fg="green", bold=True)
        )
        click.echo(e.answer + "\n")
        for c in e.citations:
            click.echo(f"  [{c.n}] {c.label}")
        click.echo(click.style("\nThe model's own answer:", bold=True))
    answer = None
    for event in services.chat.ask_stream(question, filters=filters):
        if event.kind == "token":
            click.echo(event.token, nl=False)
        elif event.kind == "answer":
            answer = event.answer
    click.echo("\n")
    if answer.injection:
        click.echo(click.style("Warning: ", fg="red", bold=True) + injection_warning(answer), err=True)
    if answer.unsupported:
        click.echo(
            click.style("Check these: ", fg="yellow", bold=True)
            + ", ".join(answer.unsupported)
            + " appear in none of the sources.",
            err=True,
        )
    if answer.citations:
        click.echo(click.style("Sources:" if answer.found else "Searched:", bold=True))
        for c in answer.citations:
            click.echo(f"  [{c.n}] {c.label}")
    click.echo(click.style(f"{answer.model_id} · {answer.latency_ms / 1000:.1f}s", dim=True))
