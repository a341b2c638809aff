"""The Review page's open answer: the question, the answer beside its sources, the user's rating,
correction and note, the AI judge's score and reason, and the SME's validate / override / reject."""

from __future__ import annotations

import streamlit as st

from app.ui_text import escape_markdown, neutralize_links
from feedback.errors import Conflict, FeedbackError
from feedback.records import LIKERT_LABELS, Interaction

state = st.session_state


def show_answer(services, record: Interaction, ids: list[str], index: int, *, total: int, at_end: bool) -> None:
    """``record``, the answer at ``index`` of the listed ``ids``, with the review's actions; a done
    review opens the answer after it (the next page's first when it was the last, ``at_end``)."""
    opened_key = f"review_opened_{record.id}"
    if opened_key not in state:  # the review as first seen: later writes are checked against it
        state[opened_key] = record.review.reviewed_at
    st.markdown(f"#### {escape_markdown(record.question)}")
    st.caption(
        f"{escape_markdown(record.user)} · {record.created_at:%Y-%m-%d %H:%M} UTC · {escape_markdown(record.model_id)}"
        f" · turn {record.turn} · review: **{record.review.status}**"
        + (f" by {escape_markdown(record.review.reviewer)}" if record.review.reviewer else "")
    )
    if record.verified:
        st.info(f"Served the verified answer for: {escape_markdown(record.verified.question)}")
    if record.review.disputes:
        st.warning(f"{len(record.review.disputes)} people rated this verified answer 1–2 where it was served.")
    st.markdown(neutralize_links(record.answer))
    user_col, ai_col = st.columns(2)
    with user_col:
        if record.feedback:
            st.metric("User rating", f"{record.feedback.rating} / 5")
            st.caption(LIKERT_LABELS[record.feedback.rating])
            if record.feedback.correction:
                st.markdown("**Their better answer**")
                st.markdown(neutralize_links(record.feedback.correction))
            if record.feedback.note:
                st.markdown(f"**Their note:** {neutralize_links(record.feedback.note)}")
        else:
            st.metric("User rating", "–")
    with ai_col:
        judge = record.judge
        st.metric("AI score", "–" if not judge or judge.score is None else f"{judge.score:.1f} / 5")
        if judge and judge.reason:
            st.markdown(f"**Why:** {neutralize_links(judge.reason)}")
        if judge and judge.score is None:
            st.warning("The judge's reply had no usable score; it is kept below.")
        if judge and (judge.thinking or judge.score is None):
            with st.expander("The judge's reasoning" if judge.thinking else "The judge's raw reply"):
                st.text(judge.thinking or judge.raw)
    st.markdown("**Sources the answer was given**")
    for c in record.citations:
        with st.expander(escape_markdown(f"[{c.n}] {c.label}")):
            st.text(c.text)

    st.divider()
    # Empty until the SME types a score (or gave one before): a pre-filled number would be
    # saved as theirs by a Reject that never touched it.
    st.number_input(
        "Your score (0–5)", 0.0, 5.0, record.review.sme_score, 0.5, key=f"review_score_{record.id}",
        placeholder="none given",
        help="Only what you type is saved: Save my score needs one, Reject saves it when given.",
    )  # fmt: skip
    st.text_area(
        "Reference answer (what the model should have said)",
        value=record.review.reference_answer or (record.feedback.correction if record.feedback else "") or "",
        height=140,
        key=f"review_reference_{record.id}",
    )

    def act(kind: str) -> None:
        # Callbacks run before the page is drawn again: read the widgets' values from the state.
        opened = state[opened_key]
        reference = state[f"review_reference_{record.id}"]
        sme_score = state[f"review_score_{record.id}"]
        if kind == "override" and sme_score is None:
            state.review_message = ("error", "Type your score (0–5) first, then Save my score.")
            return
        try:
            if kind == "validate":
                updated = services.review.validate_ai(record.id, opened=opened, reference_answer=reference)
            elif kind == "override":
                updated = services.review.review(
                    record.id, opened=opened, status="validated", sme_score=sme_score, reference_answer=reference
                )
            else:
                updated = services.review.review(
                    record.id, opened=opened, status="rejected", sme_score=sme_score, reference_answer=reference
                )
        except Conflict as e:
            state.review_message = ("error", str(e))
            state.pop(opened_key, None)  # reopening shows their change
            return
        except FeedbackError as e:
            state.review_message = ("error", str(e))
            return
        state[opened_key] = updated.review.reviewed_at
        score = updated.review.sme_score
        state.review_message = (
            "success",
            f"Saved: {updated.review.status}, " + ("no score." if score is None else f"score {score}."),
        )
        advance()

    def advance() -> None:
        """Open the answer that followed this one in the list as shown."""
        state.review_table_gen = state.get("review_table_gen", 0) + 1  # clears the table's selection
        if index + 1 < len(ids):
            state.review_current = ids[index + 1]
        else:
            state.review_advance_from = ids

    # Two rows of two: four labels and their shortcut keys do not fit one row of a half page.
    b1, b2 = st.columns(2)
    b3, b4 = st.columns(2)
    b1.button(
        "Validate AI score", key="review_validate", type="primary", shortcut="v", width="stretch",
        on_click=act, args=("validate",), disabled=not judge or judge.score is None,
        help="The answer and its AI score stand (shortcut V)",
    )  # fmt: skip
    b2.button("Save my score", key="review_override", shortcut="s", width="stretch", on_click=act, args=("override",),
              help="Validate with your own score instead of the AI's (shortcut S)")  # fmt: skip
    b3.button("Reject answer", key="review_reject", shortcut="x", width="stretch", on_click=act, args=("reject",),
              help="The answer is wrong; the reference answer says what it should be (shortcut X)")  # fmt: skip
    b4.button(
        "Next →", key="review_next", shortcut="n", width="stretch", on_click=advance,
        help="Next answer in the queue (shortcut N)",
    )  # fmt: skip
    if message := state.pop("review_message", None):
        (st.error if message[0] == "error" else st.success)(message[1])
    if at_end:
        st.info(f"That was the last answer in this queue ({total} in all).")
