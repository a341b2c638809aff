from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import feedback.stores.sqlite.schema as sqlite_store
from feedback.errors import StoreUnavailable
from feedback.records import Feedback, JudgeScore, Review
from feedback.stores.base import InteractionFilter
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import (
    ReviewQueueContract,
    T0,
    AuditLogContract,
    FeedbackStoreContract,
    ids,
    list_all,
    make,
    spoiled,
)


def spoil_sqlite(store: SQLiteFeedbackStore, interaction_id: str, **changes) -> None:
    conn = store._connection()
    (text,) = conn.execute("SELECT record FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
    conn.execute("UPDATE interactions SET record = ? WHERE id = ?", (spoiled(text, **changes), interaction_id))


class TestSQLiteFeedbackStore(FeedbackStoreContract, AuditLogContract, ReviewQueueContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = SQLiteFeedbackStore(tmp_path / "feedback.db")
        yield s
        s.close()

    @pytest.fixture
    def spoil(self):
        return spoil_sqlite


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "feedback.db"


def raw(path: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_records_persist_across_instances(path):
    first = SQLiteFeedbackStore(path)
    first.put(make("a", sources=("Design/a.pdf",)))
    first.set_feedback("a", Feedback(rating=2, correction="Better."))
    first.close()
    second = SQLiteFeedbackStore(path)
    assert second.get("a").feedback.correction == "Better."
    assert ids(second.list(InteractionFilter(source_prefix="Design", has_correction=True))) == ["a"]
    second.close()


def test_the_folder_is_created(tmp_path):
    store = SQLiteFeedbackStore(tmp_path / "new" / "deeper" / "feedback.db")
    store.put(make("a"))
    assert (tmp_path / "new" / "deeper" / "feedback.db").is_file()
    store.close()


def test_nothing_is_opened_before_first_use(path):
    SQLiteFeedbackStore(path)
    assert not path.exists()


def test_wal_mode_is_on(path):
    store = SQLiteFeedbackStore(path)
    store.put(make("a"))
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]
    store.close()


def test_rollback_journal_when_asked(path):
    store = SQLiteFeedbackStore(path, journal_mode="delete")
    store.put(make("a"))
    assert raw(path, "PRAGMA journal_mode") == [("delete",)]
    assert store.get("a") is not None
    store.close()


def test_bad_arguments_name_themselves(path):
    with pytest.raises(ValueError, match="journal_mode='memory'"):
        SQLiteFeedbackStore(path, journal_mode="memory")
    with pytest.raises(ValueError, match="retries=-1"):
        SQLiteFeedbackStore(path, retries=-1)


def test_schema_version_is_recorded_once(path):
    store = SQLiteFeedbackStore(path)
    store.get("x")
    store.close()
    before = raw(path, "SELECT version, applied_at FROM schema_version ORDER BY version")
    assert [version for version, _ in before] == list(range(1, len(sqlite_store.MIGRATIONS) + 1))
    again = SQLiteFeedbackStore(path)
    again.put(make("a"))
    again.close()
    assert raw(path, "SELECT version, applied_at FROM schema_version ORDER BY version") == before


def test_migrations_apply_in_order_and_only_once(path, monkeypatch):
    store = SQLiteFeedbackStore(path)
    store.put(make("a"))
    store.close()
    # Re-running an ALTER TABLE ADD COLUMN would fail with "duplicate column name".
    monkeypatch.setattr(
        sqlite_store,
        "MIGRATIONS",
        [
            *sqlite_store.MIGRATIONS,
            "ALTER TABLE interactions ADD COLUMN extra TEXT; CREATE INDEX extra_ix ON interactions (extra)",
        ],
    )
    for _ in range(2):
        upgraded = SQLiteFeedbackStore(path)
        assert upgraded.get("a") is not None
        upgraded.close()
    versions = [v for (v,) in raw(path, "SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, len(sqlite_store.MIGRATIONS) + 1))  # the patched list, extra included
    assert ("extra_ix",) in raw(path, "SELECT name FROM sqlite_master WHERE type = 'index'")


def test_a_version_1_file_learns_which_records_are_judged(path):
    # A feedback.db as version 1 left it, without the judged column: the upgrade marks the
    # records that already carry a judge score, so the first judge run does not score them again.
    store = SQLiteFeedbackStore(path)
    store.put(make("scored", minutes=1, judge=JudgeScore(score=4.0, judge_model="j")))
    store.put(make("unparsable", minutes=2, judge=JudgeScore(score=None, judge_model="j", raw="??")))
    store.put(make("new", minutes=3))
    store.put(make("pair", minutes=4, user="synth", origin="synthetic"))
    store.close()
    # Undo the judged migration and those after it (judge score, origin), as if they had never run.
    judged = next(n for n, sql in enumerate(sqlite_store.MIGRATIONS, 1) if "ADD COLUMN judged" in sql)
    scored = next(n for n, sql in enumerate(sqlite_store.MIGRATIONS, 1) if "ADD COLUMN judge_score" in sql)
    origin = next(n for n, sql in enumerate(sqlite_store.MIGRATIONS, 1) if "ADD COLUMN origin" in sql)
    assert origin == scored + 1 == judged + 2 == len(sqlite_store.MIGRATIONS)
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP INDEX interactions_origin; ALTER TABLE interactions DROP COLUMN origin;"
        "DROP INDEX interactions_judge_score; DROP INDEX interactions_rating_order;"
        "ALTER TABLE interactions DROP COLUMN judge_score;"
        "DROP INDEX interactions_judged; ALTER TABLE interactions DROP COLUMN judged;"
    )
    conn.execute("DELETE FROM schema_version WHERE version >= ?", (judged,))
    conn.commit()
    conn.close()
    upgraded = SQLiteFeedbackStore(path)
    assert ids(upgraded.list(InteractionFilter(judged=False))) == ["pair", "new"]
    assert ids(upgraded.list(InteractionFilter(origin="synthetic"))) == ["pair"]  # learned from the record
    assert ids(upgraded.list(InteractionFilter(origin="user", judged=False))) == ["new"]
    assert ids(upgraded.list(InteractionFilter(judged=True))) == ["unparsable", "scored"]
    assert ids(upgraded.list(InteractionFilter(min_judge_score=3.5))) == ["scored"]
    assert ids(upgraded.list(InteractionFilter(judge_unparsable=True))) == ["unparsable"]
    upgraded.close()


def test_a_newer_schema_is_refused(path):
    SQLiteFeedbackStore(path).get("x")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99, 'future')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreUnavailable, match="schema version 99.*upgrade ragbot"):
        SQLiteFeedbackStore(path).get("x")


def test_unwritable_location_is_store_unavailable(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    store = SQLiteFeedbackStore(blocker / "feedback.db")
    with pytest.raises(StoreUnavailable, match="not-a-folder") as info:
        store.put(make("a"))
    assert info.value.__cause__ is not None


def test_a_directory_in_place_of_the_file_is_store_unavailable(path):
    path.mkdir()
    with pytest.raises(StoreUnavailable, match="feedback.db") as info:
        SQLiteFeedbackStore(path).put(make("a"))
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)


def test_a_file_that_is_not_a_database_is_store_unavailable(path):
    path.write_bytes(b"this is not a database file at all" * 100)
    with pytest.raises(StoreUnavailable, match="not a database"):
        SQLiteFeedbackStore(path).get("a")


def test_lock_held_past_every_retry_is_store_unavailable(path):
    SQLiteFeedbackStore(path).get("x")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = SQLiteFeedbackStore(path, busy_timeout_ms=10, retries=2)
        with pytest.raises(StoreUnavailable, match="locked"):
            store.put(make("a"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.put(make("a"))  # the same store works once the lock is gone
    assert store.get("a") is not None
    store.close()


def test_lock_released_during_the_retries_loses_nothing(path):
    SQLiteFeedbackStore(path).get("x")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.15, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        # The busy timeout alone (20 ms) is far shorter than the lock; the retries bridge it.
        store = SQLiteFeedbackStore(path, busy_timeout_ms=20, retries=8)
        store.put(make("a"))
        assert store.get("a") is not None
    finally:
        release.join()
        holder.close()
    store.close()


def test_naive_filter_datetimes_are_read_as_utc(path):
    store = SQLiteFeedbackStore(path)
    store.put(make("a", minutes=0))
    store.put(make("b", minutes=10))
    naive = (T0 + timedelta(minutes=5)).replace(tzinfo=None)
    assert ids(store.list(InteractionFilter(since=naive))) == ["b"]
    store.close()


def test_ids_with_the_cursor_separator_paginate(path):
    store = SQLiteFeedbackStore(path)
    for i in range(5):
        store.put(make(f"a|{i}|b"))
    first = store.list(limit=2)
    assert ids(first) == ["a|4|b", "a|3|b"]
    assert ids(store.list(limit=10, cursor=first.next_cursor)) == ["a|2|b", "a|1|b", "a|0|b"]
    store.close()


def test_listing_uses_the_indexes(path):
    store = SQLiteFeedbackStore(path)
    store.get("x")
    store.close()
    conn = sqlite3.connect(path)
    for where in ["", "WHERE user = 'ana'", "WHERE (created_us, id) < (1, 'x')"]:
        plan = " ".join(
            r[-1]
            for r in conn.execute(
                f"EXPLAIN QUERY PLAN SELECT record FROM interactions {where} ORDER BY created_us DESC, id DESC LIMIT 11"
            )
        )
        assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan
    conn.close()


def test_one_store_shared_by_threads(path):
    store = SQLiteFeedbackStore(path)

    def work(t: int) -> None:
        for i in range(25):
            store.put(make(f"t{t}-{i}", minutes=i))
            store.set_feedback(f"t{t}-{i}", Feedback(rating=1 + (t + i) % 5))
            store.list(InteractionFilter(user="ana"), limit=5)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert len(list_all(store)) == 200
    assert all(i.feedback is not None for i in store.list(limit=500).items)
    store.close()


def _forked_put(store: SQLiteFeedbackStore) -> None:
    store.put(make("from-child"))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()")
def test_a_forked_child_opens_its_own_connection(path):
    store = SQLiteFeedbackStore(path)
    store.put(make("from-parent"))
    child = multiprocessing.get_context("fork").Process(target=_forked_put, args=(store,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert sorted(list_all(store)) == ["from-child", "from-parent"]
    store.close()


# -- several processes writing at once ---------------------------------------------------------

PROCESSES = 6
WRITES = 50
SHARED = [f"shared-{k}" for k in range(10)]


def _writer(path: str, proc: int, start: multiprocessing.synchronize.Barrier) -> None:
    """One app process: its own interactions (put, rate, retried put, re-rate) and, on records
    every process touches, one kind of update (feedback, judge or review by proc % 3)."""
    store = SQLiteFeedbackStore(Path(path))
    start.wait()
    for i in range(WRITES):
        own = f"p{proc}-{i:03d}"
        record = make(
            own, user=f"user{proc}", session_id=f"s{proc}", turn=i + 1, minutes=i, sources=(f"Folder{proc}/doc.pdf",)
        )
        store.put(record)
        store.set_feedback(own, Feedback(rating=1 + i % 5, note="first"))
        store.put(record)  # a retried write of the answer, after the first rating
        store.set_feedback(own, Feedback(rating=1 + (i + proc) % 5, note=f"last {proc}-{i}"))
        shared = SHARED[i % len(SHARED)]
        if proc % 3 == 0:
            store.set_feedback(shared, Feedback(rating=1 + i % 5, note=f"{proc}-{i}"))
        elif proc % 3 == 1:
            store.set_judge(shared, JudgeScore(score=float(i % 6), judge_model=f"judge{proc}", reason=f"{proc}-{i}"))
        else:
            store.set_review(shared, Review(status="validated", reviewer=f"{proc}-{i}", reviewed_at=datetime.now()))
    store.close()


def test_concurrent_processes_lose_nothing(path):
    store = SQLiteFeedbackStore(path)
    for k, shared in enumerate(SHARED):
        store.put(make(shared, user="shared", session_id="shared", minutes=-k))
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_writer, args=(str(path), p, start)) for p in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    everything = list_all(store)
    assert len(everything) == len(set(everything)) == PROCESSES * WRITES + len(SHARED)
    assert raw(path, "SELECT COUNT(*) FROM interactions") == [(PROCESSES * WRITES + len(SHARED),)]
    for proc in range(PROCESSES):
        mine = store.list(InteractionFilter(user=f"user{proc}"), limit=WRITES + 1).items
        assert len(mine) == WRITES
        for got in mine:
            i = int(got.id.rsplit("-", 1)[1])
            assert got.feedback.note == f"last {proc}-{i}"
            assert got.feedback.rating == 1 + (i + proc) % 5
        assert ids(store.list(InteractionFilter(source_prefix=f"Folder{proc}"), limit=100)) == ids(mine)
    last_i = {k: max(i for i in range(WRITES) if i % len(SHARED) == k) for k in range(len(SHARED))}
    for k, shared in enumerate(SHARED):
        got = store.get(shared)
        # Every kind of update survived the others, and the last write of one of its writers won.
        assert got.feedback.note in {f"{p}-{last_i[k]}" for p in range(PROCESSES) if p % 3 == 0}
        assert got.judge.reason in {f"{p}-{last_i[k]}" for p in range(PROCESSES) if p % 3 == 1}
        assert got.review.reviewer in {f"{p}-{last_i[k]}" for p in range(PROCESSES) if p % 3 == 2}
    store.close()


def test_a_new_database_and_its_wal_and_shm_files_are_readable_by_the_owner_only(path):
    old = os.umask(0)  # even where every new file would be world-writable
    try:
        store = SQLiteFeedbackStore(path)
        store.put(make("a"))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}
        store.close()
    finally:
        os.umask(old)


def test_an_existing_database_keeps_the_mode_its_owner_gave_it(path):
    first = SQLiteFeedbackStore(path)
    first.put(make("a"))
    first.close()
    path.chmod(0o640)  # shared with a group on purpose
    store = SQLiteFeedbackStore(path)
    store.put(make("b"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    store.close()
