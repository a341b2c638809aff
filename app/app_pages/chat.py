"""The chat page: ask, read the streamed answer, open its sources."""

from __future__ import annotations

import streamlit as st

from app.ui import get_services
from rag.errors import RagError
from rag.models import Answer, Turn

services = get_services()
if "chat_turns" not in st.session_state:
    st.session_state.chat_turns = []  # list[Answer], oldest first


def show_sources(answer: Answer) -> None:
    if not answer.citations:
        st.caption("Nothing in the index matched. Has anything been ingested?")
        return
    st.markdown("**Sources**" if answer.found else "**Searched, without finding the answer**")
    for c in answer.citations:
        with st.expander(f"[{c.n}] {c.label}"):
            st.text(c.text)


with st.sidebar:
    st.subheader("ragbot")
    status = services.corpus_status()
    st.caption(f"{status['documents']} documents · {status['pages']} pages · {status['chunks']} passages")
    if st.button("New conversation", key="chat_new", use_container_width=True):
        st.session_state.chat_turns = []
        st.rerun()

st.title("Ask the documents")
for past in st.session_state.chat_turns:
    with st.chat_message("user"):
        st.markdown(past.question)
    with st.chat_message("assistant"):
        st.markdown(past.answer)
        show_sources(past)

question = st.chat_input("Ask a question about your documents", key="chat_input")
if question:
    with st.chat_message("user"):
        st.markdown(question)
    history = [Turn(question=a.question, answer=a.answer) for a in st.session_state.chat_turns]
    with st.chat_message("assistant"):
        final: list[Answer] = []

        def tokens():
            for event in services.ask_stream(question, history):
                if event.kind == "token":
                    yield event.token
                elif event.kind == "answer":
                    final.append(event.answer)

        try:
            st.write_stream(tokens())
        except RagError as e:
            st.error(str(e))
        if final:
            show_sources(final[0])
            st.caption(f"{final[0].model_id} · {final[0].latency_ms / 1000:.1f} s")
            st.session_state.chat_turns.append(final[0])
