"""``ragbot train dataset``: feedback records into TRL's dataset formats, with a card.

From an iterable of ``feedback.records.Interaction`` (the store through the app's services, or
an export file), writes into one folder:

* ``sft/{train,val}.jsonl`` — ``{"messages": [system, (earlier turns,) user, assistant]}``;
* ``preference/{train,val}.jsonl`` — ``{"prompt": [...], "chosen": [assistant], "rejected": [assistant]}``;
* ``kto/{train,val}.jsonl`` — ``{"prompt": [...], "completion": [assistant], "label": bool}``;
* ``prompts/{train,val}.jsonl`` — ``{"prompt": [...]}`` for RL;
* ``card.json`` and ``card.md`` (``training.card``).

These are TRL's conversational formats, so each trainer applies the model's chat template itself.
The prompt is the answer prompt as at answer time: ``rag.prompts.messages_for`` over the passages
the record kept (``context``) and, for a later turn, the conversation's earlier turns (as many as
the app passes, ``history_turns``). Which answer becomes a target and which a rejected side is
decided in ``training.labels``; the split in ``training.split``; cutting passages that do not fit
in ``training.tokens``. An empty split is not written (``datasets`` cannot load an empty file);
the card says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import BaseModel, Field

from feedback.records import Interaction
from rag.records import Turn
from rag.prompts import PROMPT_VERSION, messages_for
from training import labels
from training.card import KINDS, Card, EvalSetRef, FileCard, RecordCard, SplitCard, render
from training.errors import DatasetError
from training.split import groups, leakage, smallest_share, split
from training.tokens import TokenCounter, cut_passages


class DatasetOptions(BaseModel):
    """How a dataset is built (all written to the card)."""

    val_fraction: float = Field(default=0.1, gt=0.0, le=1.0, description="Share of records for validation (1.0: all).")
    seed: int = Field(default=0, description="Fixes which conversations go to validation.")
    max_tokens: int = Field(default=2048, ge=256, description="Longest example (prompt and answer) in tokens.")
    generation_tokens: int = Field(default=256, ge=1, description="Room left after an RL prompt for the answer.")
    history_turns: int = Field(default=3, ge=0, description="Earlier turns in the prompt, as the app passes them.")
    min_examples: int = Field(default=8, ge=1, description="Fewest SFT examples worth training on.")
    max_pairs_per_question: int = Field(default=4, ge=1, description="Rated-over-rated pairs per question at most.")


@dataclass(frozen=True)
class Holdout:
    """Records that must never be trained on: the frozen evaluation set (``training.evalset``).

    A record is held out when it is in the set or asks one of its questions (normalised), so no
    evaluation question is learnt from another asking of it."""

    hash: str
    ids: frozenset[str]
    questions: frozenset[str]

    def holds(self, record: Interaction) -> bool:
        return record.id in self.ids or labels.question_key(record.question) in self.questions


@dataclass
class Example:
    row: dict
    question: str
    session: str
    rule: str
    synthetic: bool
    truncated: bool


@dataclass
class Built:
    """The examples per kind and split, and the card (without its data hash until written)."""

    files: dict[str, dict[str, list[Example]]]
    card: Card


def _assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


@dataclass
class _Prompts:
    """Prompts per record, cut to fit; memoised per room left for the answer."""

    counter: TokenCounter
    options: DatasetOptions
    history: dict[str, list[Turn]]
    cache: dict[tuple[str, int], tuple[list[dict], int] | None] = field(default_factory=dict)
    tokens_removed: int = 0

    def fit(self, record: Interaction, answer_tokens: int) -> tuple[list[dict], int] | None:
        """The prompt messages and the tokens cut from its passages (0: whole), or None when it
        does not fit even with the passages cut."""
        key = (record.id, answer_tokens)
        if key not in self.cache:
            self.cache[key] = self._fit(record, answer_tokens)
        return self.cache[key]

    def _fit(self, record: Interaction, answer_tokens: int) -> tuple[list[dict], int] | None:
        history = self.history.get(record.id, [])
        context = record.context
        room = self.options.max_tokens - answer_tokens
        removed = 0
        for _ in range(4):
            messages = [m.model_dump() for m in messages_for(record.question, context, history)]
            excess = self.counter.prompt_tokens(messages) - room
            if excess <= 0:
                self.tokens_removed += removed
                return messages, removed
            shorter = cut_passages(context, self.counter, excess)
            if shorter is None:
                return None
            removed += excess
            context = shorter
        return None


def build(
    records: Iterable[Interaction],
    counter: TokenCounter,
    options: DatasetOptions,
    source: dict,
    holdout: Holdout | None = None,
) -> Built:
    """Examples for every kind of file, split, with their card; records ``holdout`` holds are left out.

    Raises:
        DatasetError: no records, or too few SFT examples to train on (the message says what to do).
    """
    everything = list(records)
    if not everything:
        raise DatasetError(f"no interactions to build a dataset from ({_where(source)})")
    rc = RecordCard(read=len(everything))
    rc.synthetic_read = sum(r.origin == "synthetic" for r in everything)
    rc.prompt_versions = dict(Counter(r.prompt_version for r in everything))
    excluded: Counter[str] = Counter()
    usable = []
    held = 0
    for r in everything:
        reason = labels.eligibility(r)
        if reason is None and holdout is not None and holdout.holds(r):
            reason, held = "in the evaluation set (never trained on)", held + 1
        if reason:
            excluded[reason] += 1
        else:
            usable.append(r)
    rc.excluded = dict(excluded)
    rc.used = len(usable)
    rc.synthetic_used = sum(r.origin == "synthetic" for r in usable)
    rc.conversations = len({r.session_id for r in usable})
    rc.questions = len({labels.question_key(r.question) for r in usable})

    history, rc.history_incomplete = _histories(everything, usable, options.history_turns)
    prompts = _Prompts(counter, options, history)
    in_val = split(usable, options.val_fraction, options.seed)
    files: dict[str, dict[str, list[Example]]] = {k: {"train": [], "val": []} for k in KINDS}
    cards = {k: FileCard() for k in KINDS}
    seen: dict[str, set[str]] = {k: set() for k in KINDS}

    def add(kind: str, record: Interaction, rule: str, row: dict | None, answer: str | None) -> None:
        if row is None:
            return
        answer_tokens = counter.text_tokens(answer) if answer is not None else options.generation_tokens
        fitted = prompts.fit(record, answer_tokens)
        if fitted is None:
            cards[kind].dropped["too long even with the passages cut"] = (
                cards[kind].dropped.get("too long even with the passages cut", 0) + 1
            )
            return
        messages, removed = fitted
        row = _with_prompt(kind, row, messages)
        key = json.dumps(row, sort_keys=True, ensure_ascii=False)
        if key in seen[kind]:
            return
        seen[kind].add(key)
        side = "val" if record.id in in_val else "train"
        files[kind][side].append(
            Example(
                row,
                labels.question_key(record.question),
                record.session_id,
                rule,
                record.origin == "synthetic",
                removed > 0,
            )
        )

    for r in usable:
        add("prompts", r, "all", {}, None)
        judged = labels.verdict(r)
        goal = labels.target(r)
        if goal is not None:
            add("sft", r, goal.rule, {"target": goal.text}, goal.text)
            add("kto", r, f"{goal.rule} (good)", {"completion": goal.text, "label": True}, goal.text)
            if goal.rule in ("reference", "correction") and not labels.same_text(goal.text, r.answer):
                longest = max(goal.text, r.answer, key=counter.text_tokens)
                pair = {"chosen": goal.text, "rejected": r.answer}
                add("preference", r, f"{goal.rule} over answer", pair, longest)
        if judged.good is not None and not (goal is not None and labels.same_text(goal.text, r.answer)):
            word = "good" if judged.good else "bad"
            add("kto", r, f"{judged.rule} answer ({word})", {"completion": r.answer, "label": judged.good}, r.answer)
    for good, bad in _rated_pairs(usable, options):
        longest = max(good.answer, bad.answer, key=counter.text_tokens)
        add("preference", good, "rated over rated", {"chosen": good.answer, "rejected": bad.answer}, longest)

    for kind in KINDS:
        c = cards[kind]
        examples = files[kind]["train"] + files[kind]["val"]
        c.train, c.val = len(files[kind]["train"]), len(files[kind]["val"])
        c.rules = dict(Counter(e.rule for e in examples))
        c.synthetic = sum(e.synthetic for e in examples)
        c.truncated = sum(e.truncated for e in examples)
    sc = SplitCard(
        train_records=sum(r.id not in in_val for r in usable),
        val_records=sum(r.id in in_val for r in usable),
        train_conversations=len({r.session_id for r in usable if r.id not in in_val}),
        val_conversations=len({r.session_id for r in usable if r.id in in_val}),
        leakage={
            k: leakage(
                ((e.question, e.session) for e in files[k]["train"]), ((e.question, e.session) for e in files[k]["val"])
            )
            for k in KINDS
        },
    )
    card = Card(
        created_at=datetime.now(UTC),
        source=source,
        options=options.model_dump(),
        tokenizer=counter.name,
        prompt_version=PROMPT_VERSION,
        records=rc,
        split=sc,
        files=cards,
        tokens_removed=prompts.tokens_removed,
        versions=_versions(),
        eval_set=EvalSetRef(hash=holdout.hash, excluded=held) if holdout is not None else None,
    )
    _refuse_if_too_small(card, source, options, usable)
    return Built(files, card)


def _where(source: dict) -> str:
    filters = ", ".join(f"{k}={v}" for k, v in source.get("filters", {}).items())
    where = source.get("file") or "the feedback store"
    return f"{where}, filters: {filters}" if filters else where


def _refuse_if_too_small(card: Card, source: dict, options: DatasetOptions, usable: list[Interaction]) -> None:
    sft = card.files["sft"]
    if sft.train + sft.val < options.min_examples:
        left_out = (
            f"; left out: {', '.join(f'{k} ({v})' for k, v in card.records.excluded.items())}"
            if card.records.excluded
            else ""
        )
        raise DatasetError(
            f"too small to train on: {sft.train + sft.val} SFT examples from {card.records.read} interactions in "
            f"{_where(source)} (at least {options.min_examples}): rate answers 4-5, write corrections or SME "
            f"reference answers{left_out}"
        )
    if options.val_fraction < 1.0 and (sft.train == 0 or sft.val == 0):
        share = smallest_share(usable)
        hint = (
            f"; the smallest group of linked records is more than {options.val_fraction:g} of {len(usable)}: "
            f"--val-fraction {share:g} holds it"
            if card.split.val_records == 0 and len(groups(usable)) > 1 and share < 1.0
            else ""
        )
        raise DatasetError(
            f"cannot split {sft.train + sft.val} SFT examples into train and val ({sft.train} and {sft.val}): "
            f"they come from {card.split.train_conversations + card.split.val_conversations} conversation(s) linked by "
            f"shared questions; collect answers from more conversations, or change --val-fraction or --seed{hint}"
        )


def _histories(
    everything: list[Interaction], usable: list[Interaction], turns: int
) -> tuple[dict[str, list[Turn]], int]:
    """The earlier turns the app passed with each later turn (the last ``turns`` of them), and how
    many later turns miss some earlier turn in the records."""
    by_session: dict[str, dict[int, Interaction]] = defaultdict(dict)
    for r in everything:
        by_session[r.session_id].setdefault(r.turn, r)
    history: dict[str, list[Turn]] = {}
    incomplete = 0
    for r in usable:
        if r.turn == 1 or not turns:
            continue
        earlier = [by_session[r.session_id][t] for t in sorted(by_session[r.session_id]) if t < r.turn]
        incomplete += len(earlier) < r.turn - 1
        history[r.id] = [Turn(question=e.question, answer=e.answer) for e in earlier[-turns:]]
    return history, incomplete


def _rated_pairs(usable: list[Interaction], options: DatasetOptions) -> list[tuple[Interaction, Interaction]]:
    """A good answer over a bad one to the same (normalised) question, at most
    ``max_pairs_per_question`` per question, in an order fixed by the seed."""
    groups: dict[str, list[Interaction]] = defaultdict(list)
    for r in usable:
        groups[labels.question_key(r.question)].append(r)
    pairs = []
    for key in sorted(groups):
        good = [r for r in groups[key] if labels.verdict(r).good is True]
        bad = [r for r in groups[key] if labels.verdict(r).good is False]
        candidates = [(g, b) for g in good for b in bad if not labels.same_text(g.answer, b.answer)]
        candidates.sort(key=lambda p: hashlib.sha256(f"{options.seed}:{p[0].id}:{p[1].id}".encode()).hexdigest())
        pairs += candidates[: options.max_pairs_per_question]
    return pairs


def sft_rows(
    everything: list[Interaction], chosen: list[Interaction], counter: TokenCounter, options: DatasetOptions
) -> list[tuple[Interaction, dict]]:
    """Each chosen record with its SFT example (prompt as at answer time, cut to fit; its target),
    for an evaluation set; ``everything`` gives the earlier turns. Records without a target or too
    long even with the passages cut are left out."""
    history, _ = _histories(everything, chosen, options.history_turns)
    prompts = _Prompts(counter, options, history)
    rows = []
    for record in chosen:
        goal = labels.target(record)
        fitted = prompts.fit(record, counter.text_tokens(goal.text)) if goal is not None else None
        if fitted is not None:
            rows.append((record, _with_prompt("sft", {"target": goal.text}, fitted[0])))
    return rows


def _with_prompt(kind: str, row: dict, messages: list[dict]) -> dict:
    if kind == "sft":
        return {"messages": messages + _assistant(row["target"])}
    if kind == "preference":
        return {"prompt": messages, "chosen": _assistant(row["chosen"]), "rejected": _assistant(row["rejected"])}
    if kind == "kto":
        return {"prompt": messages, "completion": _assistant(row["completion"]), "label": row["label"]}
    return {"prompt": messages}


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("datasets", "transformers", "trl", "tokenizers"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def write(built: Built, out: Path) -> Card:
    """Write the files and the card into ``out``, all at once: they are written beside it and
    moved into place at the end, so an interrupted run leaves the previous dataset (or nothing).

    Raises:
        DatasetError: ``out`` is a file, or a folder that holds something other than a dataset.
        OSError: it cannot be written.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "card.json").exists())):
        raise DatasetError(f"{out} exists and is not a dataset folder (no card.json): give an empty or new --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        digest = hashlib.sha256()
        card = built.card
        for kind in KINDS:
            (staging / kind).mkdir()
            card.files[kind].written = []
            for side in ("train", "val"):
                examples = built.files[kind][side]
                if not examples:
                    continue
                data = "".join(json.dumps(e.row, ensure_ascii=False) + "\n" for e in examples).encode()
                (staging / kind / f"{side}.jsonl").write_bytes(data)
                digest.update(f"{kind}/{side}.jsonl\n".encode() + data)
                card.files[kind].written.append(f"{side}.jsonl")
        card.data_hash = digest.hexdigest()
        (staging / "card.json").write_text(card.model_dump_json(indent=2) + "\n")
        (staging / "card.md").write_text(render(card))
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.rename(out, old / out.name)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return card


def build_dataset(
    records: Iterable[Interaction],
    out: Path,
    counter: TokenCounter,
    options: DatasetOptions | None = None,
    source: dict | None = None,
    holdout: Holdout | None = None,
) -> Card:
    """``build`` then ``write``: the whole of ``ragbot train dataset``. Raises DatasetError, OSError."""
    return write(build(records, counter, options or DatasetOptions(), source or {}, holdout), out)
