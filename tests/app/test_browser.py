"""The engineer's journey in a real browser: headless Chromium against `ragbot app`.

Ask, open a source and its page, rate with the faces, write a better answer and a note,
submit, re-rate, follow up, start a new conversation; then read the records back from the
store. A screenshot is kept in test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.docs import make_pdf

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
# Without the background-networking flags Chromium keeps dialling out, which this closed
# network refuses; the rest are the usual flags for running as root without a display.
CHROME_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1800",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(tmp_path, ragbot_home, local_model_dir):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Chromium and ChromeDriver are missing: `make setup-dev` installs Debian's chromium and chromium-driver")
    docs = tmp_path / "docs"
    make_pdf(docs / "Design" / "criteria.pdf", [
        "General requirements for the building envelope.",
        "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
    ])
    env = os.environ | {"RAGBOT_HOME": str(ragbot_home), "RAGBOT_LOCAL_MODEL": str(local_model_dir), "RAGBOT_USER": "alice", "RAGBOT_MAX_NEW_TOKENS": "48"}
    subprocess.run([sys.executable, "-m", "app.cli", "ingest", str(docs)], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "app", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"the app did not start: {server.stdout.read().decode()[-2000:]}")
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=20)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_ask_read_sources_rate_correct_rerate_follow_up(app_url, browser, ragbot_home):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from feedback.stores.sqlite import SQLiteFeedbackStore

    wait = WebDriverWait(browser, 180)
    body = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731

    def ask(question: str, answers_before: int) -> None:
        box = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']"))
        box.send_keys(question)
        box.send_keys(Keys.ENTER)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stFeedback']")) > answers_before)

    def click(element) -> None:
        # The chat input is pinned to the bottom of the window and covers what scrolls under it.
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def click_text(text: str) -> None:
        click(wait.until(lambda d: next((b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == text), None)))

    browser.get(app_url)
    ask("How many car parking spaces do we have?", 0)
    assert "Sources" in body()

    # Open the first source: the passage and the rendered page.
    expander = wait.until(lambda d: d.find_element(By.XPATH, "//summary[contains(., '[1] Design/criteria.pdf – page 2')]"))
    click(expander)
    wait.until(lambda d: "412 car parking spaces" in body())
    toggle = wait.until(lambda d: d.find_element(By.XPATH, "//label[contains(., 'Show the page')]//input"))
    browser.execute_script("arguments[0].click()", toggle)  # the switch's input is styled out of view
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid='stImage'] img, [data-testid='stFullScreenFrame'] img"))
    assert any("Download criteria.pdf" in b.text for b in browser.find_elements(By.TAG_NAME, "button"))

    # Rate "Very dissatisfied" (faces 0 → Likert 1), write a better answer and a note, submit.
    click(browser.find_element(By.CSS_SELECTOR, "button[data-testid='stFeedbackButton'][aria-label='Very dissatisfied']"))
    wait.until(lambda d: "Strongly disagree" in body())
    correction = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "textarea[aria-label='Better answer (optional)']"))
    correction.send_keys("412 car parking spaces and 38 trailer positions (21 01 13, page 2).")
    note = browser.find_element(By.CSS_SELECTOR, "input[aria-label='Note (optional)']")
    note.send_keys("It should also give the trailer count.")
    note.send_keys(Keys.TAB)
    time.sleep(1)  # let the widget values reach the server before the click reruns the page
    click_text("Submit feedback")
    wait.until(lambda d: "Thanks — saved as “Strongly disagree”" in body())
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "chat-feedback.png"))

    store = SQLiteFeedbackStore(ragbot_home / "feedback.db")
    (record,) = store.list().items
    assert record.feedback.rating == 1 and record.feedback.label == "Strongly disagree"
    assert record.feedback.correction == "412 car parking spaces and 38 trailer positions (21 01 13, page 2)."
    assert record.feedback.note == "It should also give the trailer count."
    assert record.question == "How many car parking spaces do we have?" and record.answer.strip()
    assert (record.citations[0].source, record.citations[0].page) == ("Design/criteria.pdf", 2)
    assert record.user == "alice" and record.turn == 1 and record.prompt_version and record.model_id
    assert record.created_at <= record.feedback.updated_at

    # Change the rating: the same record is updated.
    click(browser.find_element(By.CSS_SELECTOR, "button[data-testid='stFeedbackButton'][aria-label='Satisfied']"))
    wait.until(lambda d: "Your rating: Agree" in body())
    click_text("Submit feedback")
    wait.until(lambda d: "Thanks — saved as “Agree”" in body())
    (record,) = store.list().items
    assert record.feedback.rating == 4 and record.feedback.note == "It should also give the trailer count."

    # A follow-up joins the conversation.
    ask("And how many trailer positions?", 1)
    records = sorted(store.list().items, key=lambda r: r.turn)
    assert [r.turn for r in records] == [1, 2] and len({r.session_id for r in records}) == 1

    # A new conversation; the earlier one stays listed in the sidebar.
    click_text("New conversation")
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))
    sidebar = browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
    assert "Earlier conversations" in sidebar and "How many car parking spaces do we have?" in sidebar
