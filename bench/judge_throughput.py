"""Throughput of ``ragbot judge`` against an OpenAI-compatible server, 1 request in flight against 8.

The judge model is served by a local HTTP server (a separate process) that answers the
chat-completions API like vLLM, after a realistic delay: log-normal around ``--latency`` seconds
(the time a large judge takes to write a few hundred tokens of thinking, score and reason), made
longer by ``--slowdown`` for every other request in flight (a batching server slows down a little
under load). One reply in ``--malformed`` has no tags, so the parser's path for those runs too.

The client is the product's own path: ``OpenAICompatGenerator`` adapted by
``app.wiring.judge_model.GeneratorJudgeModel``, driven by ``feedback.judge.Judge.run`` over a fresh SQLite
store of ``--records`` interactions (each with a 6,000-character context), storing each verdict
as it arrives. Concurrency 1 (the obvious alternative: one request at a time) and 8 are measured
in the same run, interleaved, ``--runs`` times; prints the median seconds, answers/s, the speed-up,
the server's mean generation time per answer (which grows with the requests in flight), and the
client's efficiency: the server's total generation time over the concurrency, against the wall
time (100% would mean the client adds nothing to the model's own time). Asserts nothing.

    python -m bench.judge_throughput
    python -m bench.judge_throughput --records 80 --latency 2.0 --concurrency 1 4 8 16
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from app.wiring.judge_model import GeneratorJudgeModel
from feedback.judge import Judge
from feedback.records import CitationRecord, Feedback, Interaction
from feedback.stores.sqlite import SQLiteFeedbackStore
from rag.generators.openai_compat import OpenAICompatGenerator


CONTEXT = (
    "[1] Design/Criteria/structure.pdf p.12\nThe floor slab shall be designed for a uniformly "
    "distributed load of 50 kN/m2 and a point load of 70 kN from rack uprights. "
) * 40
REPLY = (
    "<thinking>The question asks for the slab load. Passage [1] gives 50 kN/m2 uniformly distributed and "
    "70 kN point loads from rack uprights. The answer states 50 kN/m2 and cites [1], but omits the point "
    "load, which matters for rack design. No reference answer is given, so I judge against the passages."
    "</thinking>\n<scoring>4.0</scoring>\n<reason>Correct and cited, but it leaves out the 70 kN point load "
    "from the rack uprights.</reason>"
)
MALFORMED = "I would rate this answer as fairly good, about four out of five, since it cites the passage."


def serve(port_out: multiprocessing.Queue, latency: float, slowdown: float, malformed: float) -> None:
    """The judge server: a vLLM-like chat-completions endpoint with a simulated generation time."""
    inflight = 0
    served = {"requests": 0, "delay": 0.0}
    lock = threading.Lock()
    rng = random.Random(7)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm the body then waits for
        # the client's delayed ACK (~40 ms a reply). Real servers (uvicorn, vLLM) set TCP_NODELAY.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):  # /stats: requests served and seconds of simulated generation since the last call
            with lock:
                body = json.dumps(served).encode()
                served.update(requests=0, delay=0.0)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            nonlocal inflight
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                inflight += 1
                others = inflight - 1
                delay = latency * math.exp(rng.gauss(0, 0.25)) * (1 + slowdown * others)
                text = MALFORMED if rng.random() < malformed else REPLY
                served["requests"] += 1
                served["delay"] += delay
            time.sleep(delay)
            with lock:
                inflight -= 1
            body = json.dumps(
                {
                    "id": "c",
                    "object": "chat.completion",
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


def fill(path: Path, n: int) -> SQLiteFeedbackStore:
    store = SQLiteFeedbackStore(path)
    for i in range(n):
        store.put(
            Interaction(
                id=f"i{i:05d}",
                session_id=f"s{i // 5}",
                user="ana",
                role="engineer",
                turn=1,
                question=f"What load must the slab carry in bay {i}?",
                answer="The slab is designed for 50 kN/m2 [1].",
                citations=[
                    CitationRecord(n=1, source="Design/Criteria/structure.pdf", page=12, chunk_id=f"c{i}", score=0.8)
                ],
                context=CONTEXT,
                model_id="SmolLM2-135M-Instruct",
                prompt_version="qa",
                feedback=Feedback(rating=1 + i % 5) if i % 2 else None,
            )
        )
    return store


def server_stats(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=10) as response:
        return json.loads(response.read())


def one_run(url: str, folder: Path, records: int, concurrency: int) -> dict:
    store = fill(folder / f"feedback-{concurrency}.db", records)
    server_stats(url)  # reset
    generator = OpenAICompatGenerator(url, "judge-70b", timeout=60)
    model = GeneratorJudgeModel(generator, max_new_tokens=1024, max_concurrency=64)
    summary = Judge(store, model, concurrency=concurrency).run()
    generator.close()
    store.close()
    if summary.failed or summary.scored + summary.unparsable != records:
        raise SystemExit(f"run at concurrency {concurrency} did not score everything: {summary}")
    served = server_stats(url)
    if served["requests"] != records:
        raise SystemExit(f"the server saw {served['requests']} requests for {records} records")
    return {"seconds": summary.seconds, "unparsable": summary.unparsable, "server": served["delay"]}


def breakdown(url: str, folder: Path, records: int) -> dict[str, float]:
    """Median milliseconds per answer of each client-side step, one answer at a time."""
    store = fill(folder / "breakdown.db", records)
    generator = OpenAICompatGenerator(url, "judge-70b", timeout=60)
    judge = Judge(store, GeneratorJudgeModel(generator, max_new_tokens=1024, max_concurrency=1), concurrency=1)
    judge.grade(store.get("i00000"))  # the HTTP client's first connection
    steps: dict[str, list[float]] = {"store read": [], "request, minus the server's generation": [], "store write": []}
    for interaction_id in judge.select()[:records]:
        server_stats(url)
        t0 = time.perf_counter()
        record = store.get(interaction_id)
        t1 = time.perf_counter()
        verdict = judge.grade(record)
        t2 = time.perf_counter()
        store.set_judge(interaction_id, verdict)
        t3 = time.perf_counter()
        steps["store read"].append(t1 - t0)
        steps["request, minus the server's generation"].append(t2 - t1 - server_stats(url)["delay"])
        steps["store write"].append(t3 - t2)
    generator.close()
    store.close()
    return {step: statistics.median(values) * 1000 for step, values in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=40)
    parser.add_argument("--latency", type=float, default=1.0, help="median seconds per judge reply")
    parser.add_argument("--slowdown", type=float, default=0.05, help="extra latency per other request in flight")
    parser.add_argument("--malformed", type=float, default=0.1, help="share of replies without tags")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=serve, args=(ports, args.latency, args.slowdown, args.malformed), daemon=True
    )
    server.start()
    folder = Path(tempfile.mkdtemp(prefix="ragbot-judge-bench-"))
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=30)}/v1"
        print(
            f"{args.records} records, reply latency ~{args.latency:g} s (+{args.slowdown:.0%} per other request in "
            f"flight), {args.malformed:.0%} malformed; {args.runs} runs; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}"
        )
        results: dict[int, list[dict]] = {c: [] for c in args.concurrency}
        for run in range(args.runs):
            for c in args.concurrency:
                with tempfile.TemporaryDirectory(dir=folder) as d:
                    r = one_run(url, Path(d), args.records, c)
                results[c].append(r)
                print(
                    f"  run {run + 1}, concurrency {c}: {r['seconds']:.2f} s, server generating {r['server']:.1f} s "
                    f"in all ({r['unparsable']} unparsable)",
                    flush=True,
                )
        base = statistics.median(r["seconds"] for r in results[args.concurrency[0]])
        print(
            "\n| concurrency | median s | answers/s | speed-up | mean server s per answer | "
            "client efficiency (server time / concurrency / wall) |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        for c, runs in results.items():
            median = statistics.median(r["seconds"] for r in runs)
            per_answer = statistics.median(r["server"] for r in runs) / args.records
            efficiency = statistics.median(r["server"] / c / r["seconds"] for r in runs)
            print(
                f"| {c} | {median:.2f} | {args.records / median:.2f} | {base / median:.2f}x | {per_answer:.2f} | "
                f"{efficiency:.0%} |"
            )
        print("\nClient-side cost per answer, one at a time (median ms):")
        for step, ms in breakdown(url, folder, min(10, args.records)).items():
            print(f"  {step}: {ms:.1f}")
    finally:
        server.terminate()
        server.join(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
