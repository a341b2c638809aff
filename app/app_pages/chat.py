"""The chat page: ask, read the streamed answer (or an SME-verified one), open its sources, rate
it, and what people expect of a chat assistant: stop, copy, regenerate, edit and resend, export
the conversation, suggested questions, and (admins) upload documents."""

from __future__ import annotations

import time
import uuid

import streamlit as st

from app import chat_parts as parts
from app.services.corpus import MAX_UPLOAD_MB, UPLOAD_TYPES, UploadRefused
from app.ui import get_services, models_ready
from app.ui_text import counted, escape_markdown, neutralize_stream
from feedback.errors import FeedbackError
from rag.errors import RagError
from rag.records import Turn

services = get_services()
models_ready()
state = st.session_state
state.setdefault("chat_session_id", uuid.uuid4().hex)
state.setdefault("chat_turns", [])  # list[Interaction], oldest first
# "scroll" (bring the newest question into view) and "notice": kept in a dict so that the end of
# an interrupted run can set them without touching st.session_state (see answer()).
flags = state.setdefault("chat_flags", {})


@st.cache_data(ttl=30, show_spinner=False)
def corpus_status():
    """The index's size for the sidebar; a full scan, so at most every 30 seconds."""
    return services.corpus.status()


@st.cache_data(ttl=600, show_spinner=False)
def suggested_questions(documents: int, chunks: int) -> list[str]:
    """Questions from the indexed documents' headings, read again when the index changes size."""
    try:
        return services.chat.suggested_questions(limit=4)
    except RagError:
        return []


def next_turn() -> int:
    return max((t.turn for t in state.chat_turns), default=0) + 1


def open_conversation(session_id: str, turns: list) -> None:
    state.chat_session_id = session_id
    state.chat_turns = turns
    flags["scroll"] = bool(turns)


def upload_box() -> bool:
    """Admins add documents from the browser: the same ingest and report as ``ragbot ingest``.
    True when an upload ran: the index may have changed."""
    with st.expander("Add documents", icon=":material/upload_file:"):
        files = st.file_uploader(
            f"{', '.join(t.upper() for t in UPLOAD_TYPES)}; up to {MAX_UPLOAD_MB} MB each",
            type=list(UPLOAD_TYPES),
            accept_multiple_files=True,
            max_upload_size=MAX_UPLOAD_MB,
            key="chat_upload",
        )
        if not st.button("Add to the index", key="chat_upload_go", disabled=not files, width="stretch"):
            return False
        try:
            with st.spinner("Reading and indexing…"):
                done = services.corpus.upload([(f.name, f.getvalue()) for f in files])
        except (UploadRefused, RagError) as e:
            st.error(str(e))
            return False
        r = done.report
        message = (
            f"{len(done.saved)} uploaded: {len(r.indexed)} indexed, {r.unchanged} unchanged, "
            f"{len(r.failed)} failed; {counted(r.pages, 'page')}, {counted(r.chunks, 'passage')} in {r.seconds:.1f} s"
        )
        (st.warning if r.failed else st.success)(escape_markdown(message))
        for issue in r.failed + r.skipped:
            st.caption(escape_markdown(f"{issue.source}: {issue.reason}"))
        corpus_status.clear()
        suggested_questions.clear()
        return True


with st.sidebar:
    status = corpus_status()
    counts = st.empty()  # written below, once an upload has changed the index
    if st.button("New conversation", key="chat_new", width="stretch", icon=":material/add_comment:"):
        open_conversation(uuid.uuid4().hex, [])
        st.rerun()
    if state.chat_turns:
        turns_now = list(state.chat_turns)
        st.download_button(
            "Export this conversation",
            data=lambda: parts.conversation_markdown(turns_now, user=services.identity.user).encode(),
            file_name=f"ragbot-conversation-{time.strftime('%Y%m%d-%H%M')}.md",
            mime="text/markdown",
            key="chat_export",
            icon=":material/download:",
            width="stretch",
            help="Every question, answer and source of this conversation as a Markdown file.",
        )
    if services.identity.role == "admin" and upload_box():
        status = corpus_status()  # the index as the upload left it, in this run (not at a reload)
    counts.caption(
        f"{counted(status.documents, 'document')} · {counted(status.pages, 'page')} · "
        f"{counted(status.chunks, 'passage')}"
    )
    try:
        earlier = [s for s in services.chat.conversations() if s.session_id != state.chat_session_id]
    except FeedbackError as e:
        earlier = []
        st.caption(f"Earlier conversations are unavailable: {e}")
    if earlier:
        st.caption("Earlier conversations")
        for summary in earlier:
            title = " ".join(summary.first_question.split())  # one line on the button
            title = title if len(title) <= 40 else title[:39] + "…"
            if st.button(
                escape_markdown(title),
                key=f"chat_open_{summary.session_id}",
                width="stretch",
                help=f"{summary.turns} questions, {summary.started_at:%Y-%m-%d %H:%M}",
            ):
                try:
                    open_conversation(summary.session_id, services.chat.conversation(summary.session_id))
                except FeedbackError as e:
                    st.error(f"That conversation cannot be loaded now: {e}")
                else:
                    st.rerun()

st.title("Ask the documents")
if notice := flags.pop("notice", None):
    st.warning(notice)
# A run cut short by a click records its turn while it unwinds; a run that starts meanwhile
# waits for that (bounded), or it would draw the conversation without the stopped turn.
answering_until = time.monotonic() + 10
while flags.get("answering") and time.monotonic() < answering_until:
    time.sleep(0.05)
flags.pop("answering", None)
if not state.chat_turns and status.chunks:
    suggestions = suggested_questions(status.documents, status.chunks)
    if suggestions:
        st.caption("Try one of these, drawn from the indexed documents' sections:")
        with st.container(horizontal=True, gap="small"):
            for i, suggestion in enumerate(suggestions):
                if st.button(escape_markdown(suggestion), key=f"chat_suggest_{i}", icon=":material/lightbulb:"):
                    parts.request_answer(suggestion)
for i, past in enumerate(state.chat_turns):
    parts.show_turn(services, past, i, last=i == len(state.chat_turns) - 1)


def answer(question: str, before: int | None, use_verified: bool, regenerate: bool = False) -> None:
    """Answer ``question`` as the next turn: the verified answer it asks for, or the model's
    answer streamed with a Stop button. A run cut short (Stop, another question, any click)
    records what was written, marked stopped, so the turn stays in the conversation."""
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    parts.scroll_to_latest_question(uuid.uuid4().hex)
    earlier = state.chat_turns if before is None else state.chat_turns[:before]
    # A stopped answer is a fragment: not a turn to lean on, nor text a new answer "repeats".
    history = [Turn(question=t.question, answer=t.answer) for t in earlier if not t.stopped]
    try:
        run = services.chat.answer(
            question,
            history,
            session_id=state.chat_session_id,
            turn=next_turn(),
            verified=use_verified,
            regenerate=regenerate,
        )
    except RagError as e:
        st.error(str(e))
        return
    if run.served is not None:
        state.chat_turns.append(run.served)
        flags["scroll"] = True
        st.rerun()
    if run.notice:
        st.warning(run.notice)
    recorded, failed = None, None
    # Reading or writing st.session_state is a point where Streamlit ends a run it was asked to
    # end; the end of an interrupted run below must not be cut short itself, so it only uses these.
    turns = state.chat_turns
    flags["answering"] = True

    def tokens():
        for event in run:
            if event.kind == "token":
                status_line.empty()
                yield event.token
            elif event.kind == "status":
                status_line.caption(event.token)
            elif event.kind == "citations":
                files = dict.fromkeys(c.source for c in event.citations)
                sources_line.caption(
                    f"Found {len(event.citations)} passages in {len(files)} documents: "
                    + escape_markdown(", ".join(f.rpartition("/")[2] for f in files))
                    if event.citations
                    else "Nothing in the index matched."
                )

    try:
        with st.chat_message("assistant"):
            stop_slot = st.empty()
            stop_slot.button("Stop", key="chat_stop", icon=":material/stop_circle:", help="Stop writing this answer")
            status_line = st.empty()
            sources_line = st.empty()
            status_line.caption("Searching the documents…")
            try:
                # The service records the answer as the stream ends: no element comes between.
                st.write_stream(neutralize_stream(tokens()))
            except (RagError, FeedbackError) as e:
                failed = e
            stop_slot.empty()
    finally:
        # Cut short (Stop, a new question, any click), Streamlit is ending this run: closing it
        # keeps the turn with what was written; only the store and session state are touched here.
        try:
            recorded = run.close()
        except FeedbackError as e:
            flags["notice"] = f"The stopped answer could not be recorded: {e}"
        if recorded is not None:
            turns.append(recorded)  # a conversation switched meanwhile has a list of its own
            flags["scroll"] = True
        flags.pop("answering", None)
    if isinstance(failed, RagError):
        st.error(str(failed))
    elif failed is not None:
        st.warning(f"The answer could not be recorded: {failed}")
        for c in run.citations:
            st.caption(f"\\[{c.n}\\] {escape_markdown(c.label)}")
    else:
        st.rerun()  # redraw through the history loop, with sources and the rating widget


typed = st.chat_input("Ask a question about your documents", key="chat_input")
pending = state.pop("chat_request", None)  # a click (suggestion, regenerate, edit…) asked for an answer
request = {"question": typed, "before": None, "verified": True} if typed else pending
if request:
    flags.pop("scroll", None)
    answer(request["question"], request["before"], request["verified"], request.get("regenerate", False))
elif flags.pop("scroll", False) and state.chat_turns:
    parts.scroll_to_latest_question(state.chat_turns[-1].id)
