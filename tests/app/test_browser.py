"""The engineer's journey in a real browser: headless Chromium against `ragbot app`.

Ask, open a source and its page, rate with one click (nothing else to press), add a better
answer and a note, change the rating, follow up, start a new conversation and reopen the first
one; then read the records back from the store. Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.browser import chrome
from bench.servers import ragbot_app
from tests.app.browser import form_values_taken, screenshot
from tests.docs import make_pdf

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def app_url(tmp_path, ragbot_home, local_model_dir):
    docs = tmp_path / "docs"
    make_pdf(
        docs / "Design" / "criteria.pdf",
        [
            "General requirements for the building envelope.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
        ],
    )
    env = os.environ | {
        "RAGBOT_HOME": str(ragbot_home),
        "RAGBOT_LOCAL_MODEL": str(local_model_dir),
        "RAGBOT_USER": "alice",
        "RAGBOT_MAX_NEW_TOKENS": "48",
    }
    subprocess.run([sys.executable, "-m", "app.cli", "ingest", str(docs)], env=env, check=True, capture_output=True)
    with ragbot_app(env) as url:
        yield url


@pytest.fixture
def browser():
    driver = chrome()
    yield driver
    driver.quit()


def test_ask_read_sources_rate_with_one_click_add_details_rerate_reopen(app_url, browser, ragbot_home):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from feedback.stores.sqlite import SQLiteFeedbackStore

    wait = WebDriverWait(browser, 180, ignored_exceptions=(StaleElementReferenceException,))
    body = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731
    store = SQLiteFeedbackStore(ragbot_home / "feedback.db")

    def ask(question: str, answers_before: int, waiting_screenshot: str | None = None) -> None:
        box = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']"))
        box.send_keys(question)
        box.send_keys(Keys.ENTER)
        if waiting_screenshot:
            # What the user sees while the model writes: the stage, and the sources already found.
            wait.until(lambda d: "Found " in body() and "passages in" in body())
            screenshot(browser, waiting_screenshot)
        wait.until(
            lambda d: len(d.find_elements(By.XPATH, "//*[contains(text(), 'This answer is correct and useful')]"))
            > answers_before
        )

    def click(element) -> None:
        # The chat input is pinned to the bottom of the window and covers what scrolls under it.
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def button(text: str):
        # One XPath query in the page: no element goes stale between finding and reading it.
        return wait.until(lambda d: d.find_element(By.XPATH, f"//button[contains(., '{text}')]"))

    def rating(label: str):
        # The scale's buttons read "<icon name>\n<label>"; match the label exactly.
        buttons = "button[data-variant='segmented_control']"
        return wait.until(
            lambda d: next(
                (b for b in d.find_elements(By.CSS_SELECTOR, buttons) if b.text.strip().splitlines()[-1] == label), None
            )
        )

    browser.get(app_url)
    ask("How many car parking spaces do we have?", 0, waiting_screenshot="chat-waiting.png")
    assert "Sources" in body() and "Answered by SmolLM2" in body()

    # Open the first source: the passage (its supporting sentence highlighted) and the rendered page.
    expander = wait.until(lambda d: d.find_element(By.XPATH, "//summary[contains(., 'Design/criteria.pdf')]"))
    click(expander)
    wait.until(lambda d: "412 car parking spaces" in body())
    answer = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[-1]
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", answer)
    screenshot(browser, "chat-answer.png")
    toggle = wait.until(lambda d: d.find_element(By.XPATH, "//label[contains(., 'Show page 2')]//input"))
    browser.execute_script("arguments[0].click()", toggle)  # the switch's input is styled out of view
    wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid='stImage'] img, [data-testid='stFullScreenFrame'] img")
    )
    assert any("Download criteria.pdf" in b.text for b in browser.find_elements(By.TAG_NAME, "button"))
    screenshot(browser, "chat-page.png")

    # One click: the rating is in the store, with nothing else pressed.
    click(rating("Strongly disagree"))
    wait.until(lambda d: "Saved: Strongly disagree (1 of 5)" in body())
    (record,) = store.list().items
    assert record.feedback.rating == 1 and record.feedback.label == "Strongly disagree"
    screenshot(browser, "chat-rated.png")

    # Details are optional: the better answer starts as the answer, the form closes once saved.
    click(button("Add a better answer or a note"))
    correction = wait.until(lambda d: d.find_element(By.XPATH, "//textarea[contains(@aria-label, 'Better answer')]"))
    assert correction.get_attribute("value").strip() == record.answer.strip()
    correction.send_keys(Keys.CONTROL, "a")
    correction.send_keys("412 car parking spaces and 38 trailer positions (21 01 13, page 2).")
    note = browser.find_element(By.XPATH, "//textarea[contains(@aria-label, 'Note')]")
    note.send_keys("It should also give the trailer count.")
    note.send_keys(Keys.TAB)
    wait.until(form_values_taken)  # the typed values are the form's before the click submits it
    click(button("Save"))
    wait.until(lambda d: "with a better answer and a note" in body())
    assert not browser.find_elements(By.XPATH, "//textarea[contains(@aria-label, 'Better answer')]")
    (record,) = store.list().items
    assert record.feedback.correction == "412 car parking spaces and 38 trailer positions (21 01 13, page 2)."
    assert record.feedback.note == "It should also give the trailer count."
    assert record.question == "How many car parking spaces do we have?" and record.answer.strip()
    assert (record.citations[0].source, record.citations[0].page) == ("Design/criteria.pdf", 2)
    assert record.user == "alice" and record.turn == 1 and record.prompt_version and record.model_id

    # Another click changes the rating of the same record and keeps the details.
    click(rating("Agree"))
    wait.until(lambda d: "Saved: Agree (4 of 5)" in body())
    (record,) = store.list().items
    assert record.feedback.rating == 4 and record.feedback.note == "It should also give the trailer count."

    # A follow-up joins the conversation.
    ask("And how many trailer positions?", 1)
    records = sorted(store.list().items, key=lambda r: r.turn)
    assert [r.turn for r in records] == [1, 2] and len({r.session_id for r in records}) == 1

    # A new conversation; the earlier one is listed in the sidebar and reopens with its rating.
    click(button("New conversation"))
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))
    sidebar = browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
    assert "Earlier conversations" in sidebar and "How many car parking spaces do we have?" in sidebar
    click(button("How many car parking spaces do we have?"))
    wait.until(lambda d: "Saved: Agree (4 of 5)" in body())
    active = browser.find_elements(By.CSS_SELECTOR, "button[data-variant='segmented_control'][aria-checked='true']")
    assert [a.text.strip().splitlines()[-1] for a in active] == ["Agree"]
