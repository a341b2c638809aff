"""The chat page through Streamlit's AppTest, on the real local model and index."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.services import Services
from app.config import Settings
from tests.docs import make_pdf

pytestmark = pytest.mark.slow
CHAT_PAGE = Path(__file__).parents[2] / "app" / "app_pages" / "chat.py"


@pytest.fixture
def indexed(tmp_path, local_model_dir, monkeypatch):
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    root = tmp_path / "docs"
    make_pdf(root / "Design" / "criteria.pdf", ["General requirements.", "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions."])
    Services(Settings()).ingest([root])
    return root


def app() -> AppTest:
    from app.ui import get_services

    get_services.clear()  # each test has its own RAGBOT_HOME
    return AppTest.from_file(str(CHAT_PAGE), default_timeout=180).run()


def test_ask_shows_answer_and_sources_then_follow_up_and_new_conversation(indexed):
    at = app()
    assert not at.exception
    assert "1 documents · 2 pages" in at.sidebar.caption[0].value
    at.chat_input(key="chat_input").set_value("How many car parking spaces do we have?").run()
    assert not at.exception
    assert len(at.chat_message) == 2
    labels = [e.label for e in at.expander]
    assert labels[0] == "[1] Design/criteria.pdf – page 2"
    assert "412 car parking spaces" in at.expander[0].text[0].value
    assert [a.question for a in at.session_state.chat_turns] == ["How many car parking spaces do we have?"]

    at.chat_input(key="chat_input").set_value("And trailer positions?").run()
    assert len(at.session_state.chat_turns) == 2 and len(at.chat_message) == 4

    at.button(key="chat_new").click().run()
    assert at.session_state.chat_turns == [] and len(at.chat_message) == 0


def test_off_topic_question_says_not_found_and_shows_what_was_searched(indexed):
    at = app()
    at.chat_input(key="chat_input").set_value("Who painted the Mona Lisa?").run()
    assert any("do not contain the answer" in m.value for m in at.markdown)
    assert any("Searched, without finding the answer" in m.value for m in at.markdown)
