"""Retrieval quality on a question set with known evidence pages: hit@1 and hit@k.

A hit is a citation with the expected source and, for paged formats, the expected page.
Runs the CLI exactly as an evaluator would (`ragbot ingest`, then `ragbot search --queries
... --json --k K`) into a fresh RAGBOT_HOME, once per search mode.

    python -m bench.retrieval_eval [--docs samples/warehouse-standards] [--questions samples/questions.jsonl] [--k 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path


def hit_rank(expected: dict, citations: list[dict]) -> int | None:
    for rank, c in enumerate(citations, start=1):
        if c["source"] == expected["source"] and (expected.get("page") is None or c["page"] == expected["page"]):
            return rank
    return None


def score(questions: list[dict], results: list[dict], k: int) -> dict[str, dict[str, float]]:
    groups: dict[str, list[int | None]] = defaultdict(list)
    for q, r in zip(questions, results, strict=True):
        assert q["query"] == r["query"], (q["query"], r["query"])
        rank = hit_rank(q, r["citations"])
        groups["all"].append(rank)
        groups[q.get("kind", "all")].append(rank) if q.get("kind") else None
        file_rank = hit_rank({"source": q["source"]}, r["citations"])
        groups["file-only"].append(file_rank)
    return {
        name: {
            "n": len(ranks),
            "hit@1": sum(r == 1 for r in ranks) / len(ranks),
            f"hit@{k}": sum(r is not None and r <= k for r in ranks) / len(ranks),
            "mrr": sum(1 / r for r in ranks if r) / len(ranks),
        }
        for name, ranks in groups.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", default="samples/warehouse-standards")
    parser.add_argument("--questions", default="samples/questions.jsonl")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--modes", default="hybrid,vector,keyword")
    args = parser.parse_args()
    questions = [json.loads(line) for line in Path(args.questions).read_text().splitlines() if line.strip()]
    ragbot = [sys.executable, "-m", "app.cli"]
    with tempfile.TemporaryDirectory() as home:
        env = os.environ | {"RAGBOT_HOME": home, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        subprocess.run([*ragbot, "ingest", args.docs], env=env, check=True, stderr=subprocess.DEVNULL)
        print(f"{len(questions)} questions, k={args.k}, docs={args.docs}")
        print(f"{'mode':8} {'group':11} {'n':>3} {'hit@1':>6} {f'hit@{args.k}':>6} {'mrr':>6}")
        for mode in args.modes.split(","):
            out = subprocess.run(
                [*ragbot, "search", "--queries", args.questions, "--json", "--k", str(args.k), "--mode", mode],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results = [json.loads(line) for line in out.splitlines()]
            for group, m in score(questions, results, args.k).items():
                print(f"{mode:8} {group:11} {m['n']:>3} {m['hit@1']:>6.2f} {m[f'hit@{args.k}']:>6.2f} {m['mrr']:>6.2f}")


if __name__ == "__main__":
    main()
