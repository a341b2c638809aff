"""The chat page: ask, read the streamed answer, open its sources, rate the answer."""

from __future__ import annotations

import re
import uuid

import streamlit as st

from app.ui import get_services, models_ready
from app.ui_text import escape_markdown, flag_sentences, neutralize_links, neutralize_stream
from feedback.errors import FeedbackError
from feedback.records import LIKERT_LABELS, MAX_CORRECTION_CHARS, MAX_NOTE_CHARS, Interaction
from rag.errors import RagError
from rag.models import Turn

services = get_services()
models_ready()
state = st.session_state
state.setdefault("chat_session_id", uuid.uuid4().hex)
state.setdefault("chat_turns", [])  # list[Interaction], oldest first


@st.cache_data(ttl=30, show_spinner=False)
def corpus_status():
    """The index's size for the sidebar; a full scan, so at most every 30 seconds."""
    return services.corpus.status()


# A passage scoring below this share of the best one is shown only on request, unless the
# answer rests on it: five entries of which three are noise hide the two that matter.
WEAK_SHARE = 0.5
MARKER = re.compile(r"\[(\d{1,2})\]")


def highlighted(text: str, sentence: str | None) -> str:
    """``text`` as markdown with ``sentence`` (where it occurs) on a yellow background."""
    if sentence and sentence in text:
        before, _, after = text.partition(sentence)
        return f"{escape_markdown(before)}:yellow-background[{escape_markdown(sentence)}]{escape_markdown(after)}"
    return escape_markdown(text)


def show_answer(turn: Interaction) -> None:
    """The answer with its passage markers, numbers found in no passage flagged, and who wrote it."""
    g = turn.grounding
    if not turn.found or g is None or not g.sentences:
        st.markdown(neutralize_links(turn.answer))
    else:
        parts = []
        flagged = flag_sentences(turn.answer, [s.text for s in g.sentences], g.unsupported)
        for sentence, text in zip(g.sentences, flagged, strict=True):
            if sentence.citation is None:
                text += " :gray-background[no source]"
            elif not MARKER.search(sentence.text):
                text += f" \\[{sentence.citation}\\]"
            parts.append(text)
        st.markdown(" ".join(parts))
    if g and g.unsupported:
        st.warning(
            f"Check before you use this answer: {', '.join(g.unsupported)} "
            f"{'appears' if len(g.unsupported) == 1 else 'appear'} in none of its sources.",
            icon=":material/warning:",
        )
    if g and g.repeated:
        st.warning(
            "Check before you use this answer: it repeats an earlier answer of this conversation "
            "that none of its sources supports (marked 'no source').",
            icon=":material/warning:",
        )
    st.caption(f"Answered by {escape_markdown(services.chat.model_label(turn.model_id))} — check the sources.")


def show_sources(turn: Interaction) -> None:
    if not turn.citations:
        st.caption("Nothing in the index matched. Has anything been ingested?")
        return
    g = turn.grounding
    supporting = {s.n: s.text for s in g.supporting} if g else {}
    relied_on = {s.citation for s in g.sentences if s.citation} if g else set()
    relied_on |= {int(n) for n in MARKER.findall(turn.answer)}
    best = max(c.score for c in turn.citations)
    shown = [c for c in turn.citations if c.n in relied_on or c.score >= best * WEAK_SHARE]
    if not shown:
        shown = turn.citations
    hidden = len(turn.citations) - len(shown)
    if hidden and st.toggle(
        f"Also show {hidden} weaker passage{'' if hidden == 1 else 's'}", key=f"chat_all_{turn.id}"
    ):
        shown = turn.citations
    st.markdown("**Sources**" if turn.found else "**Searched, without finding the answer**")
    by_file: dict[str, list] = {}
    for c in shown:
        by_file.setdefault(c.source, []).append(c)
    for source, passages in by_file.items():
        numbers = " ".join(f"\\[{c.n}\\]" for c in passages)
        pages = sorted({c.page for c in passages if c.page is not None})
        where = f" – page{'s' if len(pages) > 1 else ''} {', '.join(map(str, pages))}" if pages else ""
        with st.expander(f"{numbers} {escape_markdown(source)}{where}"):
            path = services.corpus.locate_source(source)
            for c in passages:
                page = f"page {c.page} · " if c.page is not None else ""
                st.markdown(f"**\\[{c.n}\\]** {page}score {c.score:.3f}")
                st.markdown(highlighted(c.text, supporting.get(c.n)))
                if (
                    path is not None
                    and c.page is not None
                    and st.toggle(f"Show page {c.page}", key=f"chat_page_{turn.id}_{c.n}")
                ):
                    image = services.corpus.render_page(source, c.page, highlight=supporting.get(c.n))
                    if image:
                        st.image(image, caption=f"{source} – page {c.page}")
            if path is None:
                st.caption("The file is no longer where it was ingested from.")
            else:
                st.download_button(
                    f"Download {escape_markdown(path.name)}",
                    data=path.read_bytes,  # read only when clicked, not on every rerun
                    file_name=path.name,
                    key=f"chat_dl_{turn.id}_{passages[0].n}",
                )


RATING_STATEMENT = "This answer is correct and useful"
FACES = {
    1: ":material/sentiment_very_dissatisfied:",
    2: ":material/sentiment_dissatisfied:",
    3: ":material/sentiment_neutral:",
    4: ":material/sentiment_satisfied:",
    5: ":material/sentiment_very_satisfied:",
}


def _replace_turn(updated: Interaction) -> None:
    state.chat_turns = [updated if t.id == updated.id else t for t in state.chat_turns]


def _saved(turn_id: str, updated: Interaction) -> None:
    _replace_turn(updated)
    state[f"chat_queued_{turn_id}"] = services.chat.last_write_queued()
    state.pop(f"chat_error_{turn_id}", None)


def _rate(turn_id: str) -> None:
    """One click on a face stores the rating at once; the details stay optional."""
    try:
        _saved(turn_id, services.chat.rate(turn_id, state[f"chat_rating_{turn_id}"]))
    except FeedbackError as e:
        state[f"chat_error_{turn_id}"] = str(e)


def _save_details(turn_id: str) -> None:
    turn = next(t for t in state.chat_turns if t.id == turn_id)
    try:
        updated = services.chat.rate(
            turn_id, turn.feedback.rating, state[f"chat_corr_{turn_id}"], state[f"chat_note_{turn_id}"]
        )
    except FeedbackError as e:
        state[f"chat_error_{turn_id}"] = str(e)
        return
    _saved(turn_id, updated)
    state[f"chat_details_open_{turn_id}"] = False


def feedback_form(turn: Interaction) -> None:
    key = turn.id
    stored = turn.feedback.rating if turn.feedback is not None else None
    st.segmented_control(
        RATING_STATEMENT,
        options=list(LIKERT_LABELS),
        format_func=lambda r: f"{FACES[r]} {LIKERT_LABELS[r]}",
        default=stored,
        required=stored is not None,  # a rating can be changed, never withdrawn by a second click
        key=f"chat_rating_{key}",
        on_change=_rate,
        args=(key,),
    )
    if error := state.get(f"chat_error_{key}"):
        st.error(error)
    fb = turn.feedback
    if fb is None:
        st.caption("Rate the statement above: one click saves your rating.")
        return
    details = [what for what, value in (("a better answer", fb.correction), ("a note", fb.note)) if value]
    saved = f"**{fb.label}** ({fb.rating} of 5)" + (f" with {' and '.join(details)}" if details else "")
    if state.get(f"chat_queued_{key}"):
        st.info(f"Saved on this machine: {saved}. It will reach the feedback store when it is back.", icon="💾")
    else:
        st.caption(f"✓ Saved: {saved}.")
    open_key = f"chat_details_open_{key}"
    if not state.get(open_key):
        label = "Edit the better answer or note" if details else "Add a better answer or a note"
        if st.button(label, key=f"chat_details_{key}", type="tertiary", icon=":material/edit_note:"):
            state[open_key] = True
            st.rerun()
        return
    with st.form(f"chat_form_{key}", border=True):
        st.text_area(
            "Better answer (edit the answer into what it should have said)",
            key=f"chat_corr_{key}",
            max_chars=MAX_CORRECTION_CHARS,
            value=fb.correction or turn.answer,
            height=160,
        )
        st.text_area(
            "Note (optional: what was wrong, where the answer really is)",
            key=f"chat_note_{key}",
            max_chars=MAX_NOTE_CHARS,
            value=fb.note or "",
            height=80,
        )
        left, right = st.columns([1, 5])
        left.form_submit_button("Save", type="primary", on_click=_save_details, args=(key,))
        if right.form_submit_button("Cancel", type="tertiary"):
            state[open_key] = False
            st.rerun()


with st.sidebar:
    status = corpus_status()
    st.caption(f"{status.documents} documents · {status.pages} pages · {status.chunks} passages")
    if st.button("New conversation", key="chat_new", width="stretch"):
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
            title = " ".join(summary.first_question.split())  # one line on the button
            title = title if len(title) <= 40 else title[:39] + "…"
            if st.button(
                escape_markdown(title),
                key=f"chat_open_{summary.session_id}",
                width="stretch",
                help=f"{summary.turns} questions, {summary.started_at:%Y-%m-%d %H:%M}",
            ):
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
        st.markdown(escape_markdown(past.question))  # as typed: a question is not markdown
    with st.chat_message("assistant"):
        show_answer(past)
        show_sources(past)
        feedback_form(past)

question = st.chat_input("Ask a question about your documents", key="chat_input")
if question:
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    history = [Turn(question=t.question, answer=t.answer) for t in state.chat_turns]
    with st.chat_message("assistant"):
        final = []
        # What is happening shows at once, the sources as soon as they are found, then the text.
        status_line = st.empty()
        sources_line = st.empty()
        status_line.caption("Searching the documents…")

        def tokens():
            for event in services.chat.ask_stream(question, history):
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
                elif event.kind == "answer":
                    final.append(event.answer)

        try:
            st.write_stream(neutralize_stream(tokens()))
        except RagError as e:
            st.error(str(e))
        if final:
            try:
                turn = services.chat.record_answer(
                    final[0], session_id=state.chat_session_id, turn=len(state.chat_turns) + 1
                )
            except FeedbackError as e:
                st.warning(f"The answer could not be recorded: {e}")
                for c in final[0].citations:
                    st.caption(f"\\[{c.n}\\] {escape_markdown(c.label)}")
            else:
                state.chat_turns.append(turn)
                st.rerun()  # redraw through the history loop, with sources and the rating widget
