"""Pieces of the chat page: one turn (question, answer, sources, rating and the actions people
know from other chat assistants), the verified-answer marker, the conversation as Markdown, and
bringing the newest turn into view.

Widgets that start a new answer (regenerate, edit and resend, "Show the model's answer", a
suggested question) only leave a request in ``st.session_state.chat_request``; the page answers
it where it answers a typed question, so every answer is streamed, recorded and cut short the
same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import streamlit as st

from app.services import Services
from app.ui_text import escape_markdown, flag_sentences, neutralize_links, sentence_breaks
from feedback.errors import FeedbackError
from feedback.records import LIKERT_LABELS, MAX_CORRECTION_CHARS, MAX_NOTE_CHARS, Interaction
from rag.retrieval import MAX_QUESTION_CHARS

state = st.session_state

# A passage scoring below this share of the best one is shown only on request, unless the
# answer rests on it: five entries of which three are noise hide the two that matter.
WEAK_SHARE = 0.5
MARKER = re.compile(r"\[(\d{1,2})\]")
STOPPED_NOTE = "Stopped before the end: this is what had been written."


def request_answer(
    question: str, *, before: int | None = None, verified: bool = True, regenerate: bool = False
) -> None:
    """Ask ``question`` in this run's answer slot: with the turns before index ``before`` as its
    conversation (all turns when None), looking for a verified answer first when ``verified``,
    sampling a different answer when ``regenerate``."""
    state.chat_request = {"question": question, "before": before, "verified": verified, "regenerate": regenerate}


def verified_marker(turn: Interaction) -> str:
    """ "Verified by <SME> on <date> for: '<original question>'" of a served verified answer."""
    v = turn.verified
    when = f" on {v.reviewed_at:%Y-%m-%d}" if v.reviewed_at else ""
    question = " ".join(v.question.split())
    return f"Verified by {v.reviewer or 'an SME'}{when} for: '{question}'"


def highlighted(text: str, sentence: str | None) -> str:
    """``text`` as markdown with ``sentence`` (where it occurs) on a yellow background."""
    if sentence and sentence in text:
        before, _, after = text.partition(sentence)
        return f"{escape_markdown(before)}:yellow-background[{escape_markdown(sentence)}]{escape_markdown(after)}"
    return escape_markdown(text)


def injection_warning(flagged: Sequence) -> None:
    """One line above an answer whose cited passages hold text addressed to the model."""
    if flagged:
        where = sorted({f"[{f.n}]" if getattr(f, "n", None) else f.source for f in flagged})
        st.warning(
            f"A cited passage ({escape_markdown(', '.join(where))}) holds instructions addressed to the "
            "model; they were not followed. Read that source with care.",
            icon=":material/gpp_maybe:",
        )


def show_answer(services: Services, turn: Interaction) -> None:
    """The answer with its passage markers, numbers found in no passage flagged, and who wrote it."""
    if turn.verified is not None:
        st.success(escape_markdown(verified_marker(turn)), icon=":material/verified:")
        st.markdown(neutralize_links(turn.answer))
        st.caption("An SME checked this answer against its sources; the model was not asked.")
        return
    injection_warning(turn.injection)
    g = turn.grounding
    if turn.stopped:
        st.markdown(neutralize_links(turn.answer) if turn.answer else "*Stopped before anything was written.*")
        st.caption(STOPPED_NOTE if turn.answer else "Stopped while searching the documents.")
    elif not turn.found or g is None or not g.sentences:
        st.markdown(neutralize_links(turn.answer))
    else:
        texts = [s.text for s in g.sentences]
        parts = []
        flagged = flag_sentences(turn.answer, texts, g.unsupported)
        breaks = sentence_breaks(turn.answer, texts)
        for sentence, text, before in zip(g.sentences, flagged, breaks, strict=True):
            if sentence.citation is None:
                text += " :gray-background[no source]"
            elif not MARKER.search(sentence.text):
                text += f" \\[{sentence.citation}\\]"
            parts.append(before + text)
        st.markdown("".join(parts))
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


def show_sources(services: Services, turn: Interaction) -> None:
    if not turn.citations:
        if not turn.stopped:
            st.caption("Nothing in the index matched. Has anything been ingested?")
        return
    g = turn.grounding
    supporting = {s.n: s.text for s in g.supporting} if g else {}
    relied_on = {s.citation for s in g.sentences if s.citation} if g else set()
    relied_on |= {int(n) for n in MARKER.findall(turn.answer)}
    best = max(c.score for c in turn.citations)
    shown = [c for c in turn.citations if c.n in relied_on or c.score >= best * WEAK_SHARE]
    if turn.verified is not None or not shown:
        shown = turn.citations  # an SME checked every passage of a verified answer
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


def _saved(services: Services, turn_id: str, updated: Interaction) -> None:
    state.chat_turns = [updated if t.id == updated.id else t for t in state.chat_turns]
    state[f"chat_queued_{turn_id}"] = services.chat.last_write_queued()
    state.pop(f"chat_error_{turn_id}", None)


def _rate(services: Services, turn_id: str) -> None:
    """One click on a face stores the rating at once; the details stay optional."""
    try:
        _saved(services, turn_id, services.chat.rate(turn_id, state[f"chat_rating_{turn_id}"]))
    except FeedbackError as e:
        state[f"chat_error_{turn_id}"] = str(e)


def _save_details(services: Services, turn_id: str) -> None:
    turn = next(t for t in state.chat_turns if t.id == turn_id)
    try:
        updated = services.chat.rate(
            turn_id, turn.feedback.rating, state[f"chat_corr_{turn_id}"], state[f"chat_note_{turn_id}"]
        )
    except FeedbackError as e:
        state[f"chat_error_{turn_id}"] = str(e)
        return
    _saved(services, turn_id, updated)
    state[f"chat_details_open_{turn_id}"] = False


def feedback_form(services: Services, turn: Interaction) -> None:
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
        args=(services, key),
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
        left.form_submit_button("Save", type="primary", on_click=_save_details, args=(services, key))
        if right.form_submit_button("Cancel", type="tertiary"):
            state[open_key] = False
            st.rerun()


def _resend(turn_id: str, index: int) -> None:
    edited = state.get(f"chat_edit_text_{turn_id}", "")
    state[f"chat_editing_{turn_id}"] = False
    if edited.strip():
        request_answer(edited, before=index)


def show_question(turn: Interaction, index: int) -> None:
    """The question as typed, with "Edit": the edited question is asked as a new turn, answered
    from the conversation as it stood before the original (nothing recorded is overwritten)."""
    st.markdown(escape_markdown(turn.question))  # as typed: a question is not markdown
    editing = f"chat_editing_{turn.id}"
    if not state.get(editing):
        if st.button("Edit", key=f"chat_edit_{turn.id}", type="tertiary", icon=":material/edit:"):
            state[editing] = True
            st.rerun()
        return
    with st.form(f"chat_edit_form_{turn.id}", border=False):
        st.text_area(
            "Edit the question", value=turn.question, key=f"chat_edit_text_{turn.id}", max_chars=MAX_QUESTION_CHARS
        )
        left, right = st.columns([1, 5])
        left.form_submit_button("Send", type="primary", on_click=_resend, args=(turn.id, index))
        if right.form_submit_button("Cancel", type="tertiary"):
            state[editing] = False
            st.rerun()


def answer_actions(turn: Interaction, index: int, *, last: bool) -> None:
    """Copy, and a new answer to the same question: "Regenerate" for the latest model answer,
    "Show the model's answer" for a verified one."""
    with st.container(horizontal=True, gap="small"):
        with st.popover("Copy", icon=":material/content_copy:", type="tertiary"):
            st.caption("The answer as text: the icon at the top right of the box copies it.")
            st.code(turn.answer or " ", language=None, wrap_lines=True)
        if turn.verified is not None:
            if st.button("Show the model's answer", key=f"chat_model_{turn.id}", icon=":material/smart_toy:"):
                request_answer(turn.question, before=index, verified=False)
                st.rerun()
        elif last and st.button("Regenerate", key=f"chat_regen_{turn.id}", type="tertiary", icon=":material/refresh:"):
            request_answer(turn.question, before=index, verified=False, regenerate=True)
            st.rerun()


def show_turn(services: Services, turn: Interaction, index: int, *, last: bool) -> None:
    with st.chat_message("user"):
        show_question(turn, index)
    with st.chat_message("assistant"):
        if turn.verified is not None:
            with st.container(border=True):
                show_answer(services, turn)
                show_sources(services, turn)
        else:
            show_answer(services, turn)
            show_sources(services, turn)
        answer_actions(turn, index, last=last)
        feedback_form(services, turn)


def conversation_markdown(turns: Sequence[Interaction], *, user: str, when: datetime | None = None) -> str:
    """The conversation as a Markdown document: each turn's question, answer (marked when it
    was stopped or verified) and its citations as "file – page N". Text stays readable as typed;
    only links and images are broken (``neutralize_links``), so opening the file fetches nothing."""
    when = when or datetime.now(UTC)
    count = f"{len(turns)} question{'' if len(turns) == 1 else 's'}"
    lines = [
        "# Conversation with ragbot",
        "",
        f"Exported by {neutralize_links(user)} on {when:%Y-%m-%d %H:%M} UTC · {count}",
    ]
    for i, turn in enumerate(turns, 1):
        lines += ["", f"## {i}. {neutralize_links(' '.join(turn.question.split()))}", ""]
        if turn.verified is not None:
            lines += [f"*✓ {neutralize_links(verified_marker(turn))}*", ""]
        lines.append(neutralize_links(turn.answer) if turn.answer.strip() else "*(no answer was written)*")
        if turn.stopped:
            lines += ["", f"*{STOPPED_NOTE}*"]
        if turn.citations:
            lines += ["", "Sources:", ""]
            lines += [f"- [{c.n}] {neutralize_links(c.label)}" for c in turn.citations]
    return "\n".join(lines) + "\n"


def scroll_to_latest_question(nonce: str) -> None:
    """Bring the newest question into view, its answer below it (a reopened conversation or a
    page read further up would otherwise leave the new answer below the fold). The script is
    fixed text; only ``nonce`` (which makes the browser run it again) varies, JSON-quoted."""
    st.html(
        "<script>(function(){"
        f"const nonce = {json.dumps(str(nonce))};"
        "const go = () => {"
        "const users = document.querySelectorAll('[data-testid=\"stChatMessageAvatarUser\"]');"
        "if (!users.length) return false;"
        "const message = users[users.length - 1].closest('[data-testid=\"stChatMessage\"]');"
        "(message || users[users.length - 1]).scrollIntoView({block: 'start'});"
        "document.body.dataset.ragbotScrolled = nonce; return true;};"
        "let tries = 0; const timer = setInterval(() => { if (go() || ++tries > 20) clearInterval(timer); }, 100);"
        "})();</script>",
        unsafe_allow_javascript=True,
    )
