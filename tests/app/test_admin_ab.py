"""The Admin page's A/B test through Streamlit's AppTest: the two arms side by side, the
significance line, and the admin's promote and stop, each in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from scipy.stats import fisher_exact
from streamlit.testing.v1 import AppTest

from app.config import Settings
from app.services import Services
from tests.app.test_ab import SERVED, candidate, put
from training.registry import Registry

ADMIN_PAGE = Path(__file__).parents[2] / "app" / "app_pages" / "admin.py"


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setenv("RAGBOT_AB_SHARE", "0.5")
    services = Services(Settings())
    cand = candidate(services)
    for rating in (1, 2, 2, 4, 5):
        put(services, SERVED, rating, score=2.0)
    for rating in (5, 4, 1):
        put(services, cand.id, rating, score=4.5)
    return services, cand


def app() -> AppTest:
    st.cache_resource.clear()
    st.cache_data.clear()
    return AppTest.from_file(str(ADMIN_PAGE), default_timeout=120).run()


def metrics(at: AppTest, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def test_the_two_arms_side_by_side_with_the_significance_and_the_count_still_needed(seeded):
    services, cand = seeded
    at = app()
    assert not at.exception
    assert any(f"50% of new conversations go to {cand.id}" in c.value for c in at.caption)
    # The Feedback tab's "Answers" comes first, then the served arm's, then the candidate's.
    assert metrics(at, "Answers")[-2:] == ["5", "3"]
    assert metrics(at, "Negative (1–2)")[-2:] == ["60%", "33%"]
    assert metrics(at, "AI judge mean") == ["2.00", "4.50"]
    assert metrics(at, "AI score ≥ 4") == ["0%", "100%"]
    ratings = next(d.value for d in at.dataframe if "candidate" in d.value)
    assert ratings["served"].tolist() == [1, 2, 0, 1, 1] and ratings["candidate"].tolist() == [1, 0, 0, 1, 1]
    line = next(m.value for m in at.markdown if "Fisher's exact test" in m.value)
    p_value = fisher_exact([[1, 2], [3, 2]]).pvalue
    assert line.startswith("Undecided: about") and f"p = {p_value:.3f}" in line and "at 80% power" in line


def test_stop_then_promote_from_the_page_each_audited(seeded):
    services, cand = seeded
    at = app()
    at.button(key="admin_ab_stop").click().run()
    assert "The test is stopped" in at.success[0].value
    assert any(f"the test of {cand.id} was stopped by" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "admin_ab_stop"]  # nothing left to stop
    at.button(key="admin_ab_promote").click().run()
    assert f"{cand.id} is served from now on" in at.success[0].value
    assert Registry(services.settings.models_dir).promoted() == cand.id
    assert any("no candidate to test" in c.value for c in at.caption)
    actions = [(e.action, e.target) for e in services.audit.events(limit=10).items]
    assert ("ab stop", cand.id) in actions and ("ab promote", cand.id) in actions
    assert ("model promote", cand.id) in actions


def test_a_refused_promotion_says_why_and_changes_nothing(seeded, monkeypatch):
    services, _ = seeded
    worse = candidate(services, "worse", name="worse")
    monkeypatch.setenv("RAGBOT_AB_CANDIDATE", worse.id)
    at = app()
    assert any(f"go to {worse.id}" in c.value for c in at.caption)
    at.button(key="admin_ab_promote").click().run()  # no reason given
    assert "the gate called" in at.error[0].value and "not promoted" in at.error[0].value
    assert Registry(services.settings.models_dir).promoted() is None
    at.text_input(key="admin_ab_reason").set_value("users preferred it for a month").run()
    at.button(key="admin_ab_promote").click().run()
    assert Registry(services.settings.models_dir).promoted() == worse.id
