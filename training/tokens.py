"""Token counts with the base model's own tokenizer and chat template, and passages cut to fit.

A training example longer than the trainer's ``max_length`` is cut from the end by the trainer,
which removes the assistant's answer: the one part it learns from. The dataset builder therefore
makes every example fit ``max_tokens`` before writing it, by shortening the passages in the
system message (never the question, the earlier turns or the answer), and the card says how
many examples were cut and by how much.

The passages are shortened evenly ("water filling"): every passage keeps its number and label,
and the longest ones are cut to a common length, so an answer that cites ``[4]`` still finds a
passage 4 and the top-ranked passages are not sacrificed to the later ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Protocol

from training.errors import DatasetError

CUT_MARK = " […]"
_PASSAGE_START = re.compile(r"\n\n(?=\[\d+\] \()")


class TokenCounter(Protocol):
    """Counts tokens as the model will see them."""

    name: str

    def prompt_tokens(self, messages: list[dict]) -> int:
        """Tokens of ``messages`` under the chat template, with the assistant's turn opened."""
        ...

    def text_tokens(self, text: str) -> int:
        """Tokens of a bare text (an answer), plus the end-of-turn marker."""
        ...

    def head(self, text: str, tokens: int) -> str:
        """The longest start of ``text`` that is at most ``tokens`` tokens."""
        ...


class ChatTokenizer:
    """A ``TokenCounter`` over a Hugging Face tokenizer with a chat template."""

    def __init__(self, tokenizer, name: str):
        self.tokenizer = tokenizer
        self.name = name

    def prompt_tokens(self, messages: list[dict]) -> int:
        encoded = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        ids = encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded
        return len(ids)

    def text_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False)) + 2  # end of turn and newline

    def head(self, text: str, tokens: int) -> str:
        if tokens <= 0:
            return ""
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        if len(offsets) <= tokens:
            return text
        return text[: offsets[tokens - 1][1]]


def load_tokenizer(model: str, cache_dir: Path) -> ChatTokenizer:
    """The tokenizer of ``model``: a packaged name (``rag.generators.local``), a model folder, or a
    PEFT adapter folder (its own tokenizer, else its base model's).

    Raises:
        DatasetError: the model is not here, or has no tokenizer.
    """
    from transformers import AutoTokenizer

    from rag.errors import GeneratorError
    from rag.generators.local import PACKAGED_GGUF, resolve_model

    path = Path(model).expanduser()
    try:
        if model not in PACKAGED_GGUF and (path / "tokenizer_config.json").exists():
            folder = path
        elif model not in PACKAGED_GGUF and (path / "adapter_config.json").exists():
            base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path") or ""
            return load_tokenizer(base, cache_dir)
        else:
            folder = resolve_model(model, cache_dir)
        return ChatTokenizer(AutoTokenizer.from_pretrained(folder), model)
    except (GeneratorError, OSError, ValueError) as e:
        raise DatasetError(f"the base model '{model}' cannot give its tokenizer: {e}") from e


def split_passages(context: str) -> list[str]:
    """The passages of a context written by ``rag.prompts.format_passages``, each with its
    ``[n] (label)`` header line."""
    return _PASSAGE_START.split(context) if context else []


def cut_passages(context: str, counter: TokenCounter, remove: int) -> str | None:
    """``context`` with at least ``remove`` tokens fewer, cut evenly from the longest passages'
    ends (each cut marked ``[…]``); None when the passages are too short to give that much."""
    passages = split_passages(context)
    heads, bodies = [], []
    for p in passages:
        head, _, body = p.partition("\n")
        heads.append(head)
        bodies.append(body)
    lengths = [counter.text_tokens(b) for b in bodies]
    marker = counter.text_tokens(CUT_MARK)
    # Cutting can shift token boundaries by a token or two; ask for a little more each round.
    extra = 0
    for _ in range(6):
        budget = sum(lengths) - remove - extra
        if budget < len(bodies) * (marker + 4):
            return None
        cap = _water_level(lengths, budget, marker)
        new_bodies = [
            b if n <= cap else counter.head(b, cap - marker).rstrip() + CUT_MARK
            for b, n in zip(bodies, lengths, strict=True)
        ]
        saved = sum(lengths) - sum(counter.text_tokens(b) for b in new_bodies)
        if saved >= remove:
            return "\n\n".join(f"{h}\n{b}" for h, b in zip(heads, new_bodies, strict=True))
        extra += remove - saved + 2
    return None


def _water_level(lengths: list[int], budget: int, marker: int) -> int:
    """The largest cap with sum(min(n, cap)) <= budget (cut passages also pay for the marker)."""
    low, high = 0, max(lengths)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(n if n <= mid else mid for n in lengths) <= budget:
            low = mid
        else:
            high = mid - 1
    return max(low, marker + 1)
