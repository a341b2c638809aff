"""The reward model: a sequence classifier with one output, trained with TRL's ``RewardTrainer``
on ``DIR/preference`` (the seed's ``[instruction, chosen_response, rejected_response]``).

The classifier has no chat template, so each (prompt, answer) is written as one text pair by
``encode``: the question and the passages the model saw, then the answer; when too long the
passages lose their end, never the answer. ``RewardScorer`` (used by ``train rl``) scores with
the very same ``encode``, so the reward model sees text formatted exactly as in its training.
The dataset reaches TRL already tokenized (``chosen_ids``/``rejected_ids``), which TRL accepts
as is. Pairwise accuracy on val (chosen scored above rejected) is TRL's ``eval_accuracy``,
written to ``OUT/metrics.json`` as ``pairwise_accuracy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from training.trainers.data import load_split, split_path
from training.trainers.models import sequence_classifier
from training.trainers.profiles import ProfileName, profile
from training.trainers.runs import Run

FORMAT = "question + passages | answer (text pair, longest first truncated)"


def _content(message) -> str:
    return message["content"] if isinstance(message, dict) else str(message)


def reward_text(prompt: Sequence[dict]) -> str:
    """The first text of the pair: the last question, then the system prompt (passages)."""
    question = next(_content(m) for m in reversed(prompt) if m["role"] == "user")
    context = "\n".join(_content(m) for m in prompt if m["role"] == "system")
    return f"{question}\n\n{context}".strip()


def encode(tokenizer, prompt: Sequence[dict], answer: str, max_length: int) -> list[int]:
    """Token ids of (prompt, answer) for the reward model; the same in training and in RL."""
    return tokenizer(reward_text(prompt), answer, truncation="longest_first", max_length=max_length)["input_ids"]


def train_reward(
    data: Path,
    out: Path,
    base: str | None = None,
    profile_name: ProfileName = "tiny",
    max_steps: int | None = None,
    overrides: dict | None = None,
    resume: bool = False,
) -> dict:
    """Train the reward model ``out`` on ``data/preference``; returns metrics with pairwise accuracy."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    settings = profile("reward", profile_name, max_steps, overrides)
    base = base or settings.base
    max_length = settings.args["max_length"]
    train = load_split(data, "preference", "train", settings.min_train)
    val = load_split(data, "preference", "val", settings.min_val)
    run = Run(
        out,
        "reward",
        settings,
        [split_path(data, "preference", s) for s in ("train", "val")],
        {"data": str(data), "base": base, "format": FORMAT},
        resume,
    )
    folder = sequence_classifier(base)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id

    def tokenize(row: dict) -> dict:
        return {
            "chosen_ids": encode(tokenizer, row["prompt"], _content(row["chosen"][-1]), max_length),
            "rejected_ids": encode(tokenizer, row["prompt"], _content(row["rejected"][-1]), max_length),
        }

    columns = ["prompt", "chosen", "rejected"]
    trainer = RewardTrainer(
        model=model,
        args=run.trl_args(RewardConfig),
        train_dataset=train.map(tokenize, remove_columns=columns),
        eval_dataset=val.map(tokenize, remove_columns=columns) if len(val) else None,
        processing_class=tokenizer,
        callbacks=run.callbacks(),
    )
    return run.train(trainer, aliases={"eval_accuracy": "pairwise_accuracy"})


class RewardScorer:
    """The reward model as a GRPO reward function: ``(prompts, completions) -> scores``.

    Args:
        folder: a model trained by ``train_reward``.
        max_length: the length it was trained with (read from its run.json when None).
    """

    def __init__(self, folder: Path, max_length: int | None = None, batch_size: int = 8):
        import json

        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.__name__ = "reward_model"  # TRL names the logged reward after the function
        record = Path(folder) / "run.json"
        if max_length is None and record.exists():
            max_length = json.loads(record.read_text())["trl_args"].get("max_length")
        self.max_length = max_length or 512
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
        self.batch_size = batch_size
        self._torch = torch

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(prompts), self.batch_size):
            ids = [
                {"input_ids": encode(self.tokenizer, p, _content(c[-1]) if isinstance(c, list) else c, self.max_length)}
                for p, c in zip(prompts[start : start + self.batch_size], completions[start : start + self.batch_size])
            ]
            batch = self.tokenizer.pad(ids, return_tensors="pt")
            with self._torch.no_grad():
                logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            scores += logits.squeeze(-1).tolist()
        return scores
