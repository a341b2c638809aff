"""The chat page: ask, read the streamed answer, open its sources, rate the answer."""

from __future__ import annotations

import uuid

import streamlit as st

from app.ui import get_services
from app.ui_text import escape_markdown, neutralize_links, neutralize_stream
from feedback.errors import FeedbackError
from feedback.records import LIKERT_LABELS, MAX_CORRECTION_CHARS, MAX_NOTE_CHARS, Interaction
from rag.errors import RagError
from rag.models import Turn

services = get_services()
state = st.session_state
state.setdefault("chat_session_id", uuid.uuid4().hex)
state.setdefault("chat_turns", [])  # list[Interaction], oldest first


@st.cache_data(ttl=30, show_spinner=False)
def corpus_status():
    """The index's size for the sidebar; a full scan, so at most every 30 seconds."""
    return services.corpus.status()


def show_sources(turn: Interaction) -> None:
    if not turn.citations:
        st.caption("Nothing in the index matched. Has anything been ingested?")
        return
    st.markdown("**Sources**" if turn.found else "**Searched, without finding the answer**")
    for c in turn.citations:
        with st.expander(f"\\[{c.n}\\] {escape_markdown(c.label)}"):
            st.markdown("Passage given to the model:")
            st.text(c.text)
            path = services.corpus.locate_source(c.source)
            if path is None:
                st.caption("The file is no longer where it was ingested from.")
                continue
            if c.page is not None and st.toggle("Show the page", key=f"chat_page_{turn.id}_{c.n}"):
                image = services.corpus.render_page(c.source, c.page)
                if image:
                    st.image(image, caption=c.label)
            st.download_button(
                f"Download {escape_markdown(path.name)}" + (f" (see page {c.page})" if c.page else ""),
                data=path.read_bytes,  # read only when clicked, not on every rerun
                file_name=path.name,
                key=f"chat_dl_{turn.id}_{c.n}",
            )


def feedback_form(turn: Interaction) -> None:
    key = turn.id
    # A reopened conversation shows the rating already given (faces 0–4 are Likert 1–5).
    stored = turn.feedback.rating - 1 if turn.feedback is not None else None
    faces = st.feedback("faces", key=f"chat_fb_{key}", default=stored)
    if faces is None:
        st.caption("How good is this answer? Rate it to help improve ragbot.")
        return
    st.caption(f"Your rating: **{LIKERT_LABELS[faces + 1]}**")
    correction = st.text_area(
        "Better answer (optional)", key=f"chat_corr_{key}", max_chars=MAX_CORRECTION_CHARS,
        value=(turn.feedback.correction or "") if turn.feedback else "",
    )
    note = st.text_input(
        "Note (optional)", key=f"chat_note_{key}", max_chars=MAX_NOTE_CHARS,
        value=(turn.feedback.note or "") if turn.feedback else "",
    )
    if st.button("Submit feedback", key=f"chat_submit_{key}"):
        try:
            updated = services.chat.rate(turn.id, faces + 1, correction, note)
        except FeedbackError as e:
            st.error(str(e))
            return
        state.chat_turns = [updated if t.id == updated.id else t for t in state.chat_turns]
        if services.chat.last_write_queued():
            st.info(f"Saved on this machine as “{updated.feedback.label}”; it will reach the feedback store when it is back.")
        else:
            st.success(f"Thanks — saved as “{updated.feedback.label}”.")


with st.sidebar:
    st.subheader("ragbot")
    status = corpus_status()
    st.caption(f"{status.documents} documents · {status.pages} pages · {status.chunks} passages")
    if st.button("New conversation", key="chat_new", use_container_width=True):
        state.chat_session_id = uuid.uuid4().hex
        state.chat_turns = []
        st.rerun()
    try:
        earlier = [s for s in services.chat.conversations() if s.session_id != state.chat_session_id]
    except FeedbackError as e:
        earlier = []
        st.caption(f"Earlier conversations are unavailable: {e}")
    if earlier:
        st.caption("Earlier conversations")
        for summary in earlier:
            title = summary.first_question if len(summary.first_question) <= 40 else summary.first_question[:39] + "…"
            if st.button(title, key=f"chat_open_{summary.session_id}", use_container_width=True, help=f"{summary.turns} questions, {summary.started_at:%Y-%m-%d %H:%M}"):
                try:
                    state.chat_turns = services.chat.conversation(summary.session_id)
                    state.chat_session_id = summary.session_id
                except FeedbackError as e:
                    st.error(f"That conversation cannot be loaded now: {e}")
                else:
                    st.rerun()

st.title("Ask the documents")
for past in state.chat_turns:
    with st.chat_message("user"):
        st.markdown(past.question)
    with st.chat_message("assistant"):
        st.markdown(neutralize_links(past.answer))
        show_sources(past)
        feedback_form(past)

question = st.chat_input("Ask a question about your documents", key="chat_input")
if question:
    with st.chat_message("user"):
        st.markdown(question)
    history = [Turn(question=t.question, answer=t.answer) for t in state.chat_turns]
    with st.chat_message("assistant"):
        final = []

        def tokens():
            for event in services.chat.ask_stream(question, history):
                if event.kind == "token":
                    yield event.token
                elif event.kind == "answer":
                    final.append(event.answer)

        try:
            st.write_stream(neutralize_stream(tokens()))
        except RagError as e:
            st.error(str(e))
        if final:
            try:
                turn = services.chat.record_answer(final[0], session_id=state.chat_session_id, turn=len(state.chat_turns) + 1)
            except FeedbackError as e:
                st.warning(f"The answer could not be recorded: {e}")
                for c in final[0].citations:
                    st.caption(f"\\[{c.n}\\] {escape_markdown(c.label)}")
            else:
                state.chat_turns.append(turn)
                st.rerun()  # redraw through the history loop, with sources and the rating widget
