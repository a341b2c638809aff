"""The outbox: writes the store cannot take are kept on disk and replayed in order.

The main tests kill a real DynamoDB-compatible server (moto's, over HTTP) in the middle of a run
of writes; the unit tests wrap the SQLite store in a switch that fails on demand, for ordering,
rejection, crash recovery and several processes sharing one outbox.
"""

from __future__ import annotations

import json
import multiprocessing
import stat
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from feedback.errors import FeedbackError, NotFound, StoreUnavailable, WriteQueued
from feedback.records import Feedback, JudgeScore, Review
from feedback.stores.base import InteractionFilter
from feedback.stores.dynamodb import DynamoDBFeedbackStore
from feedback.stores.outbox import OutboxFeedbackStore
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import ReviewQueueContract, AuditLogContract, FeedbackStoreContract, ids, list_all, make
from tests.feedback.servers import MotoServer


class Switch:
    """A store in front of another that fails with StoreUnavailable while ``down``, or when ``fail(n)``
    is true for its n-th call; it logs the calls that got through."""

    def __init__(self, inner, fail=None) -> None:
        self.inner = inner
        self.down = False
        self.fail = fail
        self.n = 0
        self.calls: list[tuple[str, str]] = []

    def _gate(self, op: str, key: str) -> None:
        self.n += 1
        if self.down or (self.fail is not None and self.fail(self.n)):
            raise StoreUnavailable(f"switched off ({op} {key})")
        self.calls.append((op, key))

    def put(self, interaction):
        self._gate("put", interaction.id)
        return self.inner.put(interaction)

    def get(self, interaction_id):
        self._gate("get", interaction_id)
        return self.inner.get(interaction_id)

    def set_feedback(self, interaction_id, feedback):
        self._gate("set_feedback", f"{interaction_id}:{feedback.rating}")
        return self.inner.set_feedback(interaction_id, feedback)

    def set_judge(self, interaction_id, judge):
        self._gate("set_judge", interaction_id)
        return self.inner.set_judge(interaction_id, judge)

    def set_review(self, interaction_id, review, **condition):
        self._gate("set_review", interaction_id)
        return self.inner.set_review(interaction_id, review, **condition)

    def list(self, filters=None, *, limit=50, cursor=None, order="newest"):
        self._gate("list", "")
        return self.inner.list(filters, limit=limit, cursor=cursor, order=order)

    def count_groups(self, filters=None, *, by):
        self._gate("count_groups", "")
        return self.inner.count_groups(filters, by=by)

    def sessions(self, user, *, limit=20):
        self._gate("sessions", user)
        return self.inner.sessions(user, limit=limit)

    def close(self):
        close = getattr(self.inner, "close", None)
        if close:
            close()


@pytest.fixture
def sqlite(tmp_path):
    s = SQLiteFeedbackStore(tmp_path / "feedback.db")
    yield s
    s.close()


@pytest.fixture
def switch(sqlite):
    return Switch(sqlite)


@pytest.fixture
def outbox(switch, tmp_path):
    return OutboxFeedbackStore(switch, tmp_path / "outbox", retry_after=0)


def outbox_lines(store: OutboxFeedbackStore) -> list[dict]:
    path = store.outbox.path
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


class TestOutboxOverSQLite(FeedbackStoreContract, AuditLogContract, ReviewQueueContract):
    """With the store up, the outbox is invisible: the whole contract holds through it."""

    @pytest.fixture
    def store(self, tmp_path):
        inner = SQLiteFeedbackStore(tmp_path / "feedback.db")
        yield OutboxFeedbackStore(inner, tmp_path / "outbox")
        inner.close()

    @pytest.fixture
    def spoil(self):
        from tests.feedback.test_sqlite import spoil_sqlite

        return lambda store, interaction_id, **changes: spoil_sqlite(store.inner, interaction_id, **changes)


# -- with the SQLite store behind a switch -----------------------------------------------------


def test_writes_go_straight_through_while_the_store_is_up(outbox, switch):
    outbox.put(make("a"))
    assert outbox.last_write_queued is False
    updated = outbox.set_feedback("a", Feedback(rating=4))
    assert updated.feedback.rating == 4 and outbox.last_write_queued is False
    assert outbox.pending() == 0 and outbox_lines(outbox) == []
    assert switch.calls == [("put", "a"), ("set_feedback", "a:4")]


def test_queued_writes_are_replayed_in_order_before_the_next_write(outbox, switch, sqlite):
    switch.down = True
    outbox.put(make("a"))
    assert outbox.last_write_queued is True
    first = outbox.set_feedback("a", Feedback(rating=1, note="wrong"))
    assert first.feedback.rating == 1 and first.question == make("a").question  # built from the queued put
    assert outbox.set_feedback("a", Feedback(rating=5)).feedback.rating == 5
    judged = outbox.set_judge("a", JudgeScore(score=4.5, judge_model="j"))
    assert judged.feedback.rating == 5 and judged.judge.score == 4.5
    assert outbox.pending() == 4 and sqlite.get("a") is None
    assert [e["op"] for e in outbox_lines(outbox)] == ["put", "set_feedback", "set_feedback", "set_judge"]

    switch.down = False
    outbox.put(make("b", minutes=1))
    assert outbox.last_write_queued is False and outbox.pending() == 0
    assert switch.calls == [
        ("put", "a"),
        ("set_feedback", "a:1"),
        ("set_feedback", "a:5"),
        ("set_judge", "a"),
        ("put", "b"),
    ]
    got = sqlite.get("a")
    assert got.feedback.rating == 5 and got.judge.score == 4.5
    assert ids(sqlite.list()) == ["b", "a"]


def test_a_write_after_the_store_is_back_never_overtakes_the_queue(outbox, switch, sqlite):
    outbox.put(make("a"))
    switch.down = True
    outbox.set_feedback("a", Feedback(rating=2))
    switch.down = False
    outbox.set_feedback("a", Feedback(rating=4))  # replays the 2 first, then writes the 4
    assert sqlite.get("a").feedback.rating == 4
    assert switch.calls[-2:] == [("set_feedback", "a:2"), ("set_feedback", "a:4")]


def test_flush_reports_replayed_and_remaining(outbox, switch, sqlite):
    switch.down = True
    for i in range(5):
        outbox.put(make(f"i{i}", minutes=i))
    assert outbox.flush() == (0, 5)
    switch.down = False
    base = switch.n
    switch.fail = lambda n: n == base + 4  # the 4th call from now fails
    assert outbox.flush() == (3, 2)
    assert [e["id"] for e in outbox_lines(outbox)] == ["i3", "i4"]
    switch.fail = None
    assert outbox.flush() == (2, 0)
    assert outbox.flush() == (0, 0)
    assert ids(sqlite.list()) == ["i4", "i3", "i2", "i1", "i0"]


def test_a_rating_during_an_outage_is_answered_from_the_local_copy(outbox, switch, sqlite, tmp_path):
    outbox.put(make("a", sources=("Design/a.pdf",)))
    switch.down = True
    updated = outbox.set_feedback("a", Feedback(rating=2, note="wrong page"))
    assert outbox.last_write_queued and updated.feedback.note == "wrong page"
    assert updated.citations[0].source == "Design/a.pdf"
    # Another process that never saw the record cannot build it, but still keeps the change.
    other = OutboxFeedbackStore(switch, tmp_path / "outbox", retry_after=0)
    with pytest.raises(WriteQueued, match="saved locally") as info:
        other.set_review("a", Review(status="validated", reviewer="sme"))
    assert isinstance(info.value, StoreUnavailable) and other.last_write_queued
    switch.down = False
    assert other.flush() == (2, 0)
    got = sqlite.get("a")
    assert got.feedback.note == "wrong page" and got.review.reviewer == "sme"


def test_get_shows_writes_that_still_wait(outbox, switch):
    outbox.put(make("a"))
    switch.down = True
    outbox.set_feedback("a", Feedback(rating=3))
    outbox.put(make("b"))
    with pytest.raises(StoreUnavailable):
        outbox.get("a")
    with pytest.raises(StoreUnavailable):
        outbox.list()
    switch.down = False  # back, but nothing has written since
    assert outbox.get("a").feedback.rating == 3
    assert outbox.get("b").question == make("b").question
    assert outbox.get("c") is None
    assert outbox.pending() == 2
    assert ids(outbox.list()) == ["a"]  # listings show the store only


def test_get_local_answers_during_an_outage(outbox, switch, tmp_path):
    outbox.put(make("a", user="ana"))
    switch.down = True
    outbox.put(make("b", user="bo"))
    outbox.set_feedback("a", Feedback(rating=2))
    assert outbox.get_local("a").user == "ana" and outbox.get_local("a").feedback.rating == 2
    assert outbox.get_local("b").user == "bo"
    assert outbox.get_local("c") is None
    assert OutboxFeedbackStore(switch, tmp_path / "outbox").get_local("a") is None  # another process: no copy
    assert switch.calls == [("put", "a")], "get_local never contacted the store"


def test_an_entry_the_store_refuses_is_set_aside_and_the_rest_goes_on(outbox, switch, sqlite):
    switch.down = True
    with pytest.raises(WriteQueued):
        outbox.set_feedback("ghost", Feedback(rating=1))
    outbox.put(make("a"))
    switch.down = False
    assert outbox.flush() == (1, 0)
    assert sqlite.get("a") is not None
    (rejected,) = [json.loads(line) for line in outbox.rejected_path.read_text().splitlines()]
    assert rejected["entry"]["id"] == "ghost" and rejected["reason"].startswith("NotFound")
    # Direct writes still report NotFound to the caller.
    with pytest.raises(NotFound):
        outbox.set_feedback("ghost", Feedback(rating=1))


def test_a_line_torn_by_a_crash_is_set_aside(outbox, switch, sqlite):
    switch.down = True
    outbox.put(make("a"))
    with open(outbox.outbox.path, "ab") as f:
        f.write(b'{"op": "put", "id": "half-writ')  # the process died in the middle of an append
    outbox.set_feedback("a", Feedback(rating=4))  # must not be glued onto the torn line
    assert outbox.pending() == 2
    switch.down = False
    assert outbox.flush() == (2, 0)
    assert sqlite.get("a").feedback.rating == 4
    (rejected,) = [json.loads(line) for line in outbox.rejected_path.read_text().splitlines()]
    assert rejected["line"].startswith('{"op": "put", "id": "half')


def test_a_crash_in_the_middle_of_a_replay_replays_again_safely(outbox, switch, sqlite, monkeypatch):
    outbox.put(make("a"))
    outbox.set_feedback("a", Feedback(rating=2))
    switch.down = True
    outbox.put(make("a"))  # a retried put of the answer, queued after the rating
    outbox.set_judge("a", JudgeScore(score=1.0, judge_model="j"))
    outbox.put(make("b"))
    switch.down = False
    # Every entry reaches the store, then the process dies before it can shorten the outbox.
    monkeypatch.setattr(outbox.outbox, "rewrite", lambda entries: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        outbox.flush()
    monkeypatch.undo()
    assert outbox.pending() == 3
    assert outbox.flush() == (3, 0)  # the same entries again
    got = sqlite.get("a")
    assert got.feedback.rating == 2 and got.judge.score == 1.0
    assert ids(sqlite.list()) == ["b", "a"] or ids(sqlite.list()) == ["a", "b"]
    assert len(list_all(sqlite)) == 2


def test_retry_after_spares_the_store_during_an_outage(switch, sqlite, tmp_path):
    store = OutboxFeedbackStore(switch, tmp_path / "outbox", retry_after=60)
    switch.down = True
    store.put(make("a"))
    tries = switch.n
    for i in range(5):
        store.put(make(f"b{i}"))
    assert switch.n == tries, "no call reached the store while it was known to be down"
    switch.down = False
    store.put(make("c"))
    assert store.last_write_queued and store.pending() == 7
    assert store.flush() == (7, 0)  # flush always tries
    store.put(make("d"))
    assert not store.last_write_queued and store.pending() == 0


def test_last_write_queued_is_per_thread(outbox, switch):
    switch.down = True
    outbox.put(make("a"))
    seen = []
    thread = threading.Thread(target=lambda: seen.append(outbox.last_write_queued))
    thread.start()
    thread.join()
    assert outbox.last_write_queued is True and seen == [False]


def test_the_outbox_file_is_written_durably(outbox, switch, monkeypatch):
    import feedback.stores.outbox.file as module

    synced = []
    real_fsync = module.os.fsync
    monkeypatch.setattr(module.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    switch.down = True
    outbox.put(make("a"))
    assert synced, "the entry was fsynced before put returned"
    assert outbox_lines(outbox)[0]["data"]["id"] == "a"


def test_a_partial_replay_rewrites_the_outbox_atomically_and_privately(outbox, switch, sqlite, tmp_path):
    switch.down = True
    for name in "abc":
        outbox.put(make(name))
    switch.down = False
    switch.fail = lambda n: n > 1  # the store takes one entry, then goes away again
    switch.n = 0
    assert outbox.flush() == (1, 2)
    assert [entry["id"] for entry in outbox_lines(outbox)] == ["b", "c"]
    assert stat.S_IMODE(outbox.outbox.path.stat().st_mode) == 0o600  # it holds users' questions
    assert sorted(p.name for p in outbox.outbox.directory.iterdir()) == ["outbox.jsonl", "outbox.lock"]


def test_init_table_is_the_inner_stores_and_a_store_without_a_table_says_so(outbox, tmp_path):
    with pytest.raises(FeedbackError, match="has no table to create"):
        outbox.init_table()

    class Tabled(Switch):
        def init_table(self):
            return "created table 't'"

    assert OutboxFeedbackStore(Tabled(None), tmp_path / "other").init_table() == "created table 't'"


def test_a_rating_of_an_answer_replayed_by_another_process_meanwhile_is_not_refused(switch, sqlite, tmp_path):
    """The probe's lost rating: the answer's put waited in the outbox; while this process asked
    the store for it (not there yet), another process replayed the outbox and emptied it."""
    mine = OutboxFeedbackStore(switch, tmp_path / "outbox", retry_after=0)
    other = OutboxFeedbackStore(sqlite, tmp_path / "outbox", retry_after=0)
    switch.down = True
    mine.put(make("a"))
    switch.down = False
    real_get = switch.get

    def get_then_replay_elsewhere(interaction_id):
        answer = real_get(interaction_id)  # None: the put still waits
        assert other.flush() == (1, 0)
        return answer

    switch.get = get_then_replay_elsewhere
    seen = mine.get("a")
    assert seen is not None and seen.question == make("a").question
    switch.get = real_get
    assert mine.set_feedback("a", Feedback(rating=2)).feedback.rating == 2
    assert sqlite.get("a").feedback.rating == 2


class _Refusing:
    """A store that refuses (FeedbackError) the puts of the ids in ``refuse``, as a server
    answering an unknown error during its restart would."""

    def __init__(self, inner, refuse):
        self.inner, self.refuse = inner, set(refuse)

    def put(self, interaction):
        if interaction.id in self.refuse and not self.inner.down:
            self.refuse.discard(interaction.id)
            raise FeedbackError(f"refused put of {interaction.id}")
        return self.inner.put(interaction)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_rating_of_an_answer_whose_queued_put_was_set_aside_is_stored(switch, sqlite, tmp_path):
    refusing = _Refusing(switch, refuse={"a"})
    store = OutboxFeedbackStore(refusing, tmp_path / "outbox", retry_after=0)
    switch.down = True
    store.put(make("a", user="ana"))
    switch.down = False
    assert store.flush() == (0, 0)  # the put was refused and set aside
    assert sqlite.get("a") is None and store.rejected_path.exists()
    seen = store.get("a")  # what the chat checks before a rating: still the user's answer
    assert seen is not None and seen.user == "ana"
    rated = store.set_feedback("a", Feedback(rating=5, note="fine"))
    assert rated.feedback.note == "fine" and not store.last_write_queued
    got = sqlite.get("a")
    assert got.feedback.rating == 5 and got.question == make("a").question


def test_a_queued_rating_of_an_answer_the_store_lost_is_replayed_with_the_answer(switch, sqlite, tmp_path):
    """A server that acknowledged the answer and then lost it (killed before its write was
    durable): the rating queued meanwhile is replayed with the answer, not set aside."""
    store = OutboxFeedbackStore(switch, tmp_path / "outbox", retry_after=0)
    store.put(make("a", sources=("Design/a.pdf",)))
    conn = sqlite._connection()
    conn.execute("DELETE FROM interaction_sources WHERE interaction_id = 'a'")
    conn.execute("DELETE FROM interactions WHERE id = 'a'")
    switch.down = True
    assert store.set_feedback("a", Feedback(rating=1, note="wrong page")).feedback.note == "wrong page"
    switch.down = False
    assert store.flush() == (1, 0)
    assert not store.rejected_path.exists()
    got = sqlite.get("a")
    assert got.feedback.note == "wrong page" and got.citations[0].source == "Design/a.pdf"


# -- several processes share one outbox --------------------------------------------------------

PROCESSES = 4
WRITES = 15


class _Down:
    """A store that is never reachable (picklable for spawned processes)."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise StoreUnavailable("down")

        return fail


def _queue_writer(outbox_dir: str, proc: int, start) -> None:
    store = OutboxFeedbackStore(_Down(), Path(outbox_dir), retry_after=0)
    start.wait()
    for i in range(WRITES):
        own = f"p{proc}-{i:02d}"
        store.put(make(own, user=f"user{proc}", minutes=i))
        for rating in (1, 3, 1 + (i + proc) % 5):
            store.set_feedback(own, Feedback(rating=rating, note=f"{proc}-{i}-{rating}"))
    assert store.pending() >= WRITES * 4


def _flaky_writer(db: str, outbox_dir: str, proc: int, start) -> None:
    # Every process sees the store fail on its own rhythm, in the middle of replays too.
    inner = Switch(SQLiteFeedbackStore(Path(db)), fail=lambda n: (n + proc) % 7 in (0, 1))
    store = OutboxFeedbackStore(inner, Path(outbox_dir), retry_after=0)
    start.wait()
    for i in range(WRITES):
        own = f"p{proc}-{i:02d}"
        record = make(own, user=f"user{proc}", minutes=i)
        store.put(record)
        store.set_feedback(own, Feedback(rating=1, note="first"))
        store.put(record)  # a retried write of the answer after the rating
        store.set_feedback(own, Feedback(rating=1 + (i + proc) % 5, note=f"last {proc}-{i}"))
    inner.close()


def _run(target, args_for) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=target, args=(*args_for(p), start)) for p in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * PROCESSES


def test_processes_append_to_one_outbox_without_losing_or_mixing_entries(tmp_path, sqlite):
    _run(_queue_writer, lambda p: (str(tmp_path / "outbox"), p))
    store = OutboxFeedbackStore(sqlite, tmp_path / "outbox")
    entries = outbox_lines(store)  # every line parses: no two appends interleaved
    assert len(entries) == PROCESSES * WRITES * 4
    for proc in range(PROCESSES):
        mine = [(e["op"], e["id"]) for e in entries if e["id"].startswith(f"p{proc}-")]
        expected = [(op, f"p{proc}-{i:02d}") for i in range(WRITES) for op in ("put", *["set_feedback"] * 3)]
        assert mine == expected, "each process's writes are in the order it made them"
    assert store.flush() == (PROCESSES * WRITES * 4, 0)
    assert len(list_all(sqlite)) == PROCESSES * WRITES
    for proc in range(PROCESSES):
        for i in range(WRITES):
            assert sqlite.get(f"p{proc}-{i:02d}").feedback.rating == 1 + (i + proc) % 5


def test_processes_writing_through_a_flaky_store_lose_nothing(tmp_path, sqlite):
    db = tmp_path / "feedback.db"
    _run(_flaky_writer, lambda p: (str(db), str(tmp_path / "outbox"), p))
    store = OutboxFeedbackStore(sqlite, tmp_path / "outbox")
    store.flush()
    assert store.pending() == 0
    assert not store.rejected_path.exists()
    everything = list_all(sqlite)
    assert len(everything) == len(set(everything)) == PROCESSES * WRITES
    for proc in range(PROCESSES):
        mine = sqlite.list(InteractionFilter(user=f"user{proc}"), limit=100).items
        assert len(mine) == WRITES
        for got in mine:
            i = int(got.id.rsplit("-", 1)[1])
            assert got.feedback.note == f"last {proc}-{i}"
            assert got.feedback.rating == 1 + (i + proc) % 5


# -- DynamoDB going away in the middle of a run ------------------------------------------------


@pytest.fixture
def crashable_server(tmp_path, aws_env):
    """A moto server of its own (the test kills it) that records every request it serves."""
    server = MotoServer(tmp_path, recording=tmp_path / "moto-recording.jsonl")
    server.start()
    yield server
    server.stop()


def expected_note(i: int, total: int) -> tuple[int, str]:
    """The last rating record i gets in the run below."""
    return (5 - i % 5, f"last {i}") if i + 3 < total else (1 + i % 5, f"first {i}")


@pytest.mark.integration
def test_dynamodb_killed_mid_run_loses_no_feedback(crashable_server, tmp_path):
    """60 answers, each rated when shown and re-rated three answers later. The server is killed
    (SIGKILL) after the 20th answer and started again before the 41st.

    moto keeps its tables in memory, so a killed server forgets everything, where DynamoDB
    would not. The server records every request it serves; after the restart the recording is
    replayed, which rebuilds exactly the state the dead server had acknowledged (and what it
    received but died before answering, as DynamoDB might have applied too). So the answers
    written before the outage are checked as well as those queued during it and those written
    after it, each exactly once with its last rating.
    """
    server = crashable_server
    # One attempt: the outage is the test's subject, not botocore's backoff.
    inner = DynamoDBFeedbackStore("feedback", endpoint_url=server.url, max_attempts=1, connect_timeout=1)
    inner.create_table()
    store = OutboxFeedbackStore(inner, tmp_path / "outbox", retry_after=0)
    total = 60
    queued_during_outage = []
    direct_after_restart = []
    for i in range(total):
        if i == 20:
            server.stop(kill=True)
        if i == 40:
            assert store.pending() == 60  # 20 answers, 20 ratings, 20 re-ratings
            server.start()
            server.replay_recording()
        record = make(f"i{i:02d}", minutes=i, user=f"user{i % 3}", sources=(f"Folder{i % 4}/doc.pdf",))
        store.put(record)
        first = store.set_feedback(record.id, Feedback(rating=1 + i % 5, note=f"first {i}"))
        assert first.feedback.note == f"first {i}" and first.id == record.id
        if i >= 3:
            again = store.set_feedback(f"i{i - 3:02d}", Feedback(rating=5 - (i - 3) % 5, note=f"last {i - 3}"))
            assert again.feedback.note == f"last {i - 3}"
            assert again.question == record.question  # built locally for queued writes
        if 20 <= i < 40:
            queued_during_outage.append(store.last_write_queued)
        elif i >= 40:
            direct_after_restart.append(not store.last_write_queued)
    assert all(queued_during_outage)
    assert sum(direct_after_restart) >= 18  # the first write after the restart may still find a stale connection
    assert store.flush() == (0, 0)

    check = DynamoDBFeedbackStore("feedback", endpoint_url=server.url)
    everything = list_all(check)
    assert everything == [f"i{i:02d}" for i in range(total - 1, -1, -1)]
    assert check.client.scan(TableName="feedback", Select="COUNT")["Count"] == total
    for i in range(total):
        got = check.get(f"i{i:02d}")
        rating, note = expected_note(i, total)
        assert (got.feedback.rating, got.feedback.note) == (rating, note), got.id
    assert ids(check.list(InteractionFilter(source_prefix="Folder1"), limit=100)) == [
        f"i{i:02d}" for i in range(total - 1, -1, -1) if i % 4 == 1
    ]
    check.close()
    inner.close()


@pytest.mark.integration
def test_dynamodb_killed_at_an_arbitrary_moment_loses_no_feedback(crashable_server, tmp_path):
    """The same, with the crash and the restart at times that fall wherever the writer is,
    including in the middle of a request whose outcome the client never learns."""
    server = crashable_server
    # One attempt: the outage is the test's subject, not botocore's backoff.
    inner = DynamoDBFeedbackStore("feedback", endpoint_url=server.url, max_attempts=1, connect_timeout=1)
    inner.create_table()
    store = OutboxFeedbackStore(inner, tmp_path / "outbox", retry_after=0)
    restarted = threading.Event()
    # Held while the recording is replayed into the new server: a real DynamoDB never shows a
    # half-restored table, so the writer waits instead of seeing one. The kill takes no lock.
    restoring = threading.Lock()
    written: list[str] = []

    def crash_and_restart():
        while len(written) < 10:
            time.sleep(0.01)
        time.sleep(0.137)
        server.stop(kill=True)
        time.sleep(0.8)
        with restoring:
            server.start()
            server.replay_recording()
        restarted.set()

    def write(i: int) -> bool:
        interaction_id = f"r{i:04d}"
        with restoring:
            store.put(make(interaction_id, minutes=i))
        with restoring:
            store.set_feedback(interaction_id, Feedback(rating=1 + i % 5, note=f"note {i}"))
        written.append(interaction_id)
        return store.last_write_queued

    chaos = threading.Thread(target=crash_and_restart)
    chaos.start()
    queued = 0
    while not restarted.is_set() and len(written) < 2000:
        queued += write(len(written))
        time.sleep(0.005)
    chaos.join()
    for _ in range(10):  # and a few more once the server is back
        write(len(written))
    assert queued > 0, "the outage overlapped the writes"
    store.flush()
    assert store.pending() == 0
    check = DynamoDBFeedbackStore("feedback", endpoint_url=server.url)
    assert list_all(check) == sorted(written, reverse=True)
    for n, interaction_id in enumerate(written):
        got = check.get(interaction_id)
        assert (got.feedback.rating, got.feedback.note) == (1 + n % 5, f"note {n}")
    check.close()
    inner.close()


class _SharedExclusiveLock:
    """Many holders at once (``shared``), or one (``exclusive``): the clients' requests share it,
    the restore of the killed server's state takes it alone."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holders = 0
        self._exclusive = False

    @contextmanager
    def shared(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._holders += 1
        try:
            yield
        finally:
            with self._cond:
                self._holders -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._exclusive = True
            self._cond.wait_for(lambda: self._holders == 0)
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


CLIENTS = 8
KILLS = 2


@pytest.mark.integration
def test_eight_clients_through_repeated_kills_lose_and_duplicate_nothing(crashable_server, tmp_path):
    """8 users, as two app processes sharing one outbox (4 browser sessions each), record answers
    and rate them through the chat service, each rating sent at once and a re-rating two answers
    later, while the server is SIGKILLed and restarted twice. Afterwards every answer is stored
    once with its last rating, and no rating was refused, set aside or lost.

    A restarted moto server has forgotten everything; the recording replayed into it rebuilds
    what the dead one acknowledged. A real DynamoDB never shows a half-restored table, so the
    restore holds the clients' requests back (the kill does not)."""
    from app.config import Settings
    from app.services import Backends, Identity
    from app.services.chat import ChatService

    server = crashable_server
    gate = _SharedExclusiveLock()
    processes = []
    for p in range(2):
        # One attempt: the outage is the test's subject, not botocore's backoff.
        inner = DynamoDBFeedbackStore(
            "feedback", endpoint_url=server.url, max_attempts=1, connect_timeout=1, read_timeout=2
        )
        if p == 0:
            inner.create_table()
        backends = Backends(Settings())
        backends.feedback_store = OutboxFeedbackStore(inner, tmp_path / "outbox", retry_after=0.3)
        processes.append(backends)
    errors: list[str] = []
    queued: list[bool] = []
    answers = [0] * CLIENTS
    chaos_over = threading.Event()

    def client(c: int) -> None:
        backends = processes[c % 2]
        store = backends.feedback_store
        chat = ChatService(backends, Identity(user=f"user{c}", role="engineer"))
        try:
            i = after = 0
            while after < 2:  # through the outages, then two answers more
                after += chaos_over.is_set()
                own = f"c{c}-{i:03d}"
                with gate.shared():
                    store.put(make(own, user=f"user{c}", minutes=i, question=f"question {c} {i}"))
                    queued.append(store.last_write_queued)
                answers[c] = i + 1
                time.sleep(0.01 * (c % 3))
                with gate.shared():
                    chat.rate(own, 1 + (i + c) % 5, note=f"first {c}-{i}")
                if i >= 2:
                    with gate.shared():
                        chat.rate(f"c{c}-{i - 2:03d}", 5 - (i + c) % 5, note=f"last {c}-{i - 2}")
                time.sleep(0.03)
                i += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported by the assertion below
            errors.append(f"client {c}: {type(e).__name__}: {e}")

    def chaos() -> None:
        try:
            for _ in range(KILLS):
                time.sleep(0.4)
                server.stop(kill=True)
                time.sleep(0.5)
                with gate.exclusive():
                    server.start()
                    server.replay_recording()
        finally:
            chaos_over.set()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    killer = threading.Thread(target=chaos)
    killer.start()
    for t in threads:
        t.start()
    killer.join(120)
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert any(queued), "the outages overlapped the writes"
    for backends in processes:
        backends.feedback_store.flush()
    assert processes[0].feedback_store.pending() == 0
    assert not processes[0].feedback_store.rejected_path.exists()

    check = DynamoDBFeedbackStore("feedback", endpoint_url=server.url)
    stored: dict[str, list] = {}
    cursor = None
    while cursor is not None or not stored:
        page = check.list(limit=100, cursor=cursor)
        for got in page.items:
            stored.setdefault(got.id, []).append(got)
        cursor = page.next_cursor
    expected = {f"c{c}-{i:03d}" for c in range(CLIENTS) for i in range(answers[c])}
    assert set(stored) == expected, "nothing lost"
    assert all(len(copies) == 1 for copies in stored.values()), "nothing twice"
    assert check.client.scan(TableName="feedback", Select="COUNT")["Count"] == len(expected)
    for c in range(CLIENTS):
        for i in range(answers[c]):
            (got,) = stored[f"c{c}-{i:03d}"]
            if i < answers[c] - 2:
                assert (got.feedback.rating, got.feedback.note) == (5 - (i + 2 + c) % 5, f"last {c}-{i}")
            else:
                assert (got.feedback.rating, got.feedback.note) == (1 + (i + c) % 5, f"first {c}-{i}")
    check.close()
    for backends in processes:
        backends.feedback_store.close()
