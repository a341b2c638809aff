"""The Admin page's A/B test: the served model and the candidate side by side (answers, ratings,
negative share, the AI judge's scores), the significance of the difference in negative share with
the rated answers still needed, and the two decisions: promote the candidate, stop the test."""

from __future__ import annotations

from pathlib import PurePath

import streamlit as st

from app.services import Action
from app.services.ab import ABReport, ArmFigures
from feedback.errors import FeedbackError
from feedback.records import LIKERT_LABELS
from training.errors import RegistryError

RESULT = "admin_ab_result"


def show_ab(services) -> None:
    """The A/B section for an identity that may see the dashboard."""
    ab = services.ab

    @st.cache_data(ttl=30, show_spinner="Reading the answers of both arms…")
    def cached_report() -> ABReport:
        # A pass over the test's answers: not on every widget change of this page.
        return ab.report()

    if st.button("Refresh", key="admin_ab_refresh"):
        cached_report.clear()
    if RESULT in st.session_state:
        kind, text = st.session_state.pop(RESULT)
        (st.success if kind == "done" else st.error)(text)
    try:
        report = cached_report()
    except (FeedbackError, RegistryError) as e:
        st.error(f"The A/B test cannot be read: {e}")
        return
    st.caption(report.status)
    if report.candidate is None:
        return
    served, candidate = report.arms
    left, right = st.columns(2)
    with left, st.container(border=True):
        _arm(served, "Served model")
    with right, st.container(border=True):
        _arm(candidate, "Candidate")
    st.markdown("**Ratings per arm**")
    st.dataframe(
        [
            {"rating": f"{r} · {LIKERT_LABELS[r]}", "served": served.ratings[r], "candidate": candidate.ratings[r]}
            for r in range(1, 6)
        ],
        hide_index=True,
        width="stretch",
        key="admin_ab_ratings",
    )
    st.markdown(_significance(report))
    if report.unreadable:
        st.warning(f"{report.unreadable} stored records could not be read and are left out of these figures.")
    if not services.identity.may(Action.SERVE_MODEL):
        return
    reason = None
    if report.candidate.verdict != "better":
        reason = st.text_input(
            f"The gate called it '{report.candidate.verdict}': why serve it anyway?", key="admin_ab_reason"
        )
    cols = st.columns(2)
    cols[0].button(
        "Promote the candidate",
        key="admin_ab_promote",
        type="primary",
        on_click=_act,
        args=(cached_report, lambda: ab.promote(force=reason or None), f"{candidate.model_id} is served from now on."),
    )
    if report.running:
        cols[1].button(
            "Stop the test",
            key="admin_ab_stop",
            on_click=_act,
            args=(cached_report, ab.stop, "The test is stopped: new conversations get the served model."),
        )


def _arm(figures: ArmFigures, title: str) -> None:
    # A served local model is a folder: its name reads, its whole path is one hover away.
    name = PurePath(figures.model_id).name or figures.model_id
    st.markdown(f"**{title}** · `{name}`", help=None if name == figures.model_id else figures.model_id)
    c = st.columns(2) + st.columns(2)  # two rows: four metrics side by side do not fit half a page
    c[0].metric("Answers", figures.answers, help=f"{figures.rated} rated")
    share = figures.negative_share
    c[1].metric(
        "Negative (1–2)",
        "–" if share is None else f"{share:.0%}",
        help=f"{figures.negative} of {figures.rated} rated answers",
    )
    c[2].metric("AI judge mean", "–" if figures.judge_mean is None else f"{figures.judge_mean:.2f}")
    good = figures.judge_good_share
    c[3].metric("AI score ≥ 4", "–" if good is None else f"{good:.0%}", help=f"of {figures.judged} scored")


def _significance(report: ABReport) -> str:
    sig = report.significance
    if sig is None or sig.p_value is None:
        return "No decision yet: both arms need rated answers."
    needs = (
        f"{sig.more_served} more rated answer{'s' * (sig.more_served != 1)} for the served model, "
        f"{sig.more_candidate} for the candidate"
    )
    verdict = {
        "candidate better": "The candidate's negative share is lower",
        "candidate worse": "The candidate's negative share is higher",
        "no difference": f"No difference of {sig.effect:.0%} or more in negative share",
        "undecided": f"Undecided: about {needs}",
    }[sig.verdict]
    return (
        f"{verdict} ({sig.test}: p = {sig.p_value:.3f} at α = {sig.alpha:g}; "
        f"{sig.needed_per_arm} rated answers per arm to see a {sig.effect:.0%} difference at {sig.power:.0%} power)."
    )


def _act(cached_report, action, done: str) -> None:
    # A button's callback: runs before the page is drawn again, so the figures show its effect.
    try:
        action()
    except RegistryError as e:
        st.session_state[RESULT] = ("failed", str(e))
    else:
        st.session_state[RESULT] = ("done", done)
    cached_report.clear()
