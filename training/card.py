"""The dataset card: what went into each file, by which rule, what was left out and why.

Written twice, as ``card.json`` (for the trainers, which record its ``data_hash`` next to their
output) and ``card.md`` (for people). Nothing is dropped without a line here.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

KINDS = ("sft", "preference", "kto", "prompts")


class FileCard(BaseModel):
    """One kind of file (``sft``, ``preference``, ``kto``, ``prompts``)."""

    train: int = 0
    val: int = 0
    rules: dict[str, int] = Field(default_factory=dict, description="Examples per rule that made them.")
    synthetic: int = Field(default=0, description="Examples from validated synthetic records.")
    truncated: int = Field(default=0, description="Examples whose passages were cut to fit max_tokens.")
    dropped: dict[str, int] = Field(default_factory=dict, description="Examples left out, per reason.")
    written: list[str] = Field(default_factory=list, description="Files written (an empty split has no file).")


class RecordCard(BaseModel):
    read: int = 0
    used: int = 0
    conversations: int = 0
    questions: int = 0
    synthetic_read: int = 0
    synthetic_used: int = 0
    excluded: dict[str, int] = Field(default_factory=dict, description="Records left out entirely, per reason.")
    prompt_versions: dict[str, int] = Field(default_factory=dict)
    history_incomplete: int = Field(
        default=0,
        description="Later turns whose earlier turns are not all in the records (the prompt has what is there).",
    )


class SplitCard(BaseModel):
    train_records: int = 0
    val_records: int = 0
    train_conversations: int = 0
    val_conversations: int = 0
    leakage: dict[str, dict] = Field(default_factory=dict, description="Per file: what train and val share.")

    @property
    def leaks(self) -> bool:
        return any(v["questions_in_both"] or v["conversations_in_both"] for v in self.leakage.values())


class EvalSetRef(BaseModel):
    """The frozen evaluation set the dataset was kept apart from."""

    hash: str
    excluded: int = Field(description="Records left out because they are in it or ask one of its questions.")


class Card(BaseModel):
    created_at: datetime
    source: dict
    options: dict
    tokenizer: str
    prompt_version: str = Field(description="The answer prompt the system messages were built with.")
    records: RecordCard
    split: SplitCard
    files: dict[str, FileCard]
    tokens_removed: int = Field(default=0, description="Passage tokens cut in all, to fit max_tokens.")
    data_hash: str = ""
    versions: dict[str, str] = Field(default_factory=dict)
    eval_set: EvalSetRef | None = None


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def render(card: Card) -> str:
    """The card as markdown."""
    r, s = card.records, card.split
    source = card.source.get("file") or "the feedback store"
    filters = ", ".join(f"{k}={v}" for k, v in card.source.get("filters", {}).items()) or "none"
    lines = [
        "# Dataset card",
        "",
        f"Built {card.created_at:%Y-%m-%d %H:%M} UTC from {source} (filters: {filters}); "
        f"prompt `{card.prompt_version}`; tokens counted with `{card.tokenizer}`.",
        f"Options: {', '.join(f'{k}={v}' for k, v in card.options.items())}.",
        f"Data hash: `{card.data_hash}`.",
        "",
        "## Records",
        "",
        f"{r.read} read, {r.used} used, from {r.conversations} conversations and {r.questions} distinct questions.",
        f"Synthetic: {r.synthetic_read} read, {r.synthetic_used} used (only SME-validated ones enter).",
        f"Left out: {_counts(r.excluded)}.",
        (
            f"Evaluation set `{card.eval_set.hash}`: {card.eval_set.excluded} records in it or asking its questions "
            "were left out, never trained on."
            if card.eval_set
            else "No frozen evaluation set: every record could be trained on."
        ),
        f"Prompt versions answered under: {_counts(r.prompt_versions)}.",
    ]
    if r.history_incomplete:
        lines.append(f"{r.history_incomplete} later turns miss earlier turns of their conversation (filtered out).")
    lines += [
        "",
        "## Files",
        "",
        "| file | train | val | rules | synthetic | passages cut | dropped |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for kind in KINDS:
        f = card.files.get(kind, FileCard())
        lines.append(
            f"| {kind} | {f.train} | {f.val} | {_counts(f.rules)} | {f.synthetic} | {f.truncated} | {_counts(f.dropped)} |"
        )
    missing = [
        f"{k}/{split}.jsonl"
        for k in KINDS
        for split in ("train", "val")
        if f"{split}.jsonl" not in card.files[k].written
    ]
    if missing:
        lines.append("")
        lines.append(f"Not written (no examples): {', '.join(missing)}.")
    lines += [
        "",
        f"Passages were cut to fit {card.options.get('max_tokens')} tokens in {sum(f.truncated for f in card.files.values())} "
        f"examples ({card.tokens_removed} tokens in all); nothing was dropped for length unless listed above.",
        "",
        "## Split and leakage",
        "",
        f"By conversation, questions kept together: {s.train_records} records ({s.train_conversations} conversations) "
        f"train, {s.val_records} records ({s.val_conversations} conversations) val.",
        "",
    ]
    for kind, leak in s.leakage.items():
        verdict = "none" if not (leak["questions_in_both"] or leak["conversations_in_both"]) else "LEAK"
        lines.append(
            f"- {kind}: {leak['questions_in_both']} questions and {leak['conversations_in_both']} conversations "
            f"in both train and val ({verdict})"
        )
    lines += ["", "## Versions", "", *(f"- {k} {v}" for k, v in card.versions.items()), ""]
    return "\n".join(lines)
