"""Hostile records: what validation refuses on every write path, what an import refuses as a
whole, and how reads survive a stored record that no longer validates (issue 9, items 1, 4, 6).

The stores here are real SQLite files; the DynamoDB store runs the same read-path checks through
the contract suite (``test_a_stored_record_that_no_longer_validates_is_skipped_and_counted``).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from feedback.errors import InvalidExportFile, UnreadableRecord
from feedback.export import export
from feedback.importing import import_records
from feedback.records import (
    EARLIEST,
    LATEST,
    MAX_TURN,
    CitationRecord,
    Feedback,
    Interaction,
    JudgeScore,
    Review,
    load_stored,
)
from feedback.stats import feedback_stats
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import list_all, make


def line(record: Interaction, **changes) -> str:
    """One export line of ``record`` with top-level fields replaced (values as JSON allows)."""
    data = json.loads(record.model_dump_json())
    data.update(changes)
    return json.dumps(data)


@pytest.fixture
def store(tmp_path):
    s = SQLiteFeedbackStore(tmp_path / "feedback.db")
    yield s
    s.close()


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_scores_are_refused(value):
    with pytest.raises(ValidationError, match="finite"):
        CitationRecord(n=1, source="a.pdf", page=1, chunk_id="c", score=value)
    with pytest.raises(ValidationError, match="score"):
        JudgeScore(score=value, judge_model="j")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_nan_in_json_is_refused(literal):
    text = make("a", sources=("a.pdf",)).model_dump_json().replace('"score":0.5', f'"score":{literal}')
    assert literal in text
    with pytest.raises(ValidationError, match="citations.0.score"):
        Interaction.model_validate_json(text)


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+14:00",  # its UTC day is before year 1: overflowed the statistics
        "9999-12-31T23:59:59-14:00",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "1970-01-01T00:00:00",
    ],
)
def test_times_outside_2000_to_2099_are_refused_everywhere(when):
    record = make("a")
    for field in ("created_at", "updated_at"):
        with pytest.raises(ValidationError, match=field):
            Interaction.model_validate_json(line(record, **{field: when}))
    with pytest.raises(ValidationError, match="updated_at"):
        Feedback.model_validate({"rating": 3, "updated_at": when})
    with pytest.raises(ValidationError, match="scored_at"):
        JudgeScore.model_validate({"judge_model": "j", "scored_at": when})
    with pytest.raises(ValidationError, match="reviewed_at"):
        Review.model_validate({"reviewed_at": when})


def test_the_edges_of_the_time_window():
    record = make("a")
    assert Interaction.model_validate({**record.model_dump(), "created_at": EARLIEST}).created_at == EARLIEST
    last = LATEST - timedelta(microseconds=1)
    west = Interaction.model_validate(
        {**record.model_dump(), "updated_at": last.astimezone(timezone(timedelta(hours=-14)))}
    )
    assert west.updated_at == last
    naive = datetime(2025, 3, 14, 9)  # read as UTC, kept as given
    assert Interaction.model_validate({**record.model_dump(), "created_at": naive}).created_at == naive
    with pytest.raises(ValidationError):
        Interaction.model_validate({**record.model_dump(), "created_at": EARLIEST - timedelta(microseconds=1)})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"turn": 10**20}, "turn"),
        ({"turn": MAX_TURN + 1}, "turn"),
        ({"turn": True}, "turn"),
        ({"turn": 2.0}, "turn"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": 2**63}, "latency_ms"),
        ({"schema_version": 99}, "schema_version"),
        ({"schema_version": 0}, "schema_version"),
        ({"schema_version": True}, "schema_version"),
        ({"id": ""}, "id"),
        ({"id": "   "}, "id"),
        ({"id": "a\nb"}, "id"),
        ({"id": "a\x00b"}, "id"),
        ({"id": "a\u2028b"}, "id"),
        ({"id": "x" * 257}, "id"),
        ({"session_id": "s\r1"}, "session_id"),
        ({"user": "ana\x1b[31m"}, "user"),
        ({"feedback": {"rating": True}}, "feedback.rating"),
        ({"feedback": {"rating": 4.0}}, "feedback.rating"),
        ({"feedback": {"rating": "4"}}, "feedback.rating"),
        ({"citations": [{"n": 1, "source": "a", "page": 2**40, "chunk_id": "c", "score": 0.1}]}, "citations.0.page"),
        ({"citations": [{"n": 0, "source": "a", "page": 1, "chunk_id": "c", "score": 0.1}]}, "citations.0.n"),
    ],
)
def test_bounded_strict_fields_refuse_hostile_values(changes, field):
    with pytest.raises(ValidationError) as info:
        Interaction.model_validate_json(line(make("a"), **changes))
    assert field in {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}


def test_an_unknown_schema_version_says_to_upgrade():
    with pytest.raises(ValidationError, match="newer ragbot: upgrade"):
        Interaction.model_validate_json(line(make("a"), schema_version=2))


def test_assignments_are_validated_like_construction():
    record = make("a")
    with pytest.raises(ValidationError, match="turn"):
        record.turn = 10**20
    with pytest.raises(ValidationError, match="rating"):
        Feedback(rating=3).rating = True


# -- fuzzing validation and import lines ----------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["0001-01-01T00:00:00+14:00", "2025-03-14T09:00:00Z", "9999-12-31T23:59:59Z", "NaN"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = sorted(Interaction.model_fields) + ["feedback.rating", "feedback.updated_at", "citations.0.score"]


def _mutated(data: dict, path: str, value) -> dict:
    data = json.loads(json.dumps(data))
    head, _, rest = path.partition(".")
    if not rest:
        data[head] = value
    elif head == "feedback":
        data["feedback"] = {"rating": 3, **(data["feedback"] or {}), rest: value}
    else:
        data["citations"][0]["score"] = value
    return data


def assert_safe(record: Interaction) -> None:
    """What every accepted record must satisfy for every store, format and statistic."""
    for t in (record.created_at, record.updated_at, record.feedback and record.feedback.updated_at):
        if t:
            aware = t if t.tzinfo else t.replace(tzinfo=UTC)
            assert EARLIEST <= aware < LATEST
            aware.astimezone(UTC).date()  # never overflows
    assert 1 <= record.turn <= MAX_TURN and 0 <= record.latency_ms < 2**63
    assert record.id.strip() and all(c.isprintable() or c == " " for c in record.id)
    assert all(math.isfinite(c.score) for c in record.citations)
    assert record.feedback is None or type(record.feedback.rating) is int
    # What was accepted is read back unchanged from its own JSON (what every store keeps).
    assert load_stored(record.model_dump_json(), record.id) == record


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(FIELDS), value=JSON_VALUES)
def test_fuzz_one_field_of_a_record_is_valid_and_safe_or_refused(path, value):
    base = json.loads(make("a", sources=("a.pdf",)).model_dump_json())
    text = json.dumps(_mutated(base, path, value), allow_nan=True)
    try:
        record = Interaction.model_validate_json(text)
    except ValidationError:
        return
    assert_safe(record)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(["good", "dup", "blank"])), max_size=6))
def test_fuzz_import_lines_write_all_or_nothing(tmp_path_factory, lines):
    """Whatever the lines, an import either writes every record of the file or none, and never raises
    anything but InvalidExportFile."""
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "in.jsonl"
    good = [make(f"g{i}", minutes=i) for i in range(len(lines))]
    raw = []
    for i, item in enumerate(lines):
        if item == "good":
            raw.append(good[i].model_dump_json().encode())
        elif item == "dup":
            raw.append(good[0].model_dump_json().encode())
        elif item == "blank":
            raw.append(b"  ")
        else:
            raw.append(item.replace(b"\n", b" "))
    path.write_bytes(b"{" + b"\n".join(raw) if raw and not raw[0].startswith(b"{") else b"\n".join(raw))
    target = SQLiteFeedbackStore(folder / "feedback.db")
    try:
        count = import_records(target, path)
    except InvalidExportFile as e:
        assert "\n" not in str(e)
        assert list_all(target) == []
    else:
        assert len(list_all(target)) == count
        for record in target.list(limit=100).items:
            assert_safe(record)
    finally:
        target.close()


# -- import ------------------------------------------------------------------------------------


def write_lines(path, lines: list[str | bytes]) -> None:
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n")


def test_an_integer_too_big_for_sqlite_on_line_4_of_5_writes_nothing(store, tmp_path):
    path = tmp_path / "in.jsonl"
    write_lines(path, [line(make(f"r{i}", minutes=i), turn=10**20 if i == 4 else 1) for i in range(1, 6)])
    with pytest.raises(InvalidExportFile, match="1 bad record out of 5, nothing was imported: line 4: turn"):
        import_records(store, path)
    assert list_all(store) == []


def test_a_nan_score_is_refused_at_import_and_the_store_stays_readable(store, tmp_path):
    path = tmp_path / "in.jsonl"
    good = make("good", sources=("a.pdf",))
    write_lines(
        path,
        [
            good.model_dump_json(),
            good.model_dump_json().replace('"score":0.5', '"score":NaN').replace('"good"', '"bad"', 1),
        ],
    )
    with pytest.raises(InvalidExportFile, match="line 2: citations.0.score"):
        import_records(store, path)
    assert feedback_stats(store).total == 0


def test_two_lines_with_one_id_are_reported_and_nothing_is_counted_twice(store, tmp_path):
    path = tmp_path / "in.jsonl"
    write_lines(path, [line(make("x")), line(make("y")), line(make("x"), question="other")])
    with pytest.raises(InvalidExportFile, match=r"line 3: id 'x' again \(first on line 1\)"):
        import_records(store, path)
    assert list_all(store) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"feedback": {"rating": True}}, "feedback.rating: Input should be a valid integer"),
        ({"id": ""}, "id: is empty"),
        ({"id": "a\nb"}, "id: holds the control character '\\n'"),
        ({"schema_version": 7}, "schema version 7 is not one this ragbot reads"),
    ],
)
def test_import_refuses_what_validation_refuses(store, tmp_path, changes, message):
    path = tmp_path / "in.jsonl"
    write_lines(path, [line(make("ok")), line(make("bad"), **changes)])
    with pytest.raises(InvalidExportFile) as info:
        import_records(store, path)
    assert message in str(info.value) and "line 2" in str(info.value) and "\n" not in str(info.value)
    assert list_all(store) == []


def test_a_file_not_in_utf8_is_one_line_naming_the_line(store, tmp_path):
    path = tmp_path / "latin1.jsonl"
    latin1 = make("b", question="café").model_dump_json().encode("latin-1")
    write_lines(path, [line(make("a")), latin1])
    with pytest.raises(InvalidExportFile, match=r"line 2: not UTF-8 text \(byte 0xe9 at column \d+\)") as info:
        import_records(store, path)
    assert "\n" not in str(info.value)
    assert list_all(store) == []


def test_a_byte_order_mark_is_still_accepted(store, tmp_path):
    path = tmp_path / "bom.jsonl"
    write_lines(path, [b"\xef\xbb\xbf" + line(make("a")).encode(), line(make("b"))])
    assert import_records(store, path) == 2


# -- reading a store that holds a bad record ----------------------------------------------------


def corrupt(store: SQLiteFeedbackStore, interaction_id: str, **changes) -> None:
    """Rewrite a stored record the way an older ragbot could have stored it, bypassing validation."""
    conn = store._connection()
    (text,) = conn.execute("SELECT record FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
    data = json.loads(text)
    data.update(changes)
    conn.execute("UPDATE interactions SET record = ? WHERE id = ?", (json.dumps(data), interaction_id))


@pytest.fixture
def spoiled(store):
    """Three records, rated; ``nan`` holds a citation score stored as null, ``old`` a time in year 1."""
    for i, name in enumerate(["good", "nan", "old"]):
        store.put(make(name, minutes=i, sources=("a.pdf",), feedback=Feedback(rating=1 + i)))
    record = json.loads(store.get("nan").model_dump_json())
    record["citations"][0]["score"] = None  # what sqlite kept of a NaN
    corrupt(store, "nan", citations=record["citations"])
    corrupt(store, "old", created_at="0001-01-01T00:00:00+14:00")
    return store


def test_stats_skip_and_count_unreadable_records(spoiled):
    stats = feedback_stats(spoiled)
    assert stats.total == 1 and stats.rated == 1 and stats.unreadable == 2
    assert stats.rating_counts[1] == 1


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
def test_export_leaves_unreadable_records_out_and_names_them(spoiled, tmp_path, fmt):
    skipped: list[str] = []
    assert export(spoiled, tmp_path / f"out.{fmt}", fmt, unreadable=skipped) == 1
    assert sorted(skipped) == ["nan", "old"]


def test_the_export_of_a_spoiled_store_imports_and_a_corrected_record_repairs_it(spoiled, tmp_path):
    export(spoiled, tmp_path / "out.jsonl", "jsonl")
    fixed = tmp_path / "fixed.jsonl"
    write_lines(fixed, [line(make("old", minutes=2, sources=("a.pdf",)))])
    assert import_records(spoiled, fixed) == 1
    assert feedback_stats(spoiled).unreadable == 1
    assert spoiled.get("old").created_at.year == 2025


def test_get_and_update_of_an_unreadable_record_say_so(spoiled):
    with pytest.raises(UnreadableRecord, match="stored record 'old' cannot be read: created_at"):
        spoiled.get("old")
    with pytest.raises(UnreadableRecord, match="'nan'"):
        spoiled.set_feedback("nan", Feedback(rating=5))
    page = spoiled.list()
    assert [i.id for i in page.items] == ["good"] and sorted(page.unreadable) == ["nan", "old"]
    assert [s.session_id for s in spoiled.sessions("ana")] == ["s1"]


def test_sessions_survive_a_stored_time_before_year_one(spoiled):
    # What the created_at "0001-01-01T00:00:00+14:00" became in the column sessions() reads.
    spoiled._connection().execute("UPDATE interactions SET created_us = ? WHERE id = 'old'", (-62135632800000000,))
    (summary,) = spoiled.sessions("ana")
    assert summary.turns == 3 and summary.started_at == datetime.min.replace(tzinfo=UTC)


@pytest.mark.parametrize("bad", ["a\u200bb", "\U00018cd6", "\ue000x", "x\u00a0y"])
def test_an_id_with_an_invisible_or_unassigned_character_is_refused(bad):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="invisible or unassigned character"):
        Interaction(
            id=bad,
            session_id="s",
            user="u",
            role="engineer",
            turn=1,
            question="q",
            answer="a",
            model_id="m",
            prompt_version="p",
        )
