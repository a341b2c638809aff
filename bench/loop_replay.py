"""One full ``ragbot loop run`` on the CPU on the replay benchmark's data (issue 30): step by step
with times, and the gate's verdict with its intervals.

The three replay corpora (manuals, LaTeX News, SEC filings: ``bench/corpora``) are indexed into
``--home`` once (kept for the next run; embeddings cached in ``bench/corpora/cache``). Every
original question of ``bench/questions/replay.jsonl`` is searched through the app's pipeline and
recorded as an interaction with the passages found (the model is not asked: a CPU writes about an
answer a minute, and the SFT targets are the references), and an SME validates its hand-written
reference answer on the Review service. The feedback store starts empty each run, and so do the
loop's runs, evaluation sets and registry.

Then ``LoopService.run``, as ``ragbot loop run`` calls it: the judge (the reference-similarity
judge: no judge model here), the frozen evaluation set (``RAGBOT_EVAL_SHARE`` of the validated
references, by conversation), the dataset without it, SFT with the tiny profile from the packaged
SmolLM2-135M, both models answering the evaluation set, the gate, the registered candidate.

    nice -n 10 python -m bench.loop_replay --home /tmp/replay-home [--method sft] [--max-steps N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from bench.realdocs import CACHE, CORPORA, CachedEmbedder

CORPUS_NAMES = ("manuals", "latex-news", "filings")
REPLAY = Path(__file__).parent / "questions" / "replay.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True, help="RAGBOT_HOME (the corpora are indexed there once)")
    parser.add_argument("--method", default="sft", choices=("sft", "sft+dpo", "sft+reward+rl"))
    parser.add_argument("--max-steps", type=int, help="steps per trainer (default: the tiny profile's)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--runtime", default="auto", choices=("auto", "onnx", "transformers"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument(
        "--resume", action="store_true", help="keep --home's feedback and runs: an interrupted run is picked up"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        for state in ("feedback.db", "loop", "evalsets", "outbox"):  # what a run leaves: start clean
            path = home / state
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        for candidate in (home / "models").glob("2*-*-*"):
            shutil.rmtree(candidate)
        (home / "models" / "promoted.json").unlink(missing_ok=True)
    os.environ["RAGBOT_HOME"] = str(home)
    os.environ.pop("RAGBOT_LOCAL_MODEL", None)

    from app.config import Settings
    from app.services import Backends, Identity, Services

    backends = Backends(Settings())
    backends.embedder = CachedEmbedder(backends.embedder, CACHE / "embeddings-all-MiniLM-L6-v2.sqlite")
    admin, sme, eng = (
        Services(backends=backends, identity=Identity(user=user, role=role))
        for role, user in (("admin", "bench"), ("sme", "sam"), ("engineer", "eve"))
    )
    started = time.perf_counter()
    if admin.corpus.status().documents == 0:
        report = admin.corpus.ingest([CORPORA / c for c in CORPUS_NAMES])
        print(f"indexed {len(report.indexed)} documents in {time.perf_counter() - started:.0f} s")

    rows = [json.loads(line) for line in REPLAY.read_text().splitlines() if line.strip()]
    started = time.perf_counter()
    for r in [] if args.resume else rows:
        events = backends.pipeline.stream(r["question"])
        citations = next(e.citations for e in events if e.kind == "citations")
        events.close()  # searched only
        recorded = eng.chat.record_answer(_unwritten(r["question"], citations), session_id=f"replay-{r['id']}", turn=1)
        sme.review.review(recorded.id, opened=None, status="validated", reference_answer=r["reference"])
    if not args.resume:
        print(f"seeded {len(rows)} questions, searched and validated, in {time.perf_counter() - started:.0f} s")

    from training.loop_state import LoopOptions

    options = LoopOptions(
        method=args.method,
        max_steps=args.max_steps,
        max_new_tokens=args.max_new_tokens,
        runtime=args.runtime,
    )
    started = time.perf_counter()
    state = admin.loop.run(
        options, progress=lambda line: print(f"  {time.perf_counter() - started:7.1f} s  {line}", flush=True)
    )
    total = time.perf_counter() - started
    again = f", resumed {state.resumed} time(s)" if state.resumed else ""
    print(
        f"\nloop run {state.id}: {state.status} in {total:.0f} s{again} ({args.threads} torch threads, {args.runtime})"
    )
    print("| step | seconds | what it did |\n|---|---:|---|")
    for step in state.steps:
        print(f"| {step.name} | {step.seconds:.1f} | {json.dumps(step.detail)} |")
    if state.gate is not None:
        gate = state.gate
        print(f"\ngate: {gate.verdict}: {gate.reason} ({gate.level:.2%} intervals, candidate - served)")
        print(
            "| metric | questions | candidate | served | difference | interval | outcome |\n|---|---:|---:|---:|---:|---|---|"
        )
        for m in gate.metrics:
            if m.difference is None:
                print(f"| {m.metric} | {m.questions} | – | – | – | – | {m.outcome} |")
            else:
                print(
                    f"| {m.metric} | {m.questions} | {m.candidate:.4f} | {m.served:.4f} | {m.difference:+.4f} "
                    f"| [{m.low:+.4f}, {m.high:+.4f}] | {m.outcome} |"
                )
    print(state.message)


def _unwritten(question: str, citations):
    from rag.prompts import PROMPT_VERSION
    from rag.records import Answer

    return Answer(
        question=question,
        answer="(searched only: the replay does not have the model answer the originals)",
        found=True,
        citations=citations,
        model_id="SmolLM2-135M-Instruct",
        prompt_version=PROMPT_VERSION,
        latency_ms=0,
    )


if __name__ == "__main__":
    main()
