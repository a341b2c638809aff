"""The Review page through Streamlit's AppTest, over the real SQLite store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.config import Settings
from app.services import Backends, Identity, Services
from app.ui_text import escape_markdown
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
    assert f"#### {escape_markdown('question b?')}" in [m.value for m in at.markdown]
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
    # Audited like a refused command: who was refused what, where, and why.
    admin = Services(backends=Backends(Settings()), identity=Identity(user="boss", role="admin"))
    (event,) = admin.audit.events().items
    assert (event.action, event.outcome, event.role) == ("app: open the Review page", "refused", "engineer")
    assert event.detail["needs"] == "review answers" and "only the sme or admin role" in event.detail["reason"]


def opened(at: AppTest) -> str:
    """The question of the answer open beside the queue."""
    (header,) = [m.value for m in at.markdown if m.value.startswith("#### ")]
    # Shown as typed: the page escapes markdown, which the browser renders away.
    return re.sub(r"\\(.)", r"\1", header.removeprefix("#### "))


def test_the_queue_opens_newest_first_when_nothing_has_an_ai_score(monkeypatch):
    monkeypatch.setenv("RAGBOT_ROLE", "sme")
    store = Backends(Settings()).feedback_store
    for minute, name in enumerate("abc"):
        store.put(make(name, minutes=minute, question=f"question {name}?", sources=("Design/criteria.pdf",)))
    at = app().run()  # the default sort is by AI score
    assert not at.exception
    assert any("listed newest first" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert table["question"].tolist() == ["question c?", "question b?", "question a?"]
    assert table["AI"].tolist() == ["–"] * 3 and table["user"].tolist() == ["–"] * 3  # not "None"
    assert opened(at) == "question c?"
    assert "3 answers in this queue" in [c.value for c in at.caption]
    # The "not judged" group under the same default sort.
    at.radio(key="review_group").set_value("AI score band").run()
    assert at.button_group[0].label == "3 answers by AI score band"
    at.button_group[0].set_value("not judged").run()
    assert not at.exception and opened(at) == "question c?"
    at.radio(key="review_group").set_value("document").run()
    assert at.button_group[0].label == "1 document cited by these answers"  # not "1 documents"
    assert at.button_group[0].options == [f"{escape_markdown('Design/criteria.pdf')} · 3"]  # shown as typed


@pytest.fixture
def five(monkeypatch):
    """Five unreviewed answers, rated 1 to 5 (the fourth judged 4.0)."""
    monkeypatch.setenv("RAGBOT_ROLE", "sme")
    monkeypatch.setenv("RAGBOT_USER", "sam@x.io")
    store = Backends(Settings()).feedback_store
    for n in range(1, 6):
        store.put(make(f"r{n}", minutes=n, question=f"answer {n}?", feedback=Feedback(rating=n)))
    store.set_judge("r4", JudgeScore(score=4.0, reason="fine", judge_model="j"))
    return store


def test_five_answers_in_a_row_are_each_shown_once_in_queue_order(five):
    at = app().run()
    at.selectbox(key="review_order").set_value("Lowest user rating first").run()
    order = at.dataframe[0].value["question"].tolist()
    assert order == [f"answer {n}?" for n in range(1, 6)]
    shown = [opened(at)]

    def then(button: str) -> None:
        at.button(key=button).click().run()
        shown.append(opened(at))
        assert shown == order[: len(shown)]
        table = at.dataframe[0].value  # the open one is marked in the queue
        assert table.loc[table["open"] == "▶", "question"].tolist() == [shown[-1]]

    at.number_input(key="review_score_r1").set_value(2.0)
    then("review_override")  # S: leaves the unreviewed queue
    then("review_reject")  # X
    then("review_next")  # N: stays in the queue
    then("review_validate")  # V
    assert at.dataframe[0].value["question"].tolist() == ["answer 3?", "answer 5?"]
    # N on the last one says so, and leaves it open.
    at.button(key="review_next").click().run()
    assert opened(at) == "answer 5?"
    assert any("That was the last answer in this queue (2 in all)" in i.value for i in at.info)
    assert [five.get(f"r{n}").review.status for n in range(1, 6)] == [
        "validated", "rejected", "unreviewed", "validated", "unreviewed"
    ]  # fmt: skip


def test_reject_without_touching_your_score_saves_no_score(five):
    at = app().run()
    at.selectbox(key="review_order").set_value("Newest first").run()
    assert opened(at) == "answer 5?" and at.number_input(key="review_score_r5").value is None
    # Save my score without a score is refused; nothing is written.
    at.button(key="review_override").click().run()
    assert any("Type your score (0–5) first" in e.value for e in at.error)
    assert five.get("r5").review.status == "unreviewed" and opened(at) == "answer 5?"
    at.button(key="review_reject").click().run()
    assert any(s.value == "Saved: rejected, no score." for s in at.success)
    assert five.get("r5").review.status == "rejected" and five.get("r5").review.sme_score is None
    # The AI's 4.0 is not offered as the SME's own either.
    assert opened(at) == "answer 4?" and at.number_input(key="review_score_r4").value is None
    at.button(key="review_reject").click().run()
    assert five.get("r4").review.sme_score is None
    events = {e.target: e.detail for e in five.events().items if e.action == "review"}
    assert events == {"r5": {"status": "rejected"}, "r4": {"status": "rejected"}}


def test_past_the_last_row_of_a_page_the_next_answer_opens(monkeypatch):
    monkeypatch.setenv("RAGBOT_ROLE", "sme")
    store = Backends(Settings()).feedback_store
    for n in range(1, 23):  # 22 answers: a page of 20 and two more
        store.put(make(f"p{n:02d}", minutes=-n, question=f"number {n}?"))
    at = app().run()
    at.selectbox(key="review_order").set_value("Newest first").run()
    assert "22 answers in this queue" in [c.value for c in at.caption]
    for _ in range(19):
        at.button(key="review_next").click().run()
    assert opened(at) == "number 20?"
    # X on the last row: the answer that followed it (first of the next page) opens on this one.
    at.button(key="review_reject").click().run()
    assert opened(at) == "number 21?" and "21 answers in this queue" in [c.value for c in at.caption]
    # N on the last row of the first page turns to the next page.
    at.button(key="review_next").click().run()
    assert opened(at) == "number 22?"
    assert any(c.value.startswith("Page 2") for c in at.caption)


def test_verified_answers_tab_lists_a_validated_reference_as_stale_and_retires_it(seeded):
    at = app().run()
    verified_tab = at.tabs[2]
    assert verified_tab.label == "Verified answers"
    assert any("No verified answers yet" in i.value for i in verified_tab.info)
    at.selectbox(key="review_order").set_value("Lowest AI score first").run()
    at.text_area(key="review_reference_b").set_value("The site has 412 car parking spaces [1].")
    at.button(key="review_validate").click().run()
    verified_tab = at.tabs[2]
    # The record cites Design/criteria.pdf, which this empty index does not hold: stale, not served.
    assert any("⚠ stale" in c.value and "verified by sam" in c.value for c in verified_tab.caption), [
        c.value for c in verified_tab.caption
    ]
    assert any("Changed or gone" in w.value and "criteria" in w.value for w in verified_tab.warning)
    at.button(key="verified_retire_b").click().run()
    assert seeded.get("b").review.retired is True
    assert any(c.value.startswith("retired") for c in at.tabs[2].caption)
    at.button(key="verified_retire_b").click().run()  # "Serve again"
    assert seeded.get("b").review.retired is False
