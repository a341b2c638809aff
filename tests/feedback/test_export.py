"""Export to CSV / JSONL / Parquet and import back, against the real SQLite store."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import feedback.formats as formats_module
import feedback.importing as importing_module
from feedback.errors import StoreUnavailable
from feedback.errors import InvalidExportFile
from feedback.export import export
from feedback.formats import CSV_COLUMNS, FORMATS
from feedback.importing import detect_format, import_records
from feedback.records import CitationRecord, Feedback, InjectionRecord, Interaction, JudgeScore, Review
from feedback.stores.base import InteractionFilter
from feedback.stores.paging import iter_interactions
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import T0, list_all, make

ROOT = Path(__file__).resolve().parents[2]
UNICODE = "Überprüfung der Bodenplatte — 荷重 ✓ 'single' \"double\", comma; semicolon"


@pytest.fixture
def store(tmp_path):
    s = SQLiteFeedbackStore(tmp_path / "feedback.db")
    yield s
    s.close()


@pytest.fixture
def other(tmp_path):
    """A second, empty store to import into."""
    s = SQLiteFeedbackStore(tmp_path / "other.db")
    yield s
    s.close()


def rec(interaction_id: str, *, answer: str | None = None, created_at=None, **fields) -> Interaction:
    """``make``, also with a chosen answer or creation time (which ``make`` fixes)."""
    record = make(interaction_id, **fields)
    update = {k: v for k, v in (("answer", answer), ("created_at", created_at)) if v is not None}
    return Interaction.model_validate(record.model_dump() | update) if update else record


def rich_records() -> list[Interaction]:
    """Records that exercise every field: nulls, unicode, newlines, nested attachments."""
    full = rec(
        "full",
        minutes=1,
        sources=("Design/Criteria/lighting.pdf", "notes.md", "Design/Criteria/lighting.pdf"),
        question=UNICODE,
        answer='Line one [1].\nLine two, "quoted" [2].\r\nLine three.',
        context="[1] Design/Criteria/lighting.pdf p.1\nExterior lighting shall give 20 lux.\n" * 30,
        context_truncated=True,
        latency_ms=1234,
        feedback=Feedback(
            rating=2, correction="=SUM(A1:A9)", note="-wrong section", updated_at=T0 + timedelta(hours=1)
        ),
        judge=JudgeScore(
            score=1.5,
            reason="contradicts [1]",
            judge_model="judge-1",
            raw="<scoring>1.5</scoring>",
            scored_at=T0,
            thinking="[1] says 20 lux",
            prompt_version="judge-v1",
            issues=["no_thinking", "text_outside_tags"],
        ),
        review=Review(
            status="rejected",
            reviewer="sme",
            reference_answer="25 kN/m2",
            reviewed_at=T0 + timedelta(hours=3),
            sme_score=0.5,
        ),
        injection=[InjectionRecord(n=2, source="notes.md", kinds=["override"], matches=["Ignore previous"])],
    )
    full.citations[1].page = None  # page-less formats keep a null page
    full.citations[2].page = 7  # a second passage from the same document
    full.citations[0].text = "Exterior lighting shall give 20 lux."
    return [
        full,
        rec("bare", minutes=2, found=False, answer="The documents do not say."),
        make("unscored", minutes=3, user="bo", judge=JudgeScore(score=None, judge_model="judge-2", raw="no tags")),
        make("rated", minutes=4, user="bo", sources=("Specs/b.pdf",), feedback=Feedback(rating=5, note="clear")),
    ]


@pytest.fixture
def rich(store) -> list[Interaction]:
    records = rich_records()
    for r in records:
        store.put(r)
    return records


def by_id(records) -> dict[str, Interaction]:
    return {r.id: r for r in records}


# -- lossless round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_round_trip_is_lossless(store, other, rich, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    assert export(store, out, fmt) == len(rich)
    assert import_records(other, out) == len(rich)
    expected = by_id(rich)
    for record_id, record in expected.items():
        got = other.get(record_id)
        assert got == record
        assert got.model_dump_json() == record.model_dump_json()
    assert list_all(other) == list_all(store)


def test_jsonl_is_one_interaction_per_line_newest_first(store, rich, tmp_path):
    out = tmp_path / "export.jsonl"
    export(store, out, "jsonl")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["rated", "unscored", "bare", "full"]
    full = json.loads(lines[-1])
    assert full["citations"][1]["page"] is None
    assert full["feedback"]["label"] == "Disagree" and full["review"]["status"] == "rejected"
    assert Interaction.model_validate_json(lines[-1]) == by_id(rich)["full"]


def test_parquet_has_the_fixed_nested_schema(store, rich, tmp_path):
    out = tmp_path / "export.parquet"
    export(store, out, "parquet")
    schema = pq.read_schema(out)
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    citations = schema.field("citations").type
    assert pa.types.is_list(citations) and pa.types.is_struct(citations.value_type)
    assert {citations.value_type.field(i).name for i in range(citations.value_type.num_fields)} == {
        "n",
        "source",
        "page",
        "chunk_id",
        "score",
        "text",
    }
    for name in ("feedback", "judge", "review"):
        assert pa.types.is_struct(schema.field(name).type)
    assert schema.field("feedback").type.field("updated_at").type == pa.timestamp("us", tz="UTC")
    table = pq.read_table(out)
    rows = {row["id"]: row for row in table.to_pylist()}
    assert rows["bare"]["feedback"] is None and rows["bare"]["judge"] is None
    assert rows["full"]["feedback"]["rating"] == 2 and rows["full"]["feedback"]["label"] == "Disagree"
    assert rows["full"]["citations"][1]["page"] is None


def test_parquet_an_exported_empty_store_still_has_the_schema(store, other, tmp_path):
    out = tmp_path / "empty.parquet"
    assert export(store, out, "parquet") == 0
    assert pq.read_table(out).num_rows == 0
    assert pq.read_schema(out).names == formats_module.parquet_schema().names
    assert import_records(other, out) == 0


def test_parquet_writes_several_row_groups_and_pages(store, other, tmp_path, monkeypatch):
    for i in range(23):
        store.put(make(f"i{i:02d}", minutes=i, sources=(f"d{i % 3}.pdf",), context="x" * 2000))
    monkeypatch.setattr(formats_module, "PARQUET_ROW_GROUP_BYTES", 10_000)
    out = tmp_path / "export.parquet"
    assert export(store, out, "parquet", page_size=4) == 23
    assert pq.ParquetFile(out).metadata.num_row_groups > 2
    assert import_records(other, out) == 23
    assert list_all(other) == list_all(store)


def test_parquet_keeps_the_instant_of_a_time_with_another_offset(store, other, tmp_path):
    tokyo = timezone(timedelta(hours=9))
    record = rec("tz", created_at=(T0 + timedelta(minutes=5)).astimezone(tokyo))
    store.put(record)
    out = tmp_path / "export.parquet"
    export(store, out, "parquet")
    import_records(other, out)
    got = other.get("tz")
    assert got.created_at == record.created_at  # the same instant…
    assert got.created_at.utcoffset() == timedelta(0)  # …expressed in UTC


# -- CSV -----------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_is_flat_quoted_and_readable_by_dictreader(store, rich, tmp_path):
    out = tmp_path / "export.csv"
    assert export(store, out, "csv") == 4
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a UTF-8 byte order mark, so Excel reads UTF-8"
    assert raw[3:].startswith(b'"id","created_at",'), "every cell quoted"
    rows = read_csv(out)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["id"] for r in rows] == ["rated", "unscored", "bare", "full"]
    full = rows[-1]
    assert full["created_at"] == "2025-03-14 09:01:00"
    assert full["question"] == UNICODE
    assert full["answer"] == 'Line one [1].\nLine two, "quoted" [2].\r\nLine three.'
    assert (full["rating"], full["rating_label"], full["feedback_at"]) == ("2", "Disagree", "2025-03-14 10:00:00")
    assert (full["judge_score"], full["judge_reason"], full["judge_model"]) == ("1.5", "contradicts [1]", "judge-1")
    assert (full["review_status"], full["reviewer"], full["reference_answer"]) == ("rejected", "sme", "25 kN/m2")
    assert full["sources"] == "Design/Criteria/lighting.pdf#1; notes.md; Design/Criteria/lighting.pdf#7"
    assert (full["found"], full["context_truncated"], full["latency_ms"], full["turn"]) == ("true", "true", "1234", "1")
    citations = [CitationRecord.model_validate(c) for c in json.loads(full["citations_json"])]
    assert citations == by_id(rich)["full"].citations
    bare = rows[2]
    assert bare["found"] == "false"
    assert all(bare[c] == "" for c in ("rating", "rating_label", "correction", "note", "judge_score", "judge_model"))
    assert bare["sources"] == "" and bare["citations_json"] == "[]" and bare["review_status"] == "unreviewed"
    unscored = rows[1]
    assert unscored["judge_score"] == "" and unscored["judge_model"] == "judge-2"


def test_csv_defuses_cells_a_spreadsheet_would_run_as_formulas(store, tmp_path):
    store.put(
        rec(
            "f",
            question='=HYPERLINK("http://x")',
            answer="+1",
            feedback=Feedback(rating=1, correction="@x", note="-5 kN"),
        )
    )
    out = tmp_path / "export.csv"
    export(store, out, "csv")
    row = read_csv(out)[0]
    assert (row["question"], row["answer"], row["correction"], row["note"]) == (
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'@x",
        "'-5 kN",
    )


def test_csv_of_an_empty_store_is_the_header(store, tmp_path):
    out = tmp_path / "empty.csv"
    assert export(store, out, "csv") == 0
    assert read_csv(out) == []
    assert out.read_text(encoding="utf-8-sig").startswith('"id"')


# -- filters, paging, progress, files ------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "filters",
    [
        InteractionFilter(user="bo"),
        InteractionFilter(source_prefix="Design"),
        InteractionFilter(min_rating=1, max_rating=2),
        InteractionFilter(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4)),
        InteractionFilter(review_status="unreviewed", rated=False),
    ],
    ids=["user", "source", "negative", "time-window", "unreviewed-unrated"],
)
def test_filters_are_applied(store, rich, tmp_path, fmt, filters):
    out = tmp_path / f"export.{fmt}"
    expected = list_all(store, filters)
    assert export(store, out, fmt, filters) == len(expected)
    if fmt == "csv":
        exported = [r["id"] for r in read_csv(out)]
    elif fmt == "jsonl":
        exported = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    else:
        exported = pq.read_table(out, columns=["id"]).column("id").to_pylist()
    assert exported == expected


class CountingStore:
    """Wraps a store and records every ``list`` call, to show the export pages through it."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def list(self, filters=None, *, limit=50, cursor=None):
        page = self.inner.list(filters, limit=limit, cursor=cursor)
        self.calls.append((limit, cursor, len(page.items)))
        return page

    def put(self, interaction):
        self.inner.put(interaction)


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_reads_the_store_page_by_page_and_reports_progress(store, tmp_path, fmt):
    for i in range(12):
        store.put(make(f"i{i:02d}", minutes=i))
    counting, seen = CountingStore(store), []
    assert export(counting, tmp_path / f"out.{fmt}", fmt, progress=seen.append, page_size=5) == 12
    assert [(limit, n) for limit, _, n in counting.calls] == [(5, 5), (5, 5), (5, 2)]
    assert counting.calls[0][1] is None and all(c[1] for c in counting.calls[1:])
    assert seen == [5, 10, 12]


def test_export_uses_pages_of_500_by_default(store, tmp_path):
    store.put(make("a"))
    counting = CountingStore(store)
    export(counting, tmp_path / "out.jsonl", "jsonl")
    assert [limit for limit, _, _ in counting.calls] == [500]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failed_export_leaves_the_old_file_and_no_partial_one(store, tmp_path, fmt):
    for i in range(12):
        store.put(make(f"i{i:02d}", minutes=i))
    out = tmp_path / "exports" / f"out.{fmt}"
    out.parent.mkdir()
    out.write_bytes(b"the previous export")

    def crash(count):
        if count >= 10:
            raise KeyboardInterrupt  # Ctrl-C half-way

    with pytest.raises(KeyboardInterrupt):
        export(store, out, fmt, progress=crash, page_size=5)
    assert out.read_bytes() == b"the previous export"
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]


def test_a_store_failure_leaves_no_file(tmp_path):
    class Broken:
        def list(self, *args, **kwargs):
            raise StoreUnavailable("feedback database is gone")

    with pytest.raises(StoreUnavailable):
        export(Broken(), tmp_path / "out.parquet", "parquet")
    assert list(tmp_path.glob("out.parquet*")) == [] and list(tmp_path.glob(".out.parquet*")) == []


def test_export_creates_the_folder_and_replaces_a_file(store, rich, tmp_path):
    out = tmp_path / "new" / "folder" / "out.jsonl"
    export(store, out, "jsonl")
    export(store, out, "jsonl", InteractionFilter(user="bo"))
    assert len(out.read_text().splitlines()) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_to_a_binary_stream_leaves_it_open(store, rich, fmt):
    stream = io.BytesIO()
    assert export(store, stream, fmt) == len(rich)
    assert not stream.closed
    data = stream.getvalue()
    if fmt == "parquet":
        assert pq.read_table(io.BytesIO(data)).num_rows == len(rich)
    elif fmt == "jsonl":
        assert len(data.decode().splitlines()) == len(rich)
    else:
        assert len(list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))) == len(rich)


def test_a_failed_export_to_a_stream_leaves_it_open(store):
    for i in range(6):
        store.put(make(f"i{i}", minutes=i))
    stream = io.BytesIO()

    def crash(count):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        export(store, stream, "csv", progress=crash, page_size=2)
    assert not stream.closed


def test_unknown_format_is_a_value_error(store, tmp_path):
    with pytest.raises(ValueError, match="xlsx"):
        export(store, tmp_path / "out.xlsx", "xlsx")
    assert not list(tmp_path.glob("*out*"))


def test_iter_interactions_follows_the_cursor(store):
    for i in range(7):
        store.put(make(f"i{i}", minutes=i))
    assert [i.id for i in iter_interactions(store, page_size=3)] == [f"i{i}" for i in range(6, -1, -1)]


# -- import --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_importing_twice_is_idempotent(store, other, rich, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    export(store, out, fmt)
    assert import_records(other, out) == 4
    assert import_records(other, out) == 4
    assert sorted(list_all(other)) == sorted(r.id for r in rich)
    assert other.get("full") == by_id(rich)["full"]


def test_import_reports_progress(store, other, tmp_path, monkeypatch):
    for i in range(7):
        store.put(make(f"i{i}", minutes=i))
    out = tmp_path / "export.jsonl"
    export(store, out, "jsonl")
    monkeypatch.setattr(importing_module, "PAGE_SIZE", 3)
    seen = []
    assert import_records(other, out, progress=seen.append) == 7
    assert seen == [3, 6, 7]


def test_the_format_is_detected_from_the_content(store, other, rich, tmp_path):
    out = tmp_path / "export.parquet"
    export(store, out, "parquet")
    renamed = out.rename(tmp_path / "export.dat")
    assert detect_format(renamed) == "parquet"
    assert import_records(other, renamed) == 4


def test_a_bad_line_imports_nothing_and_is_named(store, other, rich, tmp_path):
    out = tmp_path / "export.jsonl"
    export(store, out, "jsonl")
    lines = out.read_text(encoding="utf-8").splitlines()
    bad_rating = json.loads(lines[0])
    bad_rating["feedback"]["rating"] = 9
    lines[0] = json.dumps(bad_rating)
    lines[2] = lines[2][:40]  # a line cut short
    out.write_text("\n".join(lines) + "\n\n", encoding="utf-8")  # a trailing blank line is fine
    with pytest.raises(InvalidExportFile) as info:
        import_records(other, out)
    message = str(info.value)
    assert "2 bad records out of 4, nothing was imported" in message
    assert "line 1: feedback.rating" in message and "line 3:" in message
    assert list_all(other) == []


def test_a_bad_parquet_row_is_named(store, other, tmp_path):
    for i in range(3):
        store.put(make(f"i{i}", minutes=i))
    out = tmp_path / "export.parquet"
    export(store, out, "parquet")
    table = pq.read_table(out)
    turns = table.column("turn").to_pylist()
    turns[1] = 0  # turn must be 1 or more
    pq.write_table(table.set_column(table.schema.get_field_index("turn"), "turn", pa.array(turns, pa.int32())), out)
    with pytest.raises(InvalidExportFile, match=r"row 2: turn"):
        import_records(other, out)
    assert list_all(other) == []


def test_csv_import_is_refused_with_the_reason(store, other, rich, tmp_path):
    out = tmp_path / "export.csv"
    export(store, out, "csv")
    with pytest.raises(InvalidExportFile, match="CSV export.*cannot be imported.*JSONL or Parquet"):
        import_records(other, out)
    renamed = out.rename(tmp_path / "export.txt")  # recognised by its header too
    with pytest.raises(InvalidExportFile, match="CSV"):
        import_records(other, renamed)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("notes.txt", b"just some text\n", "not a ragbot export"),
        ("broken.parquet", b"PAR1 this is not really parquet", "not a readable Parquet file"),
    ],
)
def test_a_file_that_is_not_an_export_is_refused(other, tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidExportFile, match=match):
        import_records(other, path)


def test_a_foreign_parquet_file_is_refused(other, tmp_path):
    path = tmp_path / "sales.parquet"
    pq.write_table(pa.table({"region": ["north"], "amount": [3]}), path)
    with pytest.raises(InvalidExportFile, match="not a ragbot export"):
        import_records(other, path)


def test_an_empty_file_imports_nothing(other, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert import_records(other, path) == 0


def test_a_store_failure_during_import_says_how_far_it_got(store, rich, tmp_path):
    out = tmp_path / "export.jsonl"
    export(store, out, "jsonl")

    class Flaky:
        def __init__(self):
            self.puts = 0

        def put(self, interaction):
            self.puts += 1
            if self.puts == 3:
                raise StoreUnavailable("feedback database is locked")

    with pytest.raises(StoreUnavailable, match="2 of 4 records .* were imported; import it again"):
        import_records(Flaky(), out)


# -- flat memory -----------------------------------------------------------------------------------

BIG = 30_000
CONTEXT = "The floor slab shall be designed for a distributed load of 50 kN/m2 and 70 kN point loads. " * 44

_MEASURE = r"""
import json, resource, sys
from datetime import timedelta
from pathlib import Path

from feedback.export import export
from feedback.stores.base import InteractionFilter
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import T0

db, fmt, out, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
store = SQLiteFeedbackStore(Path(db))
# Warm-up: export the newest page once. It pays the one-time costs that do not grow with the
# number of records (pyarrow's first Parquet write alone adds ~45 MB of code pages and allocator
# arenas; SQLite's page cache; the first page's objects), so what follows measures growth only.
export(store, out, fmt, InteractionFilter(since=T0 + timedelta(minutes=count - 500)))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
exported = export(store, out, fmt)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"exported": exported, "growth": after - before}))
"""


@pytest.fixture(scope="module")
def big_store(tmp_path_factory) -> tuple[Path, int]:
    """30,000 interactions of ~4.5 KB of JSON each (a 4,000-character context, three citations),
    and the total size of their JSON."""
    path = tmp_path_factory.mktemp("big") / "feedback.db"
    store = SQLiteFeedbackStore(path)
    # Only to fill the file fast: no fsync per put (the store's default is FULL durability).
    store._connection().execute("PRAGMA synchronous = OFF")
    for i in range(BIG):
        store.put(
            make(
                f"i{i:06d}",
                minutes=i,
                user=f"user{i % 17}",
                sources=(f"Design/doc{i % 40}.pdf", "Specs/general.pdf", f"notes/{i % 7}.md"),
                context=CONTEXT,
                feedback=Feedback(rating=i % 5 + 1, note="see section 21 01 13") if i % 3 else None,
                judge=JudgeScore(score=(i % 50) / 10, reason="ok", judge_model="judge") if i % 2 else None,
            )
        )
    json_bytes = store._connection().execute("SELECT SUM(LENGTH(CAST(record AS BLOB))) FROM interactions").fetchone()[0]
    store.close()
    return path, json_bytes


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_memory_stays_flat(big_store, tmp_path, fmt):
    """Exporting 30k records must not hold them: peak RSS may grow by at most 40 MB.

    Holding them all, as ``list(store)`` would, costs at least their JSON text (~135 MB here) and
    in practice ~2.2x that as pydantic objects (~300 MB measured). A streaming export holds one
    page of 500 records (~2 MB of JSON, ~5 MB as objects) plus, for Parquet, the row group being
    built (``PARQUET_ROW_GROUP_BYTES``, 8 MB of Arrow data, and its encoded copy); measured
    growth is ~6 MB for CSV and JSONL and ~25 MB for Parquet. 40 MB leaves headroom for
    allocator noise and is still under a third of the JSON alone. Measured in a fresh
    interpreter, because ``ru_maxrss`` is a high-water mark of the whole process.
    """
    db, json_bytes = big_store
    out = tmp_path / f"big.{fmt}"
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(db), fmt, str(out), str(BIG)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    assert measured["exported"] == BIG
    bound = 40 * 1024 * 1024
    assert json_bytes > 3 * bound, "the data set must be clearly bigger than the bound to show anything"
    assert measured["growth"] < bound, f"peak RSS grew by {measured['growth'] / 2**20:.1f} MB exporting {fmt}"
