"""The chat page's features through AppTest, on the real local model, index and SQLite store:
an answer cut short is kept (issue 25 row 8), verified answers (issue 28), regenerate, edit and
resend, the Markdown export, suggested questions, and uploads for admins only."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.chat_parts import conversation_markdown, verified_marker
from app.config import Settings
from app.services import Backends, Identity, Services
from app.ui_text import escape_markdown
from rag.records import Answer
from rag.pipeline import to_citations
from tests.docs import make_pdf

pytestmark = pytest.mark.slow
CHAT_PAGE = Path(__file__).parents[2] / "app" / "app_pages" / "chat.py"
PARKING = "How many car parking spaces do we have?"
TANK = "What is the effective capacity of the sprinkler storage tank?"
PARAPHRASE = "What effective capacity does the sprinkler storage tank have?"
REFERENCE = "The effective capacity of the sprinkler storage tank is 950 m3 [1]."


@pytest.fixture
def indexed(tmp_path, local_model_dir, monkeypatch, shared_models):
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    monkeypatch.setenv("RAGBOT_MAX_NEW_TOKENS", "40")
    root = tmp_path / "docs"
    make_pdf(
        root / "Design" / "criteria.pdf",
        [
            "General requirements.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
        ],
    )
    (root / "Fire").mkdir(parents=True)
    (root / "Fire" / "sprinklers.md").write_text(
        "# Fire protection\n\n## Sprinkler storage tank\n\nThe effective capacity of the sprinkler storage tank "
        "is 950 m3. The tank is refilled from the town main within 8 hours.\n\n"
        "## Sprinkler storage tank\n\nThe tank is a bolted steel tank on a concrete base.\n"
    )
    services = Services(backends=shared_models(Backends(Settings())), identity=Identity(user="ada", role="admin"))
    services.corpus.ingest([root])
    return services


def app(**env) -> AppTest:
    st.cache_resource.clear()  # each test has its own RAGBOT_HOME
    st.cache_data.clear()
    return AppTest.from_file(str(CHAT_PAGE), default_timeout=240)


class CutShort:
    """The real pipeline, cut short after its third token the way Streamlit cuts a run short when
    the user presses Stop or sends another question: a rerun raised inside the stream. ``then``
    is the question sent meanwhile (None: Stop)."""

    def __init__(self, real, then: str | None = None):
        self.real, self.then, self.cuts = real, then, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def stream(self, question, history=(), filters=None, *, params=None):
        tokens = 0
        for event in self.real.stream(question, history, filters, params=params):
            yield event
            tokens += event.kind == "token"
            if tokens == 3 and not self.cuts:
                self.cuts += 1
                if self.then:
                    st.session_state.chat_request = {"question": self.then, "before": None, "verified": True}
                st.rerun()


def cut_short(then: str | None = None) -> CutShort:
    from app.ui import get_backends

    backends = get_backends()  # the page's own (cached) backends
    backends.pipeline = CutShort(backends.pipeline, then)
    return backends.pipeline


def test_stop_keeps_the_question_and_what_was_written_marked_stopped(indexed):
    at = app()
    cut = cut_short()
    at.run()
    at.chat_input(key="chat_input").set_value(PARKING).run()
    assert not at.exception and cut.cuts == 1
    (turn,) = at.session_state.chat_turns
    assert turn.stopped and turn.question == PARKING and turn.answer.strip()
    assert turn.citations and turn.citations[0].source == "Design/criteria.pdf"
    stored = indexed.backends.feedback_store.get(turn.id)
    assert stored.stopped and stored.answer == turn.answer and stored.user == Settings().user
    assert any("Stopped before the end" in c.value for c in at.caption)
    # A stopped answer is rated like any other.
    at.segmented_control(key=f"chat_rating_{turn.id}").set_value(2).run()
    assert indexed.backends.feedback_store.get(turn.id).feedback.rating == 2


def test_a_question_asked_while_an_answer_streams_keeps_the_first_turn_and_the_export_has_both(indexed):
    at = app()
    cut_short(then="And how many trailer positions?")
    at.run()
    at.chat_input(key="chat_input").set_value(PARKING).run()
    assert not at.exception
    first, second = at.session_state.chat_turns
    assert (first.question, first.stopped, first.turn) == (PARKING, True, 1)
    assert (second.question, second.stopped, second.turn) == ("And how many trailer positions?", False, 2)
    assert first.session_id == second.session_id
    assert len(at.chat_message) == 4
    exported = conversation_markdown(at.session_state.chat_turns, user="alice")
    assert "## 1. How many car parking spaces do we have?" in exported
    assert "## 2. And how many trailer positions?" in exported
    assert exported.count("Stopped before the end") == 1
    assert "- [1] Design/criteria.pdf – page 2" in exported
    assert first.answer.strip() in exported


def test_regenerate_and_edit_and_resend_add_turns_and_keep_the_earlier_ones(indexed):
    at = app().run()
    at.chat_input(key="chat_input").set_value(PARKING).run()
    (first,) = at.session_state.chat_turns
    assert [b.label for b in at.button if b.key == f"chat_regen_{first.id}"] == ["Regenerate"]
    at.button(key=f"chat_regen_{first.id}").click().run()
    assert not at.exception
    first_again, second = at.session_state.chat_turns
    assert first_again.id == first.id and second.question == PARKING and second.turn == 2
    assert not [b for b in at.button if b.key == f"chat_regen_{first.id}"], "only the latest answer regenerates"

    at.button(key=f"chat_edit_{first.id}").click().run()
    assert at.text_area(key=f"chat_edit_text_{first.id}").value == PARKING
    at.text_area(key=f"chat_edit_text_{first.id}").set_value("How many trailer positions are there?")
    at.button(key=f"FormSubmitter:chat_edit_form_{first.id}-Send").click().run()
    assert not at.exception
    turns = at.session_state.chat_turns
    assert [t.question for t in turns] == [PARKING, PARKING, "How many trailer positions are there?"]
    stored = sorted(indexed.backends.feedback_store.list().items, key=lambda r: r.turn)
    assert [r.turn for r in stored] == [1, 2, 3] and len({r.session_id for r in stored}) == 1
    # Copy: the answer as plain text in a code box (which has the copy icon).
    assert any(c.value == turns[-1].answer for c in at.code)


def test_a_verified_answer_is_served_first_with_its_marker_and_sources_and_the_model_one_click_away(indexed):
    services = indexed
    hits = services.backends.retriever.search(TANK, k=2)
    made = Answer(
        question=TANK,
        answer="The tank holds 2,450 m3.",
        found=True,
        citations=to_citations(hits),
        model_id="m",
        prompt_version="p",
        latency_ms=900,
    )
    original = services.as_identity(Identity(user="eve", role="engineer")).chat.record_answer(
        made, session_id="s-eve", turn=1
    )
    sme = services.as_identity(Identity(user="sam", role="sme"))
    sme.review.review(original.id, opened=None, status="validated", sme_score=5.0, reference_answer=REFERENCE)

    at = app().run()
    at.chat_input(key="chat_input").set_value(PARAPHRASE).run()
    assert not at.exception
    (turn,) = at.session_state.chat_turns
    assert turn.verified is not None and turn.verified.id == original.id and turn.answer == REFERENCE
    marker = verified_marker(turn)
    assert marker.startswith("Verified by sam on ") and marker.endswith(f"for: '{TANK}'")
    assert [s.value for s in at.success] == [escape_markdown(marker)]  # shown as written, not as markdown
    sources = [e.label for e in at.expander]
    assert "\\[1\\] " + escape_markdown("Fire/sprinklers.md") in sources, "its sources are listed and openable"
    assert "950 m3" in "".join(m.value for e in at.expander for m in e.markdown)
    assert services.backends.feedback_store.get(turn.id).verified.id == original.id

    # Rated like any answer: a "disagree" counts against the verified answer.
    at.segmented_control(key=f"chat_rating_{turn.id}").set_value(1).run()
    assert services.backends.feedback_store.get(original.id).review.disputes == [turn.id]

    # The model's own answer is one click away and becomes the next turn.
    at.button(key=f"chat_model_{turn.id}").click().run()
    assert not at.exception
    verified_turn, model_turn = at.session_state.chat_turns
    assert model_turn.question == PARAPHRASE and model_turn.verified is None and model_turn.turn == 2
    assert model_turn.model_id != "verified-answer"

    # Reopened later, the verified answer still carries its marker.
    session = verified_turn.session_id
    at.button(key="chat_new").click().run()
    at.button(key=f"chat_open_{session}").click().run()
    assert [t.id for t in at.session_state.chat_turns] == [verified_turn.id, model_turn.id]
    assert [s.value for s in at.success] == [escape_markdown(marker)]


def test_suggested_questions_on_an_empty_chat_come_from_the_documents_headings(indexed):
    at = app().run()
    suggestions = [b for b in at.button if b.key and b.key.startswith("chat_suggest_")]
    labels = [b.label for b in suggestions]
    assert "What does sprinklers\\.md say about sprinkler storage tank\\?" in labels, labels
    assert "What does General requirements cover\\?" in labels, "a PDF's first line is its title"
    tank = next(b for b in suggestions if "sprinkler storage tank" in b.label)
    tank.click().run()
    assert not at.exception
    (turn,) = at.session_state.chat_turns
    assert turn.question == "What does sprinklers.md say about sprinkler storage tank?"
    assert not [b for b in at.button if b.key and b.key.startswith("chat_suggest_")], "gone once the chat starts"


@pytest.mark.parametrize(("role", "shown"), [("engineer", False), ("sme", False), ("admin", True)])
def test_only_admins_see_the_upload_box(indexed, monkeypatch, role, shown):
    monkeypatch.setenv("RAGBOT_ROLE", role)
    at = app().run()
    assert not at.exception
    assert any(e.label == "Add documents" for e in at.sidebar.expander) is shown
