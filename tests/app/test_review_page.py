"""The Review page through Streamlit's AppTest, over the real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.config import Settings
from app.services import Backends
from feedback.records import Feedback, JudgeScore
from tests.feedback.contract import make

REVIEW_PAGE = Path(__file__).parents[2] / "app" / "app_pages" / "review.py"


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setenv("RAGBOT_ROLE", "sme")
    monkeypatch.setenv("RAGBOT_USER", "sam@x.io")
    store = Backends(Settings()).feedback_store
    for minute, (name, score, rating) in enumerate([("a", 4.5, 5), ("b", 1.0, 1), ("c", None, 2), ("d", 2.0, 2)]):
        store.put(
            make(name, minutes=minute, question=f"question {name}?", sources=("Design/criteria.pdf",),
                 feedback=Feedback(rating=rating, correction="It is 412.") if rating else None)
        )  # fmt: skip
        if score is not None:
            store.set_judge(name, JudgeScore(score=score, reason=f"reason {name}", judge_model="j"))
    return store


def app() -> AppTest:
    st.cache_resource.clear()
    st.cache_data.clear()
    # The page loads the backends (and warms the models) like the real app; share the loaded embedder.
    return AppTest.from_file(str(REVIEW_PAGE), default_timeout=120)


def test_filter_to_low_ai_scores_validate_override_and_reject(seeded):
    at = app().run()
    assert not at.exception
    at.selectbox(key="review_order").set_value("Lowest AI score first").run()
    at.slider(key="review_ai").set_value((0.0, 3.0)).run()
    table = at.dataframe[0].value
    assert table["question"].tolist() == ["question b?", "question d?"]
    assert "#### question b?" in [m.value for m in at.markdown]
    assert any("reason b" in m.value for m in at.markdown)
    assert at.text_area(key="review_reference_b").value == "It is 412."

    at.text_area(key="review_reference_b").set_value("The site has 412 car parking spaces [1].")
    at.button(key="review_validate").click().run()
    stored = seeded.get("b").review
    assert (stored.status, stored.sme_score, stored.reviewer) == ("validated", 1.0, "sam@x.io")
    assert stored.reference_answer == "The site has 412 car parking spaces [1]."
    # Validated answers leave the unreviewed queue; the next one is shown.
    assert at.dataframe[0].value["question"].tolist() == ["question d?"]
    at.number_input(key="review_score_d").set_value(3.5)
    at.button(key="review_override").click().run()
    assert seeded.get("d").review.sme_score == 3.5 and seeded.get("d").review.status == "validated"


def test_another_smes_review_since_opening_is_not_overwritten(seeded):
    at = app().run()
    at.selectbox(key="review_order").set_value("Newest first").run()
    assert at.dataframe[0].value["question"].tolist()[0] == "question d?"
    # Someone else reviews "d" after this page opened it.
    from app.services import Identity, Services

    other = Services(backends=Backends(Settings()), identity=Identity(user="kim@x.io", role="sme"))
    other.review.review("d", opened=None, status="rejected")
    at.button(key="review_reject").click().run()
    assert any("kim@x.io changed the review of this answer since you opened it" in e.value for e in at.error)
    assert seeded.get("d").review.reviewer == "kim@x.io"


def test_grouping_by_ai_band_and_the_plots(seeded):
    at = app().run()
    at.radio(key="review_group").set_value("AI score band").run()
    pills = at.button_group[0]
    assert sorted(pills.options) == sorted(["1–2 · 1", "2–3 · 1", "4–5 · 1", "not judged · 1"])
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answers scored by the AI"] == "3" and metrics["AI score < 3"] == "67%"


def test_engineers_cannot_open_the_review_page(seeded, monkeypatch):
    monkeypatch.setenv("RAGBOT_ROLE", "engineer")
    at = app().run()
    assert "only the sme or admin role may review answers" in at.error[0].value
    assert not at.dataframe
