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
    assert "1 document · 2 pages · " in at.sidebar.caption[0].value
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


HOSTILE_FILE = "**bold** [x](javascript:alert(1)).pdf"
HOSTILE_QUESTION = "![q](http://attacker.example/q.png) How many **dock doors**?\n    # and ramps"
ANSWER = "There are 32 dock doors [1]. Each is 1.2 m wide, with 2 ramps [1]."


@pytest.fixture
def recorded(tmp_path, local_model_dir, monkeypatch, shared_models):
    """A conversation recorded earlier: a question typed with markdown in it, about a document
    whose file name holds markdown, answered with a number ("2") found in no passage."""
    from app.services import Backends
    from feedback.records import CitationRecord, GroundingRecord, Interaction, SentenceRecord

    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    root = tmp_path / "docs"
    make_pdf(root / "Design" / HOSTILE_FILE, ["General.", "The east elevation has 32 dock doors, 1.2 m wide."])
    services = Services(backends=shared_models(Backends(Settings())))
    services.corpus.ingest([root])
    settings = Settings()
    interaction = Interaction(
        session_id="earlier",
        user=settings.user,
        role=settings.role,
        turn=1,
        question=HOSTILE_QUESTION,
        answer=ANSWER,
        citations=[
            CitationRecord(
                n=1,
                source=f"Design/{HOSTILE_FILE}",
                page=2,
                chunk_id="c1",
                score=0.9,
                text="32 dock doors, 1.2 m wide.",
            )
        ],
        model_id="test-model",
        prompt_version="v1",
        grounding=GroundingRecord(
            unsupported=["2"],
            sentences=[
                SentenceRecord(text="There are 32 dock doors [1].", citation=1),
                SentenceRecord(text="Each is 1.2 m wide, with 2 ramps [1].", citation=1),
            ],
        ),
    )
    services.backends.feedback_store.put(interaction)
    return interaction


def test_typed_text_and_file_names_are_shown_as_typed_and_only_whole_numbers_flagged(recorded):
    at = app()
    assert not at.exception
    # The earlier conversation's button: the question on one line, as typed.
    title = " ".join(HOSTILE_QUESTION.split())[:39] + "…"
    assert at.button(key="chat_open_earlier").label == escape_markdown(title)
    at.button(key="chat_open_earlier").click().run()
    assert not at.exception
    question = at.chat_message[0].markdown[0].value
    assert question == escape_markdown(HOSTILE_QUESTION)
    assert "](" not in question and "**" not in question and "\n    " not in question
    answer = at.chat_message[1].markdown[0].value
    assert "32 dock doors" in answer and "1.2 m wide" in answer  # not "3 2", not "1. 2"
    assert ":orange-background[2] ramps" in answer and answer.count(":orange-background[") == 1
    (download,) = [b for b in at.get("download_button") if b.label.startswith("Download ")]
    assert download.label == f"Download {escape_markdown(HOSTILE_FILE)}"
    assert "**" not in download.label and "](" not in download.label
