"""Show that it learns: feedback set → dataset → SFT (tiny) → DPO (tiny), measured on held-out
questions before SFT, after SFT and after DPO.

Steps, each skipped when its output is already in ``--work`` (so an interrupted loop goes on):

1. ``bench/feedback_set.py --out WORK/feedback``: a realistic feedback export from the sample
   corpus (answers by the local model, ratings from correctness, corrections from the evidence,
   held-out questions in ``heldout.jsonl``, never trained on);
2. ``ragbot train dataset --from WORK/feedback/feedback.jsonl --out WORK/data`` and the same
   for ``heldout.jsonl`` into ``WORK/heldout`` (its sft rows are the held-out questions with a
   reference: the SME's, the correction, or an answer rated ≥ 4);
3. ``ragbot train sft --profile tiny --max-steps S`` on the packaged SmolLM2-135M, then
   ``ragbot train dpo --profile tiny --policy WORK/sft --max-steps D``;
4. for the base model, the SFT adapter and the DPO adapter (each as ``RAGBOT_LOCAL_MODEL``
   loads it: ``LocalGenerator``), greedy answers to the held-out prompts (system prompt with
   the passages exactly as at answer time, question), scored as the seed scored them: mean
   MiniLM cosine similarity to the reference answer; and the share of answers that state every
   number of the reference ("numbers right", citations ``[n]`` aside).

Prints a table and writes ``WORK/learning_loop.json``; ``--record`` appends the table to
bench/RESULTS.md beside the seed's figures (similarity 0.6419 → 0.8100 after SFT).

    python -m bench.learning_loop --work bench/out/loop [--sft-steps 60] [--dpo-steps 30] [--limit 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SEED = {"before SFT": 0.6419, "after SFT": 0.8100}


def ragbot(*args: str, env: dict | None = None) -> None:
    command = [sys.executable, "-m", "app.cli", *args]
    print("$ ragbot " + " ".join(args), flush=True)
    subprocess.run(command, cwd=ROOT, check=True, env=(os.environ | (env or {})))


def heldout_rows(folder: Path, limit: int | None) -> list[dict]:
    """Held-out (prompt, reference) pairs, one per question text, from a dataset folder's sft files."""
    rows, seen = [], set()
    for split in ("train", "val"):
        path = folder / "sft" / f"{split}.jsonl"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            messages = json.loads(line)["messages"]
            question = messages[-2]["content"]
            if question not in seen:
                seen.add(question)
                rows.append({"prompt": messages[:-1], "reference": messages[-1]["content"]})
    return rows[:limit] if limit else rows


def evaluate(model: str, rows: list[dict], embedder, runtime: str, max_new_tokens: int) -> dict:
    """Answers of ``model`` to the held-out prompts, scored as ``ragbot eval`` scores them."""
    from app.config import Settings
    from training.evaluate import answer_all, numbers_right, score

    started = time.time()
    prompts = [row["prompt"] for row in rows]
    references = [row["reference"] for row in rows]
    answers = answer_all(model, prompts, Settings().models_dir, max_new_tokens, runtime)
    scores = score(model, answers, references, embedder.embed_documents)
    counted = [c for c in (numbers_right(a, r) for a, r in zip(answers, references)) if c is not None]
    return {
        "model": model,
        "similarity": scores.similarity,
        "numbers_right": sum(counted),
        "numbers_total": len(counted),
        "numbers_share": scores.numbers_right,
        "seconds": round(time.time() - started, 1),
        "answers": [
            {"question": p[-1]["content"], "reference": r, "answer": a, "similarity": s}
            for p, r, a, s in zip(prompts, references, answers, scores.similarities)
        ],
    }


def table(results: dict[str, dict], setup: str) -> str:
    lines = [
        setup,
        "",
        "| model | similarity to reference | numbers right | seed (Mistral-7B, 274 val) |",
        "|---|---:|---:|---:|",
    ]
    for stage, r in results.items():
        share = f"{r['numbers_right']}/{r['numbers_total']}" if r["numbers_total"] else "–"
        seed = f"{SEED[stage]:.4f}" if stage in SEED else "–"
        lines.append(f"| {stage} | {r['similarity']:.4f} | {share} | {seed} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "loop")
    parser.add_argument("--sft-steps", type=int, default=60)
    parser.add_argument("--dpo-steps", type=int, default=30)
    parser.add_argument("--limit", type=int, help="evaluate on at most N held-out questions")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--runtime", default="auto", choices=["auto", "onnx", "transformers"])
    parser.add_argument("--feedback-args", default="", help="extra arguments for bench/feedback_set.py")
    parser.add_argument("--base", default=None, help="the base model (default: the packaged SmolLM2-135M-Instruct)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed to train sft and dpo")
    parser.add_argument("--feedback", type=Path, help="an existing feedback_set.py output folder to use")
    parser.add_argument("--record", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    feedback = args.feedback or work / "feedback"
    if not (feedback / "feedback.jsonl").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.feedback_set",
                "--out",
                str(feedback),
                *args.feedback_args.split(),
            ],
            cwd=ROOT,
            check=True,
        )
    for name, source in (("data", "feedback.jsonl"), ("heldout", "heldout.jsonl")):
        if not (work / name / "sft" / "train.jsonl").exists():
            ragbot("train", "dataset", "--from", str(feedback / source), "--out", str(work / name))
    settings = [a for item in args.set for a in ("--set", item)]
    if not (work / "sft" / "adapter_config.json").exists():
        ragbot(
            "train", "sft", "--data", str(work / "data"), "--out", str(work / "sft"),
            "--max-steps", str(args.sft_steps), *settings, *(["--base", args.base] if args.base else []),
        )  # fmt: skip

    from rag.embedders.local import SentenceTransformerEmbedder
    from training.trainers.profiles import PACKAGED_LM

    rows = heldout_rows(work / "heldout", args.limit)
    if not rows:
        sys.exit(f"no held-out question with a reference in {work / 'heldout'}")
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    # Each stage is measured as soon as its model exists and kept in the JSON, so a loop cut
    # short still reports the stages it reached, and a rerun measures only what is missing.
    saved = work / "learning_loop.json"
    results = json.loads(saved.read_text())["results"] if saved.exists() else {}

    def measure(stage: str, model: str) -> None:
        if stage in results:
            return
        print(f"evaluating {stage}: {model}", flush=True)
        results[stage] = evaluate(model, rows, embedder, args.runtime, args.max_new_tokens)
        r = results[stage]
        print(f"  similarity {r['similarity']:.4f}, numbers right {r['numbers_right']}/{r['numbers_total']} "
              f"({r['seconds']} s)", flush=True)  # fmt: skip
        saved.write_text(json.dumps({"results": results}, indent=2) + "\n")

    measure("before SFT", args.base or PACKAGED_LM)
    measure("after SFT", str(work / "sft"))
    if not (work / "dpo" / "adapter_config.json").exists():
        ragbot(
            "train", "dpo", "--data", str(work / "data"), "--policy", str(work / "sft"), "--out", str(work / "dpo"),
            "--max-steps", str(args.dpo_steps), *settings,
        )  # fmt: skip
    measure("after DPO", str(work / "dpo"))
    train_rows = sum(1 for _ in (work / "data" / "sft" / "train.jsonl").open())
    pairs = sum(1 for _ in (work / "data" / "preference" / "train.jsonl").open())
    setup = (
        f"SmolLM2-135M-Instruct, `--profile tiny`: SFT {args.sft_steps} steps on {train_rows} rows, "
        f"DPO {args.dpo_steps} steps on {pairs} pairs; {len(rows)} held-out questions, greedy, "
        f"{args.max_new_tokens} new tokens, runtime {args.runtime}; dataset by `ragbot train dataset`."
    )
    saved.write_text(json.dumps({"setup": setup, "results": results}, indent=2) + "\n")
    text = table(results, setup)
    print(text)
    if args.record:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(f"\n## Learning loop (issue 12): before SFT, after SFT, after DPO\n\n{text}\n")


if __name__ == "__main__":
    main()
