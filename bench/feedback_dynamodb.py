"""Write latency of the DynamoDB feedback store (against a local moto server) beside SQLite.

What an app process does when a user reads an answer and rates it: ``put`` of the interaction
(~8 KB of JSON: a 6,000-character context and five citations), then ``set_feedback`` on it.
``DynamoDBFeedbackStore`` talks HTTP to moto's standalone server on 127.0.0.1 through boto3,
exactly as it would to DynamoDB; ``SQLiteFeedbackStore`` (WAL) is measured in the same run,
interleaved with it, with 1 writer and with 8 writer threads sharing one store (Streamlit's
script threads share the store built with ``st.cache_resource``). Each measurement uses a
fresh table or file. Two more rows, 1 writer: the DynamoDB store behind ``OutboxFeedbackStore``
with the server up (what the outbox adds), and with the server gone (what a user waits for
while writes are queued locally: the first write waits for botocore's retries, then
``retry_after`` skips the store for 5 s after a failure; see the "slowest call" column).

Prints the median over --runs runs of p50/p99 latency per call and of writes/s (each ``put``
and each ``set_feedback`` counts as one write). moto is an in-memory emulator written in Python
on the same machine: its figures show the client's cost (signing, JSON, HTTP, the conditional
write protocol: ``put`` is one request for a new id, ``set_feedback`` two) plus a local server,
not DynamoDB's service latency, which adds the network round trip to the region. Asserts nothing.

    python -m bench.feedback_dynamodb
    python -m bench.feedback_dynamodb --pairs 300 --concurrent-pairs 60 --runs 3
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from feedback.errors import FeedbackError
from feedback.stores.outbox import OutboxFeedbackStore
from feedback.records import Feedback, Interaction
from feedback.stores.dynamodb import DynamoDBFeedbackStore
from feedback.stores.sqlite import SQLiteFeedbackStore

from bench import feedback_write as sqlite_bench
from bench.feedback_write import pct
from bench.servers import Moto, free_port


CONCURRENT = 8


def interaction(writer: int, i: int) -> Interaction:
    # The same record as bench/feedback_write.py, with a run prefix: moto's tables outlive a run.
    record = sqlite_bench.interaction(writer, i)
    return record.model_copy(update={"id": f"{uuid.uuid4().hex[:8]}-{record.id}"})


def drive(store, writers: int, pairs: int) -> dict:
    """``writers`` threads, each ``pairs`` times put + set_feedback; latencies in seconds."""
    puts: list[float] = []
    sets: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(writers + 1)

    def writer(index: int) -> None:
        records = [interaction(index, i) for i in range(pairs)]
        mine_puts, mine_sets, mine_errors = [], [], 0
        start.wait()
        for i, record in enumerate(records):
            t0 = time.perf_counter()
            try:
                store.put(record)
            except FeedbackError:
                mine_errors += 1
            t1 = time.perf_counter()
            try:
                store.set_feedback(record.id, Feedback(rating=1 + i % 5, note="checked against the drawings"))
            except FeedbackError:
                mine_errors += 1
            t2 = time.perf_counter()
            mine_puts.append(t1 - t0)
            mine_sets.append(t2 - t1)
        with lock:
            puts.extend(mine_puts)
            sets.extend(mine_sets)
            errors[0] += mine_errors

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {
        "put_p50": pct(puts, 50) * 1000,
        "put_p99": pct(puts, 99) * 1000,
        "set_p50": pct(sets, 50) * 1000,
        "set_p99": pct(sets, 99) * 1000,
        "max": max(puts + sets) * 1000,
        "writes_s": (len(puts) + len(sets)) / wall,
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=300, help="put + set_feedback pairs for the single writer")
    parser.add_argument("--concurrent-pairs", type=int, default=60, help="pairs for each of the 8 writer threads")
    parser.add_argument("--down-pairs", type=int, default=100, help="pairs written while the server is gone")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_PROFILE", None)
    logging.getLogger("feedback").setLevel(logging.ERROR)  # the outage row would log every write

    import boto3
    import botocore

    work = Path(tempfile.mkdtemp(prefix="ragbot-bench-dynamodb-"))
    moto = Moto(work)
    print(
        f"python {platform.python_version()}, boto3 {boto3.__version__}, botocore {botocore.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}; moto server at {moto.url}"
    )
    print(f"record ~{len(interaction(0, 0).model_dump_json()) / 1024:.1f} KB JSON")
    configs = [
        ("SQLite (WAL)", 1, args.pairs),
        ("DynamoDB (moto)", 1, args.pairs),
        ("SQLite (WAL)", CONCURRENT, args.concurrent_pairs),
        ("DynamoDB (moto)", CONCURRENT, args.concurrent_pairs),
        ("DynamoDB + outbox, server up", 1, args.pairs),
        ("DynamoDB + outbox, server gone", 1, args.down_pairs),
    ]
    samples: dict[tuple[str, int], list[dict]] = {(name, w): [] for name, w, _ in configs}
    started = time.perf_counter()
    n = 0
    try:
        warm = DynamoDBFeedbackStore("warm-up", endpoint_url=moto.url)
        warm.create_table()
        warm.put(interaction(0, 0))  # client, connections and moto's backend warm before timing
        warm.close()
        for run in range(args.runs):
            for name, writers, pairs in configs:
                n += 1
                table = f"bench-{n}"
                cleanup = None
                if name.startswith("SQLite"):
                    store = SQLiteFeedbackStore(work / f"{n}.db")
                    store.get("warm-up")
                    cleanup = store.close
                elif name == "DynamoDB + outbox, server gone":
                    # A port nothing listens on: connection refused, as when the endpoint is gone.
                    inner = DynamoDBFeedbackStore(table, endpoint_url=f"http://127.0.0.1:{free_port()}")
                    store = OutboxFeedbackStore(inner, work / f"outbox-{n}")
                else:
                    inner = DynamoDBFeedbackStore(table, endpoint_url=moto.url)
                    inner.create_table()
                    inner.get("warm-up")
                    store = inner if "outbox" not in name else OutboxFeedbackStore(inner, work / f"outbox-{n}")
                    cleanup = inner.close
                r = drive(store, writers, pairs)
                if cleanup:
                    cleanup()
                samples[(name, writers)].append(r)
                print(
                    f"  run {run + 1}: {name} x{writers}: {r['writes_s']:7.0f} writes/s, "
                    f"put p50 {r['put_p50']:.2f} ms p99 {r['put_p99']:.2f} ms, errors {r['errors']}",
                    flush=True,
                )
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)

    fields = ("put_p50", "put_p99", "set_p50", "set_p99", "max", "writes_s")
    med = {k: {f: statistics.median(r[f] for r in rs) for f in fields} for k, rs in samples.items()}
    print()
    print(
        f"## Feedback writes, DynamoDB (local moto) and SQLite, median of {args.runs} runs "
        f"({time.perf_counter() - started:.0f} s)"
    )
    print()
    print(
        "| store | writer threads | pairs per run | put p50 ms | put p99 ms | set_feedback p50 ms "
        "| set_feedback p99 ms | slowest call ms | writes/s | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, writers, pairs in configs:
        m = med[(name, writers)]
        errors = sum(r["errors"] for r in samples[(name, writers)])
        print(
            f"| {name} | {writers} | {writers * pairs:,} | {m['put_p50']:.2f} | {m['put_p99']:.2f} "
            f"| {m['set_p50']:.2f} | {m['set_p99']:.2f} | {m['max']:,.0f} | {m['writes_s']:,.0f} | {errors} |"
        )
    print()
    print(
        "| writer threads | DynamoDB / SQLite put p50 | put p99 | set_feedback p50 | set_feedback p99 "
        "| SQLite / DynamoDB writes/s |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for writers in (1, CONCURRENT):
        d, s = med[("DynamoDB (moto)", writers)], med[("SQLite (WAL)", writers)]
        print(
            f"| {writers} | {d['put_p50'] / s['put_p50']:.1f}x | {d['put_p99'] / s['put_p99']:.1f}x "
            f"| {d['set_p50'] / s['set_p50']:.1f}x | {d['set_p99'] / s['set_p99']:.1f}x "
            f"| {s['writes_s'] / d['writes_s']:.1f}x |"
        )
    up, plain = med[("DynamoDB + outbox, server up", 1)], med[("DynamoDB (moto)", 1)]
    print(
        f"\noutbox with the server up / without: put p50 {up['put_p50'] / plain['put_p50']:.2f}x, "
        f"set_feedback p50 {up['set_p50'] / plain['set_p50']:.2f}x"
    )
    print(f"errors are totals over all runs; load avg at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
