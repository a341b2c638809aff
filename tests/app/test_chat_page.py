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
    make_pdf(
        root / "Design" / "criteria.pdf",
        [
            "General requirements.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
        ],
    )
    Services(Settings()).corpus.ingest([root])
    return root


def app() -> AppTest:
    st.cache_resource.clear()  # each test has its own RAGBOT_HOME
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
    passage = "".join(m.value for m in at.expander[0].markdown)
    assert "412 car parking spaces" in passage
    (first,) = at.session_state.chat_turns
    # The answer names its author and is checked against its passages.
    assert any("Answered by SmolLM2" in c.value and "small" in c.value for c in at.caption)
    assert first.grounding is not None and first.grounding.sentences
    if any(s.citation == 1 for s in first.grounding.sentences):  # the sentence it rests on is highlighted
        assert ":yellow-background[" in passage

    # Open the cited page: rendered from the PDF itself.
    at.toggle(key=f"chat_page_{first.id}_1").set_value(True).run()
    assert len(at.image) == 1

    # One click on the statement's scale stores the rating, with no other step.
    rating = at.segmented_control(key=f"chat_rating_{first.id}")
    assert rating.label == "This answer is correct and useful"
    rating.set_value(1).run()
    store = Services().backends.feedback_store
    record = store.get(first.id)
    assert record.feedback.rating == 1 and record.feedback.label == "Strongly disagree"
    assert any("Saved: **Strongly disagree** (1 of 5)" in c.value for c in at.caption)

    # The better answer starts as the answer itself; the form closes once saved.
    at.button(key=f"chat_details_{first.id}").click().run()
    assert at.text_area(key=f"chat_corr_{first.id}").value == record.answer
    at.text_area(key=f"chat_corr_{first.id}").set_value("412 car spaces and 38 trailer positions, page 2.")
    at.text_area(key=f"chat_note_{first.id}").set_value("Trailer count missing.")
    at.button(key=f"FormSubmitter:chat_form_{first.id}-Save").click().run()
    assert not at.exception
    assert not [t for t in at.text_area if t.key == f"chat_corr_{first.id}"]
    assert any("with a better answer and a note" in c.value for c in at.caption)
    record = store.get(first.id)
    assert record.feedback.rating == 1
    assert record.feedback.correction == "412 car spaces and 38 trailer positions, page 2."
    assert record.feedback.note == "Trailer count missing."
    assert record.question == "How many car parking spaces do we have?" and record.turn == 1
    assert record.citations[0].source == "Design/criteria.pdf" and record.citations[0].page == 2

    # Changing the rating later updates the same record and keeps the details.
    at.segmented_control(key=f"chat_rating_{first.id}").set_value(4).run()
    assert store.get(first.id).feedback.rating == 4
    assert store.get(first.id).feedback.note == "Trailer count missing."
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
    assert at.segmented_control(key=f"chat_rating_{first.id}").value == 4, "the reopened answer shows its rating"
    assert at.segmented_control(key=f"chat_rating_{second.id}").value is None


def test_off_topic_question_says_not_found_and_shows_what_was_searched(indexed):
    at = app()
    at.chat_input(key="chat_input").set_value("Who painted the Mona Lisa?").run()
    assert any("do not contain the answer" in m.value for m in at.markdown)
    assert any("Searched, without finding the answer" in m.value for m in at.markdown)
