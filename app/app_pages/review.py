"""The Review page: SMEs go through answers with the AI judge's help, filter, sort and group by its
score, open one answer beside its sources, rating, correction and the judge's reason, and
validate, override or reject it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.review_answer_view import show_answer
from app.review_figures_view import show_figures
from app.services import Action
from app.services.filters import day_end, day_start
from app.ui import get_services, refuse
from app.ui_text import counted, escape_markdown
from app.verified_view import show_verified
from feedback.errors import FeedbackError
from feedback.stores.base import JUDGE_BANDS, InteractionFilter
from rag.errors import RagError

services = get_services()
me = services.identity
if not me.may(Action.REVIEW):
    refuse(services, Action.REVIEW, "open the Review page")
state = st.session_state
PAGE_SIZE = 20
ORDERS = {
    "Lowest AI score first": "judge_asc",
    "Highest AI score first": "judge_desc",
    "Newest first": "newest",
    "Oldest first": "oldest",
    "Lowest user rating first": "rating_asc",
    "Highest user rating first": "rating_desc",
}
BAND_BOUNDS = {"0–1": (0.0, 0.99), "1–2": (1.0, 1.99), "2–3": (2.0, 2.99), "3–4": (3.0, 3.99), "4–5": (4.0, 5.0)}

# -- filters ------------------------------------------------------------------------------------

with st.sidebar:
    st.markdown("**Review queue**")
    origin = st.radio(
        "Questions", ["Users' questions", "Synthetic pairs"], horizontal=True, key="review_origin",
        help="Synthetic pairs: questions and answers written by a model from a page (ragbot synth), for you to validate.",
    )  # fmt: skip
    status = st.selectbox("Review status", ["unreviewed", "validated", "rejected", "any"], key="review_status")
    ai = st.slider("AI score", 0.0, 5.0, (0.0, 5.0), step=0.5, key="review_ai")
    judged = st.selectbox(
        "AI judge",
        ["any", "scored", "not judged yet", "reply without a score"],
        key="review_judged",
        help="'reply without a score': the judge answered without usable <scoring> tags; its reply is kept raw.",
    )
    rating = st.slider("User rating", 1, 5, (1, 5), key="review_rating")
    days = st.date_input("Answered between", value=(), key="review_days")
    user = st.text_input("User", key="review_user")
    source = st.text_input("Document or folder", key="review_source", placeholder="Design/criteria.pdf or Design")
    correction = st.selectbox("Better answer from the user", ["any", "with", "without"], key="review_correction")
    order_label = st.selectbox("Sort", list(ORDERS), key="review_order")
    group_by = st.radio("Group by", ["none", "AI score band", "document"], horizontal=True, key="review_group")


def current_filters() -> InteractionFilter:
    since = until = None
    if len(days) == 2:
        since, until = day_start(days[0]), day_end(days[1])
    return InteractionFilter(
        review_status=None if status == "any" else status,
        min_judge_score=ai[0] if ai != (0.0, 5.0) else None,
        max_judge_score=ai[1] if ai != (0.0, 5.0) else None,
        judged={"any": None, "scored": True, "not judged yet": False, "reply without a score": True}[judged],
        judge_unparsable={"scored": False, "reply without a score": True}.get(judged),
        min_rating=rating[0] if rating != (1, 5) else None,
        max_rating=rating[1] if rating != (1, 5) else None,
        since=since,
        until=until,
        user=user.strip() or None,
        source_prefix=source.strip().strip("/") or None,
        has_correction={"any": None, "with": True, "without": False}[correction],
        origin="synthetic" if origin == "Synthetic pairs" else "user",
    )


filters = current_filters()
order = ORDERS[order_label]
# A new filter or order starts the queue again from its first page.
signature = (filters.model_dump_json(), order, group_by)
if state.get("review_signature") != signature:
    state.review_signature = signature
    state.review_cursors = [None]
    state.review_current = None
    state.review_group_choice = None

st.title("Review")
queue_tab, plots_tab, verified_tab = st.tabs(["Queue", "Judge and ratings", "Verified answers"])

with queue_tab:
    # -- groups -------------------------------------------------------------------------------
    if group_by != "none":
        by = "judge_band" if group_by == "AI score band" else "document"
        try:
            counts = services.review.groups(filters, by=by)
        except FeedbackError as e:
            counts = {}
            st.error(f"The groups cannot be counted: {e}")
        options = (
            [b for b in JUDGE_BANDS if b in counts]
            if by == "judge_band"
            else sorted(counts, key=lambda d: -counts[d])[:30]
        )
        if not counts:
            label = group_by
        elif by == "judge_band":
            label = f"{counted(sum(counts.values()), 'answer')} by AI score band"
        else:  # an answer citing three documents counts under each: the documents are what is counted
            label = f"{counted(len(counts), 'document')} cited by these answers" + (
                f" (the {len(options)} most cited)" if len(options) < len(counts) else ""
            )
        choice = st.pills(
            label,
            options,
            format_func=lambda g: f"{escape_markdown(g)} · {counts[g]}",  # a file name is not markdown
            key=f"review_group_pick_{by}",
            help=None if by == "judge_band" else "Each document with the number of these answers citing it.",
        )
        if choice:
            if by == "document":
                filters = filters.model_copy(update={"source_prefix": choice})
            elif choice == "unparsable":
                filters = filters.model_copy(update={"judged": True, "judge_unparsable": True})
            elif choice == "not judged":
                filters = filters.model_copy(update={"judged": False})
            else:
                low, high = BAND_BOUNDS[choice]
                filters = filters.model_copy(update={"min_judge_score": low, "max_judge_score": high})
            if state.review_group_choice != choice:
                state.review_group_choice = choice
                state.review_cursors = [None]
                state.review_current = None

    # -- bulk actions -------------------------------------------------------------------------
    with st.expander("Bulk actions on the filtered answers"):
        left, right = st.columns(2)
        if left.button(
            "Score unscored answers with the AI judge", key="review_bulk_judge", disabled=not me.may(Action.JUDGE)
        ):
            bar = st.progress(0.0, text="Asking the judge…")
            try:
                summary = services.judge.run(
                    filters.model_copy(update={"judged": False, "judge_unparsable": None}),
                    progress=lambda done, total: bar.progress(done / max(total, 1), text=f"{done} of {total} answers"),
                )
            except (FeedbackError, RagError) as e:
                st.error(f"The judge run stopped: {e}")
            else:
                bar.progress(1.0, text="Done")
                st.success(
                    f"Scored {summary.scored}, {summary.unparsable} replies without a usable score, "
                    f"{summary.failed} failed, in {summary.seconds:.0f} s."
                )
        threshold = right.number_input("Validate AI scores of at least", 0.0, 5.0, 4.0, 0.5, key="review_bulk_min")
        if filters.origin == "synthetic" and right.button(
            "Validate every unreviewed pair in this list", key="review_bulk_validate_pairs"
        ):
            try:
                result = services.review.validate_pairs(filters)
            except FeedbackError as e:
                st.error(str(e))
            else:
                st.success(f"Validated {result.done} pairs; {result.skipped} were reviewed by someone else meanwhile.")
        if right.button(f"Validate unreviewed AI scores ≥ {threshold:g}", key="review_bulk_validate"):
            try:
                result = services.review.validate_high_scores(filters, min_score=threshold)
            except FeedbackError as e:
                st.error(str(e))
            else:
                st.success(f"Validated {result.done}; {result.skipped} were reviewed by someone else meanwhile.")

    # -- the queue ----------------------------------------------------------------------------
    try:
        total = services.review.count(filters, order=order)
        if order in ("judge_asc", "judge_desc") and not total:
            # The judge orders list only scored answers: with none scored they would list nothing.
            st.info(
                "No answer here has an AI score yet, so they are listed newest first. "
                "Score them with the AI judge (bulk actions above) to sort by AI score."
            )
            order = "newest"
            total = services.review.count(filters, order=order)
    except (FeedbackError, ValueError) as e:
        st.error(f"The queue cannot be read: {e}")
        st.stop()
    if state.get("review_listed_order") != order:  # cursors belong to the order that made them
        state.review_listed_order = order
        state.review_cursors = [None]
        state.review_current = None
    cursor = state.review_cursors[-1]
    try:
        page = services.review.queue(filters, order=order, limit=PAGE_SIZE, cursor=cursor)
    except (FeedbackError, ValueError) as e:
        st.error(f"The queue cannot be read: {e}")
        st.stop()
    if page.unreadable:
        st.warning(f"{len(page.unreadable)} stored records on this page could not be read and are left out.")
    if not page.items and cursor is not None:  # everything on this page was reviewed: back one page
        state.review_cursors.pop()
        state.review_current = None
        st.rerun()
    if not page.items:
        st.info("Nothing to review with these filters.")
        if message := state.pop("review_message", None):
            (st.error if message[0] == "error" else st.success)(message[1])
        st.stop()

    # The open answer is remembered by id, not by row: a reviewed answer leaves an unreviewed
    # queue, and the rows after it move up.
    ids = [i.id for i in page.items]
    current = state.get("review_current")
    at_end = False
    if (shown := state.pop("review_advance_from", None)) is not None:
        # The last answer of the page was done: what follows it now is the next one.
        still_here = [n for n, i in enumerate(ids) if i in shown]
        after = ids[still_here[-1] + 1 :] if still_here else ids
        if after:
            current = after[0]
        elif page.next_cursor is not None:
            state.review_cursors.append(page.next_cursor)
            state.review_current = None
            st.rerun()
        else:
            at_end = True
            current = current if current in ids else ids[-1]
    index = ids.index(current) if current in ids else 0
    state.review_current = ids[index]

    def cell(value: float | None, form: str) -> str:
        # Text, not numbers: the table draws an empty number cell as "None".
        return "–" if value is None else format(value, form)

    rows = pd.DataFrame(
        [
            {
                "open": "▶" if n == index else "",
                "AI": cell(i.judge.score if i.judge else None, ".1f"),
                "user": cell(i.feedback.rating if i.feedback else None, "d"),
                "question": i.question,
                "answered": i.created_at.strftime("%Y-%m-%d %H:%M"),
                "by": i.user,
                "status": i.review.status,
            }
            for n, i in enumerate(page.items)
        ]
    )
    table_key = f"review_table_{len(state.review_cursors)}_{state.get('review_table_gen', 0)}"

    def pick() -> None:
        picked = state[table_key].selection.rows
        if picked and picked[0] < len(ids):
            state.review_current = ids[picked[0]]

    queue_col, detail_col = st.columns([2, 3], gap="large")
    with queue_col:
        st.caption(f"{counted(total, 'answer')} in this queue")
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            on_select=pick,
            selection_mode="single-row",
            key=table_key,
            column_config={
                "open": st.column_config.TextColumn("", width=24, help="The answer open beside the queue"),
                "AI": st.column_config.TextColumn("AI", help="The AI judge's score, 0–5 (– not scored)"),
                "user": st.column_config.TextColumn("User", help="The user's rating, 1–5 (– not rated)"),
                "question": st.column_config.TextColumn("Question", width="large"),
            },
        )
        st.caption(f"Page {len(state.review_cursors)} · answer {index + 1} of {len(ids)} on it")
        nav_prev, nav_next = st.columns(2)
        if nav_prev.button("← Previous", key="review_prev", disabled=len(state.review_cursors) == 1, width="stretch"):
            state.review_cursors.pop()
            state.review_current = None
            st.rerun()
        if nav_next.button("Next page →", key="review_next_page", disabled=page.next_cursor is None, width="stretch"):
            state.review_cursors.append(page.next_cursor)
            state.review_current = None
            st.rerun()

    with detail_col:
        show_answer(services, page.items[index], ids, index, total=total, at_end=at_end)

with plots_tab:
    show_figures(services, filters)

with verified_tab:
    show_verified(services)
