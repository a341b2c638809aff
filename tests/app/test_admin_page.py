"""The admin page through Streamlit's AppTest."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.config import Settings
from app.services import Identity, Services
from tests.docs import make_pdf

pytestmark = pytest.mark.slow
ADMIN_PAGE = Path(__file__).parents[2] / "app" / "app_pages" / "admin.py"


@pytest.fixture
def env(local_model_dir, monkeypatch):
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))


def app() -> AppTest:
    st.cache_resource.clear()
    st.cache_data.clear()
    return AppTest.from_file(str(ADMIN_PAGE), default_timeout=180).run()


def test_ingest_a_server_folder_and_see_the_corpus_and_failures(env, tmp_path):
    docs = tmp_path / "docs"
    make_pdf(docs / "Design" / "criteria.pdf", ["Scope.", "Parking: 412 spaces.", "Lighting: 20 lux."])
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 junk")
    at = app()
    assert not at.exception
    corpus = lambda: [{m.label: m.value for m in at.metric}[k] for k in ("Documents", "Pages", "Passages")]  # noqa: E731
    assert corpus() == ["0", "0", "0"]
    at.text_input(key="admin_folder").set_value(str(docs))
    at.button(key="admin_ingest").click().run()
    assert "2 files: 1 indexed, 0 unchanged, 1 failed" in at.warning[0].value
    # The counts above the form are the index after this ingest, in the same run (not at a reload),
    # and the unreadable file is listed once, in the ingest's own report.
    assert corpus() == ["1", "3", "3"]
    assert any("Last ingest" in c.value for c in at.caption)
    assert any(c.value == "Embedding model: all-MiniLM-L6-v2" for c in at.caption)
    assert [d.value["source"].tolist() for d in at.dataframe if "source" in d.value] == [["broken.pdf"]]
    at.run()
    assert corpus() == ["1", "3", "3"]
    assert [d.value["source"].tolist() for d in at.dataframe if "source" in d.value] == [["broken.pdf"]]


def test_missing_folder_is_a_clear_error(env, tmp_path):
    at = app()
    at.text_input(key="admin_folder").set_value(str(tmp_path / "nowhere"))
    at.button(key="admin_ingest").click().run()
    assert "No such folder on the server" in at.error[0].value


def test_engineers_are_turned_away(env, monkeypatch):
    monkeypatch.setenv("RAGBOT_ROLE", "engineer")
    at = app()
    assert "only the admin role may see the feedback dashboard" in at.error[0].value
    assert not at.button
    admin = Services(Settings(), identity=Identity(user="boss", role="admin"))
    (event,) = admin.audit.events().items
    assert (event.action, event.outcome, event.actor) == ("app: open the Admin page", "refused", Settings().user)


def test_feedback_statistics_and_export(env):
    from app.config import Settings
    from app.services import Services
    from rag.records import Answer

    services = Services(Settings())
    for i, rating in enumerate([1, 2, 4, 5, 5, None]):
        answer = Answer(
            question=f"question {i}",
            answer="…",
            found=True,
            citations=[],
            model_id="m",
            prompt_version="p",
            latency_ms=1,
        )
        rec = services.chat.record_answer(answer, session_id="s", turn=i + 1)
        if rating:
            services.chat.rate(
                rec.id, rating, correction="It is 412." if i == 0 else None, note="Wrong number" if i == 0 else None
            )
    at = app()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answers"] == "6" and metrics["Rated"] == "5" and metrics["Negative (1–2)"] == "40%"
    assert metrics["Mean rating"] == "3.40"
    # The feedback tab comes first; ratings, volume and negative share are three charts with their own axes.
    assert [t.label for t in at.tabs] == ["Feedback", "Corpus", "A/B test", "Audit log"]
    import json

    ratings, volume, negative = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert ratings["encoding"]["color"]["scale"]["range"] == ["#d7191c", "#fdae61", "#b8b8b8", "#a6d96a", "#1a9641"]
    assert ratings["encoding"]["x"]["axis"]["labelAngle"] == 0 and not ratings["encoding"]["x"]["axis"]["labelOverlap"]
    assert volume["encoding"]["y"]["title"] == "answers per hour"  # minutes of data: hourly buckets
    assert negative["encoding"]["y"]["scale"]["domain"] == [0, 1] and negative["encoding"]["y"]["axis"]["format"] == "%"
    # The recent rated answers, with the correction and the note readable.
    recent = at.dataframe[0].value
    assert recent["rating"].tolist() == [
        "5 · Strongly agree",
        "5 · Strongly agree",
        "4 · Agree",
        "2 · Disagree",
        "1 · Strongly disagree",
    ]
    assert recent["better answer"].tolist()[-1] == "It is 412." and recent["note"].tolist()[-1] == "Wrong number"

    at.radio(key="admin_export_format").set_value("jsonl")
    at.slider(key="admin_export_ratings").set_value((1, 2))
    at.button(key="admin_export").click().run()
    prepared = at.session_state.admin_export_file
    assert prepared["name"] == "ragbot-feedback.jsonl" and prepared["count"] == 2
    assert sorted(line.count('"rating":') for line in prepared["data"].decode().splitlines()) == [1, 1]
    assert [b.label for b in at.get("download_button")] == ["Download ragbot-feedback.jsonl (2 answers)"]
    assert any("Prepared at" in c.value and "2 answers" in c.value for c in at.caption)
    # Other filters: the prepared file is not offered for them.
    at.slider(key="admin_export_ratings").set_value((1, 5)).run()
    assert not at.get("download_button")
    assert any("changed since the last export was prepared" in i.value for i in at.info)
    at.slider(key="admin_export_ratings").set_value((1, 2)).run()
    assert len(at.get("download_button")) == 1
    # The export is in the audit log, shown on its own tab.
    at.run()
    audit = at.dataframe[-1].value
    assert audit["action"].tolist()[0] == "export" and "count=2" in audit["details"].tolist()[0]
    # It names what was downloaded, not a file in a server temp folder that no longer exists.
    assert audit["on"].tolist()[:2] == ["ragbot-feedback.jsonl (browser download)"] * 2  # done, started


def test_a_stored_record_that_cannot_be_read_is_counted_not_fatal(env):
    from app.config import Settings
    from app.services import Services
    from tests.feedback.contract import make
    from tests.feedback.test_sqlite import spoil_sqlite

    store = Services(Settings()).backends.feedback_store
    for i, name in enumerate(["a", "b", "c"]):
        store.put(make(name, minutes=i))
    spoil_sqlite(store.inner, "b", created_at="0001-01-01T00:00:00+14:00")  # crashed the whole tab before
    at = app()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Answers"] == "2"
    assert any("1 stored record could not be read and is left out" in w.value for w in at.warning)
    at.radio(key="admin_export_format").set_value("jsonl")
    at.button(key="admin_export").click().run()
    assert at.session_state.admin_export_file["count"] == 2
    assert any("left out of the export" in w.value for w in at.warning)
