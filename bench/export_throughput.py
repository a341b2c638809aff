"""Throughput and peak memory of the feedback export, streaming against load-everything-then-pandas.

Fills a fresh SQLite feedback store with --records interactions (default 100,000) of 3–7 KB of
JSON each: a 1,000–4,500-character context, five citations with passage text, 60% rated, some
with a correction, half scored by the judge. Then, --runs times, interleaved, for each format:

* **streaming** — ``feedback.export.export(store, path, fmt)``: pages of 500 through
  ``store.list``, written as they come (Parquet in row groups of ~8 MB);
* **all-in-memory** — the obvious alternative: ``store.list(limit=N)`` fetches every record in
  one call, then pandas writes it: ``DataFrame([csv_row(i) …]).to_csv`` (the same flattened
  columns) and ``DataFrame([i.model_dump() …]).to_parquet()`` (pyarrow infers the nested
  schema); for JSONL, the same ``model_dump_json()`` lines written from the list (pandas'
  ``to_json`` would turn the times into epoch milliseconds and lose their time zone).

Each measurement runs in a fresh Python process, so its peak RSS (``ru_maxrss``) is its own; the
figure reported is the growth of peak RSS over the process after imports and opening the store.
Prints the median records/s and peak-RSS growth, the output size, and the ratios. Asserts nothing.

    python -m bench.export_throughput                      # ~5-6 min on 2 CPU cores
    python -m bench.export_throughput --records 20000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedback.records import CitationRecord, Feedback, Interaction, JudgeScore, Review
from feedback.stores.sqlite import SQLiteFeedbackStore

ROOT = Path(__file__).resolve().parents[1]

FORMATS = ("csv", "jsonl", "parquet")
METHODS = ("streaming", "all-in-memory")
T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
WORDS = (
    "slab load kN/m2 rack upright point load clause section drawing specification fire door FD60 "
    "sprinkler dock leveller parking bay trailer position lux exterior lighting roof drain gutter "
    "downpipe insulation U-value membrane settlement pile cap column grid tolerance flatness FM2"
).split()


def text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def interaction(rng: random.Random, i: int) -> Interaction:
    citations = [
        CitationRecord(
            n=n + 1,
            source=f"Design/Criteria/section-{rng.randrange(60):02d}.pdf",
            page=rng.randrange(1, 200),
            chunk_id=f"{rng.getrandbits(64):016x}",
            score=rng.random(),
            text=text(rng, 160),
        )
        for n in range(5)
    ]
    rated = rng.random() < 0.6
    rating = rng.choice((1, 1, 2, 2, 3, 4, 4, 5, 5, 5))
    return Interaction(
        id=f"{i:08d}-{rng.getrandbits(32):08x}",
        session_id=f"session-{i // 4}",
        user=f"user{rng.randrange(40)}",
        role="engineer",
        created_at=T0 + timedelta(seconds=37 * i),
        updated_at=T0 + timedelta(seconds=37 * i + 5),
        turn=i % 4 + 1,
        question=text(rng, rng.randrange(40, 200)) + "?",
        answer=text(rng, rng.randrange(200, 900)),
        citations=citations,
        context=text(rng, rng.randrange(1000, 4500)),
        model_id="SmolLM2-135M-Instruct",
        prompt_version="v1",
        latency_ms=rng.randrange(300, 4000),
        feedback=Feedback(
            rating=rating,
            correction=text(rng, 300) if rating <= 2 and rng.random() < 0.4 else None,
            note=text(rng, 80) if rng.random() < 0.3 else None,
        )
        if rated
        else None,
        judge=JudgeScore(
            score=round(rng.uniform(0, 5), 1), reason=text(rng, 120), judge_model="judge", raw=text(rng, 300)
        )
        if i % 2
        else None,
        review=Review(status="validated", reviewer="sme") if i % 11 == 0 else Review(),
    )


def fill(path: Path, records: int) -> tuple[float, float]:
    """Returns (seconds, mean KB of JSON per record)."""
    store = SQLiteFeedbackStore(path)
    # Only to fill the file fast: no fsync per put (the store's default is FULL durability).
    store._connection().execute("PRAGMA synchronous = OFF")
    rng = random.Random(20250106)
    started = time.perf_counter()
    for i in range(records):
        store.put(interaction(rng, i))
    seconds = time.perf_counter() - started
    size = store._connection().execute("SELECT AVG(LENGTH(CAST(record AS BLOB))) FROM interactions").fetchone()[0]
    store.close()
    return seconds, size / 1024


# -- one measurement, in a child process --------------------------------------------------------------


def child(method: str, fmt: str, db: str, out: str) -> None:
    import pandas as pd  # noqa: F401  imported by both methods so the baseline is the same
    import pyarrow.parquet  # noqa: F401

    from feedback.export import export
    from feedback.formats import csv_row

    store = SQLiteFeedbackStore(Path(db))
    store.get("open")
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    if method == "streaming":
        count = export(store, Path(out), fmt)
    else:
        import csv

        total = store._connection().execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
        items = store.list(limit=total).items
        if fmt == "csv":
            frame = pd.DataFrame([csv_row(i) for i in items])
            frame.to_csv(out, index=False, quoting=csv.QUOTE_ALL, encoding="utf-8-sig")
        elif fmt == "jsonl":
            with open(out, "w", encoding="utf-8") as f:  # pandas' to_json would lose the time zones
                f.writelines(i.model_dump_json() + "\n" for i in items)
        else:
            pd.DataFrame([i.model_dump() for i in items]).to_parquet(out, compression="zstd")
        count = len(items)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {"count": count, "seconds": seconds, "growth": peak - baseline, "peak": peak, "bytes": os.path.getsize(out)}
        )
    )


def measure(method: str, fmt: str, db: Path, work: Path) -> dict:
    out = work / f"{method}.{fmt}"
    result = subprocess.run(
        [sys.executable, "-m", "bench.export_throughput", "--child", method, fmt, str(db), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"{method} {fmt} failed:\n{result.stderr}")
    out.unlink()
    return json.loads(result.stdout)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--dir", type=Path, default=None, help="where the files go (default: a temp folder)")
    args = parser.parse_args()

    import pandas as pd
    import pyarrow as pa

    work = Path(tempfile.mkdtemp(prefix="ragbot-bench-export-", dir=args.dir))
    print(
        f"python {platform.python_version()}, pyarrow {pa.__version__}, pandas {pd.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}; files in {work}"
    )
    started = time.perf_counter()
    samples: dict[tuple[str, str], list[dict]] = {(f, m): [] for f in args.formats for m in METHODS}
    try:
        db = work / "feedback.db"
        seconds, kb = fill(db, args.records)
        print(f"filled {args.records:,} records (~{kb:.1f} KB JSON each) in {seconds:.0f} s", flush=True)
        for run in range(args.runs):
            for fmt in args.formats:
                for method in METHODS if run % 2 == 0 else METHODS[::-1]:
                    r = measure(method, fmt, db, work)
                    assert r["count"] == args.records, r
                    samples[(fmt, method)].append(r)
                    print(
                        f"  run {run + 1}: {fmt:7s} {method:13s} {r['count'] / r['seconds']:8,.0f} rec/s "
                        f"peak RSS +{r['growth'] / 2**20:6.0f} MB  ({r['bytes'] / 2**20:.0f} MB file)",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(
        f"## Feedback export, {args.records:,} records, median of {args.runs} run{'s' * (args.runs > 1)} "
        f"({time.perf_counter() - started:.0f} s in all)"
    )
    print()
    print("| format | method | records/s | peak RSS growth MB | file MB |")
    print("|---|---|---:|---:|---:|")
    med = {}
    for (fmt, method), rs in samples.items():
        med[(fmt, method)] = m = {
            "rate": statistics.median(r["count"] / r["seconds"] for r in rs),
            "growth": statistics.median(r["growth"] for r in rs) / 2**20,
            "mb": statistics.median(r["bytes"] for r in rs) / 2**20,
        }
        print(f"| {fmt} | {method} | {m['rate']:,.0f} | {m['growth']:,.0f} | {m['mb']:,.0f} |")
    print()
    print("| format | streaming / all-in-memory records/s | all-in-memory / streaming peak RSS growth |")
    print("|---|---:|---:|")
    for fmt in args.formats:
        s, a = med[(fmt, "streaming")], med[(fmt, "all-in-memory")]
        print(f"| {fmt} | {s['rate'] / a['rate']:.2f}x | {a['growth'] / max(s['growth'], 1):.1f}x |")
    print(f"\nload avg at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
