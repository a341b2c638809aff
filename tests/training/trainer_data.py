"""A small dataset folder of the shape ``ragbot train dataset`` writes (issue #12), built here so
the trainers' tests do not depend on the dataset builder."""

from __future__ import annotations

import json
from pathlib import Path

FACTS = [
    ("car parking spaces", "412"),
    ("trailer positions", "38"),
    ("loading docks", "24"),
    ("electric vehicle chargers", "16"),
    ("cycle stands", "120"),
    ("accessible parking bays", "21"),
]


def prompt(thing: str, count: str) -> list[dict]:
    return [
        {"role": "system", "content": f"Answer using only these passages.\n\n[1] The site provides {count} {thing}."},
        {"role": "user", "content": f"How many {thing} are there?"},
    ]


def right(thing: str, count: str) -> dict:
    return {"role": "assistant", "content": f"There are {count} {thing} [1]."}


def wrong(thing: str) -> dict:
    return {"role": "assistant", "content": f"The passages do not say how many {thing} there are."}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def build_dataset(root: Path) -> Path:
    splits = {"train": FACTS[:4], "val": FACTS[4:5]}
    for split, facts in splits.items():
        write_jsonl(root / "sft" / f"{split}.jsonl", [{"messages": [*prompt(t, c), right(t, c)]} for t, c in facts])
        write_jsonl(
            root / "preference" / f"{split}.jsonl",
            [{"prompt": prompt(t, c), "chosen": [right(t, c)], "rejected": [wrong(t)]} for t, c in facts],
        )
        kto = [{"prompt": prompt(t, c), "completion": [right(t, c)], "label": True} for t, c in facts]
        kto += [{"prompt": prompt(t, c), "completion": [wrong(t)], "label": False} for t, c in facts]
        write_jsonl(root / "kto" / f"{split}.jsonl", kto)
        write_jsonl(root / "prompts" / f"{split}.jsonl", [{"prompt": prompt(t, c)} for t, c in facts])
    return root
