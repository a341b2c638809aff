"""Write latency and throughput of the SQLite feedback store, WAL against the rollback journal.

What an app process does when a user reads an answer and rates it: ``put`` of the interaction
(~8 KB of JSON: a 6,000-character context and five citations), then ``set_feedback`` on it.
Measured with 1 writer and with 8 writers at once, each a separate process with its own
``SQLiteFeedbackStore`` on the same file, as Streamlit workers, the CLI and a judge run would be.

The obvious alternative, measured in the same run and interleaved with it: the same store with
``journal_mode="delete"``, SQLite's default rollback journal. Each measurement uses a fresh file.
Prints the median over --runs runs of p50/p99 latency per call and of writes/s (each ``put`` and
each ``set_feedback`` counts as one write), the lock retries the store logged and the errors it
raised. Asserts nothing.

    python -m bench.feedback_write
    python -m bench.feedback_write --pairs 500 --concurrent-pairs 250 --runs 3 --dir /data
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from feedback.errors import FeedbackError
from feedback.records import CitationRecord, Feedback, Interaction
from feedback.stores.sqlite import SQLiteFeedbackStore


MODES = ("wal", "delete")
CONCURRENT = 8
CONTEXT = (
    "[1] Design/Criteria/structure.pdf p.12\nThe floor slab shall be designed for a uniformly "
    "distributed load of 50 kN/m2 and a point load of 70 kN from rack uprights. "
) * 40


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def interaction(writer: int, i: int) -> Interaction:
    return Interaction(
        id=f"w{writer}-{i:05d}",
        session_id=f"session-{writer}-{i // 5}",
        user=f"user{writer}",
        role="engineer",
        turn=i % 5 + 1,
        question="What distributed load must the warehouse floor slab carry, and where is it specified?",
        answer="The slab must carry 50 kN/m2 uniformly distributed and 70 kN point loads [1][2]. " * 8,
        citations=[
            CitationRecord(n=n + 1, source=f"Design/Criteria/doc{n}.pdf", page=n + 3, chunk_id=f"c{n}", score=0.8)
            for n in range(5)
        ],
        context=CONTEXT[:6000],
        model_id="SmolLM2-135M-Instruct",
        prompt_version="v1",
        latency_ms=850,
    )


def writer(path: str, mode: str, index: int, pairs: int, start_at: float) -> dict:
    """One app process: ``pairs`` times put + set_feedback, starting at ``start_at``."""
    counter = _Counter()
    logging.getLogger("feedback.stores.sqlite").addHandler(counter)
    store = SQLiteFeedbackStore(Path(path), journal_mode=mode)
    store.get("warm-up")  # opens the connection outside the timed part
    records = [interaction(index, i) for i in range(pairs)]
    puts, sets, errors = [], [], 0
    time.sleep(max(0.0, start_at - time.time()))
    for i, record in enumerate(records):
        t0 = time.perf_counter()
        try:
            store.put(record)
        except FeedbackError:
            errors += 1
        t1 = time.perf_counter()
        try:
            store.set_feedback(record.id, Feedback(rating=1 + i % 5, note="checked against the drawings"))
        except FeedbackError:
            errors += 1
        t2 = time.perf_counter()
        puts.append(t1 - t0)
        sets.append(t2 - t1)
    end = time.time()
    store.close()
    logging.getLogger("feedback.stores.sqlite").removeHandler(counter)
    return {"puts": puts, "sets": sets, "end": end, "retries": counter.count, "errors": errors}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def measure(pool, work: Path, mode: str, writers: int, pairs: int, run: int) -> dict:
    path = work / f"{mode}-{writers}-{run}.db"
    SQLiteFeedbackStore(path, journal_mode=mode).close()
    SQLiteFeedbackStore(path, journal_mode=mode).get("create")  # schema in place before the clock starts
    start_at = time.time() + 1.0  # every worker has opened its store by then
    results = pool.starmap(writer, [(str(path), mode, w, pairs, start_at) for w in range(writers)], chunksize=1)
    puts = [x for r in results for x in r["puts"]]
    sets = [x for r in results for x in r["sets"]]
    wall = max(r["end"] for r in results) - start_at
    conn = sqlite3.connect(path)
    stored = conn.execute("SELECT COUNT(*), COUNT(rating) FROM interactions").fetchone()
    conn.close()
    return {
        "put_p50": pct(puts, 50) * 1000,
        "put_p99": pct(puts, 99) * 1000,
        "set_p50": pct(sets, 50) * 1000,
        "set_p99": pct(sets, 99) * 1000,
        "writes_s": (len(puts) + len(sets)) / wall,
        "retries": sum(r["retries"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "stored": stored,
        "expected": writers * pairs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1000, help="put + set_feedback pairs for the single writer")
    parser.add_argument("--concurrent-pairs", type=int, default=250, help="pairs for each of the 8 concurrent writers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where the database files go (default: a temp folder)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ragbot-bench-feedback-", dir=args.dir))
    print(
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
        f"{platform.platform()}; files in {work}"
    )
    print(f"record ~{len(interaction(0, 0).model_dump_json()) / 1024:.1f} KB JSON; synchronous=FULL; busy_timeout 5 s")
    configs = [(mode, 1, args.pairs) for mode in MODES] + [(mode, CONCURRENT, args.concurrent_pairs) for mode in MODES]
    samples: dict[tuple[str, int], list[dict]] = {(m, w): [] for m, w, _ in configs}
    started = time.perf_counter()
    try:
        with multiprocessing.get_context("spawn").Pool(CONCURRENT) as pool:
            pool.starmap(writer, [(str(work / "warm.db"), "wal", w, 5, time.time()) for w in range(CONCURRENT)])
            for run in range(args.runs):
                for mode, writers, pairs in configs:
                    r = measure(pool, work, mode, writers, pairs, run)
                    samples[(mode, writers)].append(r)
                    print(
                        f"  run {run + 1}: {mode:6s} x{writers}: {r['writes_s']:7.0f} writes/s, "
                        f"put p99 {r['put_p99']:.2f} ms, retries {r['retries']}, errors {r['errors']}, "
                        f"stored {r['stored'][0]}/{r['expected']} rated {r['stored'][1]}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {
        k: {f: statistics.median(r[f] for r in rs) for f in ("put_p50", "put_p99", "set_p50", "set_p99", "writes_s")}
        for k, rs in samples.items()
    }
    print()
    print(f"## SQLiteFeedbackStore writes, median of {args.runs} runs ({time.perf_counter() - started:.0f} s)")
    print()
    print(
        "| journal | writers (processes) | writes per run | put p50 ms | put p99 ms | set_feedback p50 ms "
        "| set_feedback p99 ms | writes/s | lock retries | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode, writers, pairs in configs:
        m, rs = med[(mode, writers)], samples[(mode, writers)]
        print(
            f"| {'WAL' if mode == 'wal' else 'DELETE (rollback)'} | {writers} | {2 * writers * pairs:,} "
            f"| {m['put_p50']:.2f} | {m['put_p99']:.2f} | {m['set_p50']:.2f} | {m['set_p99']:.2f} "
            f"| {m['writes_s']:,.0f} | {sum(r['retries'] for r in rs)} | {sum(r['errors'] for r in rs)} |"
        )
    print()
    print("| writers | WAL / DELETE writes/s | DELETE / WAL put p99 | DELETE / WAL set_feedback p99 |")
    print("|---:|---:|---:|---:|")
    for writers in (1, CONCURRENT):
        wal, delete = med[("wal", writers)], med[("delete", writers)]
        print(
            f"| {writers} | {wal['writes_s'] / delete['writes_s']:.2f}x | {delete['put_p99'] / wal['put_p99']:.2f}x "
            f"| {delete['set_p99'] / wal['set_p99']:.2f}x |"
        )
    print(f"\nlock retries and errors are totals over all runs; load avg at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
