"""The Review page's list of verified answers: what is served, what went stale, what was retired."""

from __future__ import annotations

import streamlit as st

from app.ui_text import escape_markdown
from feedback.errors import FeedbackError
from rag.errors import RagError

STATUS_LABELS = {
    "served": "✓ served",
    "stale": "⚠ stale: a passage changed",
    "retired": "retired",
}


def show_verified(services) -> None:
    """Every validated answer with a reference answer, newest first, with retire / serve again."""
    st.caption(
        "A validated reference answer is served first to later questions that ask the same thing. "
        "Stale ones rest on a passage that changed or left the index: review them again to serve them. "
        f"{services.settings.verified_disputes} ratings of 1–2 send one back to the queue."
    )
    try:
        rows = services.verified.listing()
    except (FeedbackError, RagError) as e:
        st.error(f"The verified answers cannot be listed: {e}")
        return
    if not rows:
        st.info("No verified answers yet: validate an answer with a reference answer in the Queue tab.")
        return
    counts = {s: sum(r.status == s for r in rows) for s in STATUS_LABELS}
    st.markdown(
        ", ".join(f"**{n}** {label.split(':')[0]}" for label, n in zip(STATUS_LABELS.values(), counts.values()))
    )
    for row in rows:
        with st.container(border=True):
            when = f" on {row.reviewed_at:%Y-%m-%d}" if row.reviewed_at else ""
            st.markdown(f"**{escape_markdown(row.question)}**")
            st.caption(
                f"{STATUS_LABELS[row.status]} · verified by {escape_markdown(row.reviewer or '?')}{when}"
                + (f" · {row.disputes} disagree rating(s)" if row.disputes else "")
            )
            st.text(row.answer)
            if row.missing:
                st.warning("Changed or gone: " + ", ".join(escape_markdown(m) for m in row.missing))
            retired = row.status == "retired"
            if st.button("Serve again" if retired else "Retire", key=f"verified_retire_{row.id}"):
                try:
                    services.verified.retire(row.id, retired=not retired)
                except FeedbackError as e:
                    st.error(str(e))
                else:
                    st.rerun()
