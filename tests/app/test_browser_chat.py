"""The chat features in a real browser: headless Chromium against `ragbot app`.

An engineer starts from a suggested question, stops an answer, asks again, regenerates, copies,
sends a question about another thing while an answer is written (issue 25 rows 8 and 3: the
cut-short turn stays; the new answer comes from its own passages, not the earlier answers) and
exports the conversation; and, after an SME validated a reference answer, an engineer asks a
paraphrase in a new conversation and is served the verified answer with its marker and sources,
the model's answer one click away. Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.browser import chrome
from bench.servers import ragbot_app
from tests.app.browser import screenshot
from tests.docs import make_pdf

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PARKING = "How many car parking spaces do we have?"
TRAILERS = "And how many trailer positions?"
TANK = "What is the effective capacity of the sprinkler storage tank?"
PARAPHRASE = "What effective capacity does the sprinkler storage tank have?"
REFERENCE = "The effective capacity of the sprinkler storage tank is 950 m3 [1]."


@pytest.fixture
def env(tmp_path, ragbot_home, local_model_dir, monkeypatch):
    docs = tmp_path / "docs"
    make_pdf(
        docs / "Design" / "criteria.pdf",
        [
            "General requirements for the building envelope.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
        ],
    )
    (docs / "Fire").mkdir(parents=True)
    (docs / "Fire" / "sprinklers.md").write_text(
        "# Fire protection\n\n## Sprinkler storage tank\n\nThe effective capacity of the sprinkler storage tank "
        "is 950 m3. It is refilled from the town main within 8 hours.\n"
    )
    values = {
        "RAGBOT_HOME": str(ragbot_home),
        "RAGBOT_LOCAL_MODEL": str(local_model_dir),
        "RAGBOT_USER": "alice",
        "RAGBOT_MAX_NEW_TOKENS": "160",  # long enough to press Stop while it writes
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    env = os.environ | values
    subprocess.run([sys.executable, "-m", "app.cli", "ingest", str(docs)], env=env, check=True, capture_output=True)
    return env


@pytest.fixture
def browser(tmp_path):
    driver = chrome()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


class Page:
    """What the journeys do on the chat page, each step waiting on what the user would see."""

    def __init__(self, driver):
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.d = driver
        self.wait = WebDriverWait(driver, 240, ignored_exceptions=(StaleElementReferenceException,))

    def body(self) -> str:
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.TAG_NAME, "body").text

    def idle(self) -> bool:
        from selenium.webdriver.common.by import By

        return bool(self.d.find_elements(By.CSS_SELECTOR, "[data-testid='stApp'][data-test-script-state='notRunning']"))

    def ratings(self) -> int:
        from selenium.webdriver.common.by import By

        return len(self.d.find_elements(By.XPATH, "//*[contains(text(), 'This answer is correct and useful')]"))

    def type(self, question: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        box = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']"))
        box.send_keys(question)
        box.send_keys(Keys.ENTER)

    def ask(self, question: str) -> None:
        before = self.ratings()
        self.type(question)
        self.wait.until(lambda d: self.ratings() > before and self.idle())

    def button(self, text: str):
        from selenium.webdriver.common.by import By

        return self.wait.until(
            lambda d: next(
                (b for b in d.find_elements(By.TAG_NAME, "button") if text in b.text and b.is_enabled()), None
            )
        )

    def click(self, element) -> None:
        from selenium.common.exceptions import ElementClickInterceptedException

        def clicked(d) -> bool:
            # The chat input is pinned to the bottom of the window and covers what scrolls under
            # it, and the page may still be laying out what the last run drew: retry until the
            # element itself takes the click.
            d.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            try:
                element.click()
            except ElementClickInterceptedException:
                return False
            return True

        self.wait.until(clicked)

    def newest_question_in_view(self) -> bool:
        return self.d.execute_script(
            "const u = document.querySelectorAll('[data-testid=\"stChatMessageAvatarUser\"]');"
            "if (!u.length) return false; const r = u[u.length - 1].getBoundingClientRect();"
            "return r.top >= 0 && r.bottom <= window.innerHeight;"
        )


def test_engineer_stops_asks_again_regenerates_copies_and_exports(env, browser, ragbot_home):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from feedback.stores.sqlite import SQLiteFeedbackStore

    store = SQLiteFeedbackStore(ragbot_home / "feedback.db")
    page = Page(browser)
    with ragbot_app(env) as url:
        browser.get(url)
        # An empty chat offers questions drawn from the documents' sections.
        page.wait.until(lambda d: "What does sprinklers.md say about sprinkler storage tank?" in page.body())
        screenshot(browser, "chat-empty.png")

        # Stop while it writes: the question and what was written stay, marked stopped.
        page.type(PARKING)
        # The first words are on screen once the passages are found and the stage line is gone.
        page.wait.until(
            lambda d: "passages in" in page.body()
            and "Writing the answer" not in page.body()
            and "Searching the documents" not in page.body()
        )
        # The page's Stop (not Streamlit's own "Stop" in the toolbar, which ends the run outright).
        stop = page.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".st-key-chat_stop button"))
        page.click(stop)
        try:
            page.wait.until(lambda d: "Stopped before the end" in page.body() and page.idle())
        finally:
            screenshot(browser, "chat-stopped.png")
        (stopped,) = store.list().items
        assert stopped.stopped and stopped.question == PARKING and stopped.answer.strip()

        # Asked again, answered in full; the new question is brought into view.
        page.ask(PARKING)
        page.wait.until(lambda d: page.newest_question_in_view())
        answers = [r for r in store.list().items if not r.stopped]
        assert len(answers) == 1 and answers[0].turn == 2

        # Regenerate: a second answer to the same question, the first kept.
        before = page.ratings()
        page.click(page.button("Regenerate"))
        page.wait.until(lambda d: page.ratings() > before and page.idle())
        records = sorted(store.list().items, key=lambda r: r.turn)
        # The stopped fragment is not an earlier answer the new ones could be said to repeat.
        assert not any(r.grounding and r.grounding.repeated for r in records)
        assert [(r.turn, r.question, r.stopped) for r in records] == [
            (1, PARKING, True),
            (2, PARKING, False),
            (3, PARKING, False),
        ]
        page.wait.until(lambda d: page.newest_question_in_view())
        screenshot(browser, "chat-regenerated.png")

        # Copy: the answer as text in a box with a copy icon.
        copies = browser.find_elements(By.XPATH, "//button[contains(., 'Copy')]")
        page.click(copies[-1])
        code = page.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='stPopoverBody'] code"))
        assert " ".join(code.text.split()) == " ".join(records[-1].answer.split())
        browser.find_element(By.TAG_NAME, "body").send_keys("\ue00c")  # Escape closes the popover

        # Rows 8 and 3: while a follow-up about the trailers is being written, the engineer sends a
        # question about another thing. The follow-up stays with what it had written, marked
        # stopped; the tank is answered from its own passages, none of the parking answers' text.
        before = page.ratings()
        page.type(TRAILERS)
        box = "textarea[data-testid='stChatInputTextArea']"
        browser.find_element(By.CSS_SELECTOR, box).send_keys(TANK)  # typed while the answer is sought; sent below
        page.wait.until(
            lambda d: "passages in" in page.body()
            and "Writing the answer" not in page.body()
            and "Searching the documents" not in page.body()
        )
        browser.find_element(By.CSS_SELECTOR, box).send_keys(Keys.ENTER)
        # Both turns drawn in full, each with its rating scale (what was written can be rated too).
        page.wait.until(lambda d: page.ratings() >= before + 2 and page.idle())
        page.wait.until(lambda d: page.newest_question_in_view())
        records = sorted(store.list().items, key=lambda r: r.turn)
        assert [(r.turn, r.question, r.stopped) for r in records[3:]] == [(4, TRAILERS, True), (5, TANK, False)]
        cut, tank = records[3:]
        assert cut.answer.strip(), "the follow-up was answered in full before the tank question was sent"
        messages = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")]
        assert TRAILERS in messages[6] and " ".join(cut.answer.split()) in " ".join(messages[7].split())
        assert "Stopped before the end" in messages[7] and TANK in messages[8]
        assert tank.citations[0].source == "Fire/sprinklers.md" and "950 m3" in tank.answer, tank.answer
        assert "parking" not in tank.answer.lower() and not tank.grounding.repeated, tank.answer
        assert "Fire/sprinklers.md" in messages[9]
        browser.execute_script(
            "arguments[0].scrollIntoView({block: 'start'})",
            browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[6],
        )
        screenshot(browser, "chat-asked-while-writing.png")

        # Export: the conversation as Markdown, every turn with its sources, the cut-short one too.
        page.click(page.button("Export this conversation"))
        page.wait.until(lambda d: [p for p in browser.downloads.glob("*.md")])
        (exported,) = browser.downloads.glob("*.md")
        text = exported.read_text()
        assert [line for line in text.splitlines() if line.startswith("## ")] == [
            f"## {n}. {q}" for n, q in enumerate([PARKING, PARKING, PARKING, TRAILERS, TANK], start=1)
        ]
        assert text.count("Stopped before the end") == 2 and cut.answer.strip() in text
        assert "Design/criteria.pdf – page 2" in text and "Fire/sprinklers.md" in text


def test_engineer_is_served_a_verified_answer_with_its_marker_and_sources(env, browser, ragbot_home, shared_models):
    from selenium.webdriver.common.by import By

    from app.config import Settings
    from app.services import Backends, Identity, Services
    from rag.records import Answer
    from rag.pipeline import to_citations

    # An earlier answer, validated by an SME with a reference answer on the Review page's service.
    services = Services(backends=shared_models(Backends(Settings())))
    made = Answer(
        question=TANK,
        answer="The tank holds 2,450 m3.",
        found=True,
        citations=to_citations(services.backends.retriever.search(TANK, k=2)),
        model_id="m",
        prompt_version="p",
        latency_ms=900,
    )
    eve = services.as_identity(Identity(user="eve", role="engineer"))
    original = eve.chat.record_answer(made, session_id="earlier", turn=1)
    sme = services.as_identity(Identity(user="sam", role="sme"))
    sme.review.review(original.id, opened=None, status="validated", sme_score=5.0, reference_answer=REFERENCE)

    page = Page(browser)
    with ragbot_app(env) as url:
        browser.get(url)
        page.ask(PARAPHRASE)
        body = page.body()
        reviewed = services.backends.feedback_store.get(original.id).review.reviewed_at
        assert f"Verified by sam on {reviewed:%Y-%m-%d} for: '{TANK}'" in body
        assert "950 m3" in body and "the model was not asked" in body
        expander = page.wait.until(lambda d: d.find_element(By.XPATH, "//summary[contains(., 'Fire/sprinklers.md')]"))
        page.click(expander)
        page.wait.until(lambda d: "refilled from the town main" in page.body())
        message = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[-1]
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", message)
        screenshot(browser, "chat-verified.png")

        served = [r for r in services.backends.feedback_store.list().items if r.user == "alice"]
        assert len(served) == 1 and served[0].verified.id == original.id

        # The model's own answer, one click away, as the next turn.
        before = page.ratings()
        page.click(page.button("Show the model's answer"))
        page.wait.until(lambda d: page.ratings() > before and page.idle())
        mine = sorted(
            (r for r in services.backends.feedback_store.list().items if r.user == "alice"), key=lambda r: r.turn
        )
        assert [(r.turn, r.verified is not None) for r in mine] == [(1, True), (2, False)]
        assert mine[1].question == PARAPHRASE
