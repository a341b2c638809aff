"""What issue 14 measured: the app's own services answering the sample corpus, after warm-up.

For each of the issue's two questions, ``--runs`` times: ``Services.chat.ask_stream`` (the call
the chat page makes: retrieval, passages trimmed, the local model streaming), timed from the
call to the sources (the ``citations`` event), to the first token of the answer and to the
whole answer, plus the answer's tokens per second after its first token. The sample corpus is
ingested into a fresh ``RAGBOT_HOME`` (or ``--home``); one question is asked first to load the
models. Prints medians; asserts nothing.

    python -m bench.answer_latency [--runs 3] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = ["How many cars can we park on site?", "What is the minimum clear height under sprinklers?"]


def one(services, question: str, count) -> dict[str, float]:
    started = time.perf_counter()
    marks: dict[str, float] = {}
    pieces = 0
    for event in services.chat.ask_stream(question):
        now = time.perf_counter() - started
        if event.kind == "citations":
            marks["sources ready"] = now
        elif event.kind == "token" and event.token.strip():
            pieces += 1
            marks.setdefault("first token", now)
        elif event.kind == "answer":
            marks["answer done"] = now
            tokens = count(event.answer.answer)
            if "first token" in marks and marks["answer done"] > marks["first token"]:
                marks["tokens/s after the first"] = (tokens - 1) / (marks["answer done"] - marks["first token"])
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--home", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragbot-answer-latency-") as tmp:
        home = args.home or Path(tmp)
        os.environ["RAGBOT_HOME"] = str(home)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        subprocess.run(
            [sys.executable, "-m", "app.cli", "ingest", str(ROOT / "samples" / "warehouse-standards"), "--if-empty"],
            check=True,
            capture_output=True,
        )
        from transformers import AutoTokenizer

        from app.services import Services
        from rag.generators.local import resolve_model

        services = Services()
        settings = services.settings
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(settings.local_model, settings.models_dir))

        def count(text: str) -> int:
            return len(tokenizer.encode(text, add_special_tokens=False))

        one(services, "Where is the site?", count)  # loads the embedder, the index and the model
        print(f"# answer latency through the app's services (load {os.getloadavg()[0]:.2f} at start)")
        generator = services.backends.generator
        print(
            f"model {generator.model_id}, runtime {generator.runtime}, precision {getattr(generator.load(), 'precision', 'fp32')}"
        )
        rows: dict[str, list[dict]] = {q: [] for q in QUESTIONS}
        for _ in range(args.runs):
            for q in QUESTIONS:
                rows[q].append(one(services, q, count))
        print()
        print("| question | sources ready s | first token s | answer done s | tokens/s after the first |")
        print("|---|---:|---:|---:|---:|")
        for q, marks in rows.items():
            cells = [
                statistics.median(m[key] for m in marks if key in m)
                for key in ("sources ready", "first token", "answer done", "tokens/s after the first")
            ]
            print(f"| {q} | {cells[0]:.2f} | {cells[1]:.2f} | {cells[2]:.2f} | {cells[3]:.1f} |")
        print(f"\nmedians of {args.runs} runs; load {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
