"""``ragbot judge`` on the local model: one answer at a time against 8 decoded together.

The product's path: the local SmolLM2-135M-Instruct (``LocalGenerator``, the app's runtime)
adapted by ``app.wiring.judge_model.GeneratorJudgeModel`` and driven by ``feedback.judge.Judge.run`` over a
fresh SQLite store of ``--records`` interactions (questions and passages of the sample corpus).
Measured in the same run, interleaved, ``--runs`` times:

* one at a time (``max_concurrency=1``): how the local judge ran before, and what a loop over
  ``generate`` does;
* batched: ``Judge`` concurrency 8 with the generator behind ``rag.generators.batching.MicroBatcher``
  (what ``Backends.judge`` builds for a local model now).

Prints the median seconds, answers/s, the speed-up, and the batch sizes decoded. The judge's
replies are capped at ``--max-new-tokens`` (SmolLM2 rarely stops on its own); asserts nothing.

    python -m bench.judge_local [--records 16] [--runs 2] [--max-new-tokens 96]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from app.wiring.judge_model import LOCAL_JUDGE_BATCH, GeneratorJudgeModel
from feedback.judge import Judge
from feedback.records import CitationRecord, Feedback, Interaction
from feedback.stores.sqlite import SQLiteFeedbackStore


FACTS = [
    ("How many car parking spaces does the site provide?", "412 car parking spaces", "The site provides 412 car parking spaces and 38 trailer positions in the marshalling yard."),
    ("What load must the ground slab carry?", "50 kN/m2", "The ground slab shall be designed for a uniformly distributed load of 50 kN/m2."),
    ("How many dock doors are there?", "32 dock doors", "The warehouse has 32 dock doors with levellers on the north elevation."),
    ("How wide must a car parking bay be?", "2.5 m wide", "Car parking bays shall be a minimum of 2.5 m wide by 5.0 m long."),
]  # fmt: skip


def fill(path: Path, n: int) -> SQLiteFeedbackStore:
    store = SQLiteFeedbackStore(path)
    for i in range(n):
        question, answer, passage = FACTS[i % len(FACTS)]
        context = "\n\n".join(
            f"[{j}] (Design Criteria v20.1.1.pdf – page {j + 2})\n{f[2]}" for j, f in enumerate(FACTS, 1)
        )
        store.put(
            Interaction(
                id=f"i{i:05d}",
                session_id=f"s{i}",
                user="ana",
                role="engineer",
                turn=1,
                question=question,
                answer=f"The documents say {answer} [1]." if i % 3 else "The documents do not say.",
                citations=[
                    CitationRecord(n=1, source="Design Criteria v20.1.1.pdf", page=3, chunk_id=f"c{i}", score=0.8)
                ],
                context=context,
                model_id="SmolLM2-135M-Instruct",
                prompt_version="qa",
                feedback=Feedback(rating=1 + i % 5),
            )
        )
    return store


def one_run(generator, folder: Path, records: int, batched: bool, max_new_tokens: int) -> dict:
    store = fill(folder / f"feedback-{'batched' if batched else 'single'}-{time.monotonic_ns()}.db", records)
    concurrency = LOCAL_JUDGE_BATCH if batched else 1
    model = GeneratorJudgeModel(generator, max_new_tokens=max_new_tokens, max_concurrency=concurrency, batch=batched)
    summary = Judge(store, model, concurrency=concurrency).run()
    store.close()
    if summary.failed or summary.scored + summary.unparsable != records:
        raise SystemExit(f"the {'batched' if batched else 'single'} run did not grade everything: {summary}")
    return {
        "seconds": summary.seconds,
        "scored": summary.scored,
        "batches": list(getattr(model.generator, "batches", [])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=16)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from app.config import Settings
    from rag.generators.local import LocalGenerator

    settings = Settings()
    generator = LocalGenerator(
        settings.local_model,
        cache_dir=settings.models_dir,
        runtime=settings.local_runtime,
        precision=settings.local_precision,
    )
    generator.load()
    print(
        f"# local judge ({generator.model_id}, runtime {generator.runtime}), {args.records} records, "
        f"{args.max_new_tokens} new tokens at most, {args.runs} runs, load {os.getloadavg()[0]:.2f} at start"
    )
    results: dict[str, list[dict]] = {"one at a time": [], f"{LOCAL_JUDGE_BATCH} decoded together": []}
    with tempfile.TemporaryDirectory(prefix="ragbot-judge-local-") as tmp:
        for _ in range(args.runs):
            for name, batched in zip(results, (False, True), strict=True):
                r = one_run(generator, Path(tmp), args.records, batched, args.max_new_tokens)
                results[name].append(r)
                print(f"  {name:<20} {r['seconds']:7.1f} s  scored {r['scored']}/{args.records}", flush=True)
    print()
    print("| judge | median s | answers/s | speed-up | scored | batch sizes (last run) |")
    print("|---|---:|---:|---:|---:|---|")
    base = statistics.median(r["seconds"] for r in results["one at a time"])
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        print(
            f"| {name} | {seconds:.1f} | {args.records / seconds:.2f} | {base / seconds:.1f}x | "
            f"{runs[-1]['scored']}/{args.records} | {runs[-1]['batches'] or '–'} |"
        )
    print(f"\nload {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
