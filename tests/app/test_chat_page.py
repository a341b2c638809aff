"""The chat page through Streamlit's AppTest, on the real local model and index."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.services import Services
from app.config import Settings
from app.ui_text import escape_markdown
from tests.docs import make_pdf

pytestmark = pytest.mark.slow
CHAT_PAGE = Path(__file__).parents[2] / "app" / "app_pages" / "chat.py"


@pytest.fixture
def indexed(tmp_path, local_model_dir, monkeypatch):
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    root = tmp_path / "docs"
    make_pdf(root / "Design" / "criteria.pdf", ["General requirements.", "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions."])
    Services(Settings()).corpus.ingest([root])
    return root


def app() -> AppTest:
    from app.ui import get_backends

    get_backends.clear()  # each test has its own RAGBOT_HOME
    st.cache_data.clear()
    return AppTest.from_file(str(CHAT_PAGE), default_timeout=180).run()


def test_ask_rate_correct_rerate_follow_up_and_new_conversation(indexed):
    from app.services import Services

    at = app()
    assert not at.exception
    assert "1 documents · 2 pages" in at.sidebar.caption[0].value
    at.chat_input(key="chat_input").set_value("How many car parking spaces do we have?").run()
    assert not at.exception
    assert len(at.chat_message) == 2
    labels = [e.label for e in at.expander]
    assert labels[0] == "\\[1\\] " + escape_markdown("Design/criteria.pdf – page 2")  # shown as "[1] Design/…"
    assert "412 car parking spaces" in at.expander[0].text[0].value
    (first,) = at.session_state.chat_turns

    # Open the cited page: rendered from the PDF itself.
    at.toggle(key=f"chat_page_{first.id}_1").set_value(True).run()
    assert len(at.image) == 1

    # Rate with the faces (0–4 on the widget, 1–5 in the record), write a correction and a note.
    at.feedback[0].set_value(0).run()
    assert any("Strongly disagree" in c.value for c in at.caption)
    at.text_area(key=f"chat_corr_{first.id}").set_value("412 car spaces and 38 trailer positions, page 2.")
    at.text_input(key=f"chat_note_{first.id}").set_value("Trailer count missing.")
    at.button(key=f"chat_submit_{first.id}").click().run()
    assert "Strongly disagree" in at.success[0].value
    store = Services().backends.feedback_store
    record = store.get(first.id)
    assert record.feedback.rating == 1 and record.feedback.label == "Strongly disagree"
    assert record.feedback.correction == "412 car spaces and 38 trailer positions, page 2."
    assert record.feedback.note == "Trailer count missing."
    assert record.question == "How many car parking spaces do we have?" and record.turn == 1
    assert record.citations[0].source == "Design/criteria.pdf" and record.citations[0].page == 2

    # Changing the rating later updates the same record.
    at.feedback[0].set_value(3).run()
    at.button(key=f"chat_submit_{first.id}").click().run()
    assert store.get(first.id).feedback.rating == 4
    assert len(store.list().items) == 1

    at.chat_input(key="chat_input").set_value("And trailer positions?").run()
    assert len(at.session_state.chat_turns) == 2 and len(at.chat_message) == 4
    second = at.session_state.chat_turns[1]
    assert store.get(second.id).turn == 2 and store.get(second.id).session_id == record.session_id

    at.button(key="chat_new").click().run()
    assert at.session_state.chat_turns == [] and len(at.chat_message) == 0
    # The earlier conversation is listed and can be reopened.
    at.button(key=f"chat_open_{record.session_id}").click().run()
    assert [t.id for t in at.session_state.chat_turns] == [first.id, second.id]
    assert at.feedback[0].value == 3, "the reopened answer shows its rating (Agree = faces 3)"
    assert at.feedback[1].value is None


def test_off_topic_question_says_not_found_and_shows_what_was_searched(indexed):
    at = app()
    at.chat_input(key="chat_input").set_value("Who painted the Mona Lisa?").run()
    assert any("do not contain the answer" in m.value for m in at.markdown)
    assert any("Searched, without finding the answer" in m.value for m in at.markdown)
