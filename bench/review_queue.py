"""Review-queue page latency at scale, in SQLite and in DynamoDB (a local moto server).

What the Review page asks of the store (issue 11): a page of 50 filtered by low AI score
(``max_judge_score=2.0``), newest first and sorted by AI score (``judge_asc``), the first page
and a deep one (page ``--deep``, reached by following the cursor; only its own call is timed),
and the group counts beside the queue (``judge_band`` over everything, ``document`` over the
low-score filter). Beside each, the obvious alternative: load every record and filter, sort and
count in Python (SQLite: one ``SELECT record``; DynamoDB: a ``Scan`` of the table), which is
what a page without the indexes would do.

Records are made deterministic (seeded): scores in steps of 0.5 (25% of them ≤ 2.0), 5% of
judge replies unparsable, 15% unjudged, ratings on 70%, 200 documents in 20 folders, 90 days of
times, ~1 KB of JSON each. SQLite is loaded through ``SQLiteFeedbackStore``'s own row writer in
transactions of 5,000; DynamoDB with ``BatchWriteItem`` of exactly the items the store writes
(``schema.item``), which is what makes a 100k load into moto take minutes instead of hours.

Prints the median of ``--runs`` runs, and for DynamoDB the requests and the index entries
DynamoDB evaluated per call (``ScannedCount``, what DynamoDB bills and what its latency follows).
moto is an in-memory emulator in Python that answers a query on an index by walking every item
of the table, so its latency grows with the table where DynamoDB's does not (it follows the
entries read, 1 MB per request); the request and entry counts carry over to DynamoDB, moto's
milliseconds do not. Asserts nothing.

    python -m bench.review_queue                       # 100k records in both stores
    python -m bench.review_queue --records 10000 --runs 3
    python -m bench.review_queue --dynamodb-records 20000   # when 100k into moto is too slow
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedback.records import CitationRecord, Feedback, Interaction, JudgeScore, Review
from feedback.stores.base import InteractionFilter, judge_band
from feedback.stores.dynamodb import DynamoDBFeedbackStore
from feedback.stores.dynamodb.schema import item
from feedback.stores.sqlite import SQLiteFeedbackStore

from bench.servers import Moto


T0 = datetime(2026, 1, 1, tzinfo=UTC)
LOW = InteractionFilter(max_judge_score=2.0)
LIMIT = 50


def records(n: int, seed: int = 11) -> list[Interaction]:
    rng = random.Random(seed)
    docs = [f"Folder{f:02d}/doc{d:03d}.pdf" for f in range(20) for d in range(10)]
    out = []
    for i in range(n):
        draw = rng.random()
        judge = None
        if draw < 0.80:
            judge = JudgeScore(score=rng.randrange(11) / 2, judge_model="judge", reason="checked", raw="<scoring>")
        elif draw < 0.85:
            judge = JudgeScore(score=None, judge_model="judge", raw="no tags")
        cited = rng.sample(docs, rng.randint(1, 3))
        out.append(
            Interaction(
                id=f"q{i:07d}",
                session_id=f"s{i // 4}",
                user=f"user{rng.randrange(40)}",
                role="engineer",
                created_at=T0 + timedelta(seconds=rng.randrange(90 * 86400)),
                turn=1 + i % 4,
                question=f"What does clause {i % 997} say about the slab load of bay {i % 31}?",
                answer="The slab is designed for 50 kN/m2 [1], checked against the drawings [2]. " * 3,
                citations=[
                    CitationRecord(n=k + 1, source=doc, page=1 + k, chunk_id=f"c{i}-{k}", score=0.5, text="x" * 80)
                    for k, doc in enumerate(cited)
                ],
                model_id="model",
                prompt_version="v1",
                feedback=Feedback(rating=rng.randint(1, 5)) if rng.random() < 0.7 else None,
                judge=judge,
                review=Review(status=rng.choice(["unreviewed"] * 8 + ["validated", "rejected"])),
            )
        )
    return out


def load_sqlite(store: SQLiteFeedbackStore, rows: list[Interaction]) -> None:
    """The store's own row writer, 5,000 records per transaction (``put`` commits each one)."""
    for start in range(0, len(rows), 5000):

        def write(conn, chunk=rows[start : start + 5000]):
            for record in chunk:
                store._write_row(conn, record)
                conn.executemany(
                    "INSERT INTO interaction_sources (interaction_id, source) VALUES (?, ?)",
                    [(record.id, source) for source in record.sources],
                )

        store._run(write, write=True)


def load_dynamodb(store: DynamoDBFeedbackStore, rows: list[Interaction]) -> None:
    for start in range(0, len(rows), 25):
        request = {
            store.table_name: [
                {"PutRequest": {"Item": item(r, 1, store.write_shards)}} for r in rows[start : start + 25]
            ]
        }
        while request:
            request = store.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def deep_cursor(store, filters, order: str, page: int) -> str | None:
    cursor = None
    for _ in range(page - 1):
        cursor = store.list(filters, limit=LIMIT, cursor=cursor, order=order).next_cursor
    return cursor


# -- the alternative: every record into Python ---------------------------------------------------


def all_sqlite(store: SQLiteFeedbackStore) -> list[Interaction]:
    rows = store._run(lambda conn: conn.execute("SELECT record FROM interactions").fetchall(), write=False)
    return [Interaction.model_validate_json(row[0]) for row in rows]


def all_dynamodb(store: DynamoDBFeedbackStore) -> list[Interaction]:
    out, kwargs = (
        [],
        {"TableName": store.table_name, "ProjectionExpression": "#r", "ExpressionAttributeNames": {"#r": "record"}},
    )
    while True:
        page = store.client.scan(**kwargs)
        out += [
            Interaction.model_validate_json(entry["record"]["S"])
            for entry in page.get("Items", [])
            if "record" in entry
        ]
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def low(record: Interaction) -> bool:
    return record.judge is not None and record.judge.score is not None and record.judge.score <= 2.0


def in_python(everything: Callable[[], list[Interaction]], what: str, page: int = 1) -> object:
    rows = everything()
    newest = lambda r: (r.created_at, r.id)  # noqa: E731
    if what == "newest":
        chosen = sorted(filter(low, rows), key=newest, reverse=True)
    elif what == "judge_asc":
        # score up, then newest first: two stable sorts
        chosen = sorted(sorted(filter(low, rows), key=newest, reverse=True), key=lambda r: r.judge.score)
    elif what == "bands":
        return Counter(judge_band(r.judge) for r in rows)
    else:
        return Counter(source for r in rows if low(r) for source in r.sources)
    return chosen[(page - 1) * LIMIT : page * LIMIT]


# -- measuring -------------------------------------------------------------------------------------


class Requests:
    """DynamoDB requests and the entries they evaluated, counted from botocore's responses."""

    def __init__(self, client) -> None:
        self.calls = 0
        self.scanned = 0
        client.meta.events.register("after-call.dynamodb", self._count)

    def _count(self, parsed=None, **_):
        self.calls += 1
        self.scanned += int((parsed or {}).get("ScannedCount", 0))

    def reset(self) -> None:
        self.calls = self.scanned = 0


def timed(run: Callable[[], object], runs: int, requests: Requests | None = None) -> tuple[float, str]:
    times = []
    for _ in range(runs):
        if requests:
            requests.reset()
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    reads = f"{requests.calls} req, {requests.scanned:,} entries" if requests else ""
    return statistics.median(times) * 1000, reads


def measure(
    name: str, store, everything, runs: int, slow_runs: int, deep: int, requests: Requests | None
) -> list[tuple]:
    deep_newest = deep_cursor(store, LOW, "newest", deep)
    deep_judge = deep_cursor(store, LOW, "judge_asc", deep)
    cases = [
        ("page 1, AI score ≤ 2, newest first", lambda: store.list(LOW, limit=LIMIT), "newest", 1),
        (
            f"page {deep}, AI score ≤ 2, newest first",
            lambda: store.list(LOW, limit=LIMIT, cursor=deep_newest),
            "newest",
            deep,
        ),
        ("page 1, AI score ≤ 2, by AI score", lambda: store.list(LOW, limit=LIMIT, order="judge_asc"), "judge_asc", 1),
        (
            f"page {deep}, AI score ≤ 2, by AI score",
            lambda: store.list(LOW, limit=LIMIT, order="judge_asc", cursor=deep_judge),
            "judge_asc",
            deep,
        ),
        ("counts by AI-score band, all", lambda: store.count_groups(by="judge_band"), "bands", 1),
        ("counts by document, AI score ≤ 2", lambda: store.count_groups(LOW, by="document"), "documents", 1),
    ]
    rows = []
    for label, call, what, page in cases:
        indexed, reads = timed(call, slow_runs if label.startswith("counts") else runs, requests)
        python, _ = timed(lambda what=what, page=page: in_python(everything, what, page), slow_runs)
        assert_same(call(), in_python(everything, what, page), label)
        rows.append((name, label, indexed, reads, python))
        print(f"  {name:18} {label:38} {indexed:9.1f} ms {reads:>28}   load all + Python {python:9.1f} ms", flush=True)
    return rows


def assert_same(indexed, python, label: str) -> None:
    """The two ways give the same answer, or the comparison is meaningless."""
    if isinstance(python, Counter):
        same = dict(indexed) == dict(python)
    else:
        same = [i.id for i in indexed.items] == [r.id for r in python]
    if not same:
        raise SystemExit(f"the store and the Python filter disagree on {label!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--dynamodb-records", type=int, default=None, help="records in moto (default: --records)")
    parser.add_argument("--runs", type=int, default=5, help="runs per page (median)")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of counts and of the load-everything way")
    parser.add_argument("--deep", type=int, default=20, help="the deep page's number")
    parser.add_argument("--skip", choices=["sqlite", "dynamodb"], default=None)
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_PROFILE", None)
    logging.getLogger("feedback").setLevel(logging.ERROR)

    import boto3

    print(
        f"python {platform.python_version()}, boto3 {boto3.__version__}, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    rows = records(max(args.records, args.dynamodb_records or 0))
    print(
        f"{args.records:,} records, ~{sum(len(r.model_dump_json()) for r in rows[:1000]) / 1000 / 1024:.1f} KB JSON each"
    )
    work = Path(tempfile.mkdtemp(prefix="ragbot-bench-review-"))
    if args.skip != "sqlite":
        sqlite = SQLiteFeedbackStore(work / "feedback.db")
        t0 = time.perf_counter()
        load_sqlite(sqlite, rows[: args.records])
        print(f"SQLite loaded in {time.perf_counter() - t0:.0f} s")
        measure("SQLite", sqlite, lambda: all_sqlite(sqlite), args.runs, args.slow_runs, args.deep, None)
        sqlite.close()
    if args.skip != "dynamodb":
        n = args.dynamodb_records or args.records
        moto = Moto(work)
        try:
            store = DynamoDBFeedbackStore("review-queue", endpoint_url=moto.url, read_timeout=600, max_attempts=1)
            store.create_table()
            t0 = time.perf_counter()
            load_dynamodb(store, rows[:n])
            print(f"DynamoDB (moto) loaded {n:,} records in {time.perf_counter() - t0:.0f} s")
            requests = Requests(store.client)
            label = f"DynamoDB {n // 1000}k"
            measure(label, store, lambda: all_dynamodb(store), args.runs, args.slow_runs, args.deep, requests)
        finally:
            try:
                moto.stop()
            except subprocess.TimeoutExpired:  # moto can take long to let go of 100 MB of items
                moto.process.kill()
                moto.process.wait(10)


if __name__ == "__main__":
    main()
