"""Ingest rate with a remote embedding endpoint: serial batches against concurrent ones.

Starts a local HTTP server on 127.0.0.1 that speaks the SageMaker Runtime invocation protocol
(``POST /endpoints/<name>/invocations`` with ``{"inputs": [...]}``), answers each request
after a fixed latency plus a per-text cost (defaults: 150 ms + 2 ms per text, a TEI endpoint
on a small GPU seen from another region), and returns deterministic unit vectors, so only the
client's waiting is measured. The real ``SageMakerEmbedder`` (boto3) embeds ``--texts`` texts
in batches of 32: alone (one batch at a time, as it does by itself), then wrapped in
``ConcurrentEmbedder`` with 2, 4 and 8 batches in flight, interleaved for ``--runs`` runs. A
second pass makes every 5th request answer 429 ThrottlingException once, to show the retries.
The server admits at most ``--capacity`` requests at once (the endpoint's instances), beyond
which requests queue, so the gain stops where the endpoint's rate is reached.

    python -m bench.embed_concurrency [--texts 1024] [--latency 0.15] [--per-text 0.002] [--capacity 8]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


DIM = 384


def vector(text: str) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).normal(size=DIM)
    return (v / np.linalg.norm(v)).tolist()


def serve(latency: float, per_text: float, capacity: int, throttle_every: list[int]):
    slots = threading.Semaphore(capacity)
    counter = {"n": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                counter["n"] += 1
                n = counter["n"]
            if throttle_every[0] and n % throttle_every[0] == 0:
                data = json.dumps({"message": "Rate exceeded"}).encode()
                self.send_response(400)
                self.send_header("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/")
            else:
                with slots:  # the endpoint's instances: beyond them, requests wait
                    time.sleep(latency + per_text * len(body["inputs"]))
                data = json.dumps([vector(t) for t in body["inputs"]]).encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=1024)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--per-text", type=float, default=0.002)
    parser.add_argument("--capacity", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ.setdefault(key, value)
    from rag.embedders.concurrent import ConcurrentEmbedder
    from rag.embedders.sagemaker import SageMakerEmbedder

    throttle = [0]
    server, counter = serve(args.latency, args.per_text, args.capacity, throttle)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    texts = [f"chunk {i} of a long engineering manual " * 20 for i in range(args.texts)]
    expected = np.asarray([vector(t) for t in texts[:3]], dtype=np.float32)

    def embedder(concurrency: int | None, max_attempts: int = 1):
        inner = SageMakerEmbedder(
            "bench-ep", model_id="bench", dimension=DIM, endpoint_url=url, batch_size=32, max_attempts=max_attempts
        )
        return (
            inner
            if concurrency is None
            else ConcurrentEmbedder(inner, batch_size=32, concurrency=concurrency, backoff=0.05)
        )

    print(f"# remote embedding concurrency  (load avg {os.getloadavg()[0]:.2f})")
    print(
        f"{args.texts} texts, batches of 32; server: {args.latency * 1000:.0f} ms + {args.per_text * 1000:.1f} ms/text, {args.capacity} requests at once"
    )
    configs = {"serial (SageMakerEmbedder alone)": None, "concurrent x2": 2, "concurrent x4": 4, "concurrent x8": 8}
    made = {name: embedder(c) for name, c in configs.items()}
    times: dict[str, list[float]] = {name: [] for name in configs}
    for run in range(args.runs):
        for name, e in made.items():
            started = time.perf_counter()
            out = e.embed_documents(texts)
            times[name].append(time.perf_counter() - started)
            assert np.allclose(out[:3], expected, atol=1e-5), name
    print("\n| client | median s | texts/s | speed-up |\n|---|---:|---:|---:|")
    base = statistics.median(times["serial (SageMakerEmbedder alone)"])
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {m:.2f} | {args.texts / m:.0f} | {base / m:.1f}x |")

    throttle[0] = 5
    e = embedder(4)
    started = time.perf_counter()
    out = e.embed_documents(texts)
    elapsed = time.perf_counter() - started
    assert np.allclose(out[:3], expected, atol=1e-5)
    print(
        f"\nwith every 5th request throttled once (429): concurrent x4 {elapsed:.2f} s, {args.texts / elapsed:.0f} texts/s, {e.retried} batches retried, all rows correct"
    )
    server.shutdown()
    print(f"requests served: {counter['n']}; load avg {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
