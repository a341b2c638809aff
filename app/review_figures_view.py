"""The Review page's figures: AI score and user rating distributions, and how far the judge agrees
with people (weighted kappa, Spearman rho, MAE and the confusion matrix)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from feedback.errors import FeedbackError
from feedback.stats import JUDGE_BUCKETS
from feedback.stores.base import InteractionFilter


def show_figures(services, filters: InteractionFilter) -> None:
    """The figures of the answers ``filters`` selects, whatever their review status."""
    everything = filters.model_copy(update={"review_status": None})
    try:
        stats = services.feedback.stats(everything)
        agreement = services.judge.agreement(everything)
    except FeedbackError as e:
        st.error(f"The figures cannot be computed: {e}")
        st.stop()
    scored = sum(b.count for b in stats.judge_scores if b.bucket != "unscored")
    above = next((b.count for b in stats.judge_scores if b.bucket == "4–5"), 0)
    below = sum(b.count for b in stats.judge_scores if b.bucket in ("0–1", "1–2", "2–3"))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Answers scored by the AI", scored)
    m2.metric("Mean AI score", "–" if stats.mean_judge_score is None else f"{stats.mean_judge_score:.2f}")
    m3.metric("AI score ≥ 4", "–" if not scored else f"{above / scored:.0%}")
    m4.metric("AI score < 3", "–" if not scored else f"{below / scored:.0%}")
    left, right = st.columns(2)
    with left:
        st.markdown("**AI score distribution**")
        st.bar_chart(
            pd.DataFrame({"answers": [b.count for b in stats.judge_scores]}, index=list(JUDGE_BUCKETS)),
            horizontal=True,
        )
    with right:
        st.markdown("**User rating distribution**")
        st.bar_chart(
            pd.DataFrame(
                {"answers": [r.count for r in stats.ratings]}, index=[f"{r.rating} {r.label}" for r in stats.ratings]
            ),
            horizontal=True,
        )
    st.markdown("**How far the judge agrees with people** (rows: the person, columns: the judge, Likert 1–5)")
    st.caption(agreement.mapping)
    for who, a in (("Users' ratings", agreement.users), ("SME scores", agreement.smes)):
        kappa = "–" if a.kappa is None else f"{a.kappa:.2f}"
        rho = "–" if a.spearman is None else f"{a.spearman:.2f}"
        mae = "–" if a.mae is None else f"{a.mae:.2f}"
        st.markdown(f"*{who}*: n = {a.n}, weighted κ = {kappa}, Spearman ρ = {rho}, MAE = {mae}")
        if a.n:
            cells = pd.DataFrame(
                [
                    {"person": a.labels[h], "judge": a.labels[j], "answers": a.confusion[h][j]}
                    for h in range(len(a.labels))
                    for j in range(len(a.labels))
                ]
            )
            base = alt.Chart(cells).encode(
                x=alt.X("judge:O", title="Judge (score binned to Likert)"),
                y=alt.Y("person:O", title=who, sort="descending"),
            )
            heatmap = base.mark_rect().encode(color=alt.Color("answers:Q", scale=alt.Scale(scheme="blues")))
            labels = base.mark_text().encode(text="answers:Q")
            st.altair_chart((heatmap + labels).properties(height=220), width="stretch")
