"""The blind A/B test in a real browser: headless Chromium against `ragbot app`.

With RAGBOT_AB_SHARE=0.5 and a candidate in the registry (the packaged model registered under a
registry id, so both arms run the real tiny model), an engineer starts conversations until two
landed in different arms (the records name the models; the chat names neither), rates each; the
Admin page's A/B tab shows each arm with its rating. Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bench.browser import chrome
from bench.servers import ragbot_app
from tests.app.browser import screenshot
from tests.docs import make_pdf
from training.registry import ModelCard, Registry, new_id

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def env(tmp_path, ragbot_home, local_model_dir):
    docs = tmp_path / "docs"
    make_pdf(docs / "criteria.pdf", ["21 01 13 Parking. The site provides 412 car parking spaces."])
    values = {
        "RAGBOT_HOME": str(ragbot_home),
        "RAGBOT_LOCAL_MODEL": str(local_model_dir),
        "RAGBOT_LOCAL_RUNTIME": "transformers",
        "RAGBOT_USER": "alice",
        "RAGBOT_MAX_NEW_TOKENS": "24",
        "RAGBOT_AB_SHARE": "0.5",
    }
    env = os.environ | values
    subprocess.run([sys.executable, "-m", "app.cli", "ingest", str(docs)], env=env, check=True, capture_output=True)
    return env


def register_base_as_candidate(models_dir, local_model_dir) -> str:
    """The packaged model as a registered candidate, linked rather than copied (1 GB)."""
    card = ModelCard(
        id=new_id("sft"),
        created_at=datetime.now(UTC),
        base="SmolLM2-135M-Instruct",
        method="sft",
        profile="tiny",
        data_hash="d" * 64,
        eval_set_hash="e" * 64,
        served=str(local_model_dir),
        verdict="better",
    )
    folder = models_dir / card.id
    folder.mkdir(parents=True)
    (folder / "model").symlink_to(local_model_dir, target_is_directory=True)
    (folder / "card.json").write_text(card.model_dump_json(indent=2))
    assert Registry(models_dir).card(card.id).verdict == "better"
    return card.id


def test_two_conversations_in_different_arms_rated_and_shown_per_arm(env, ragbot_home, local_model_dir):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from feedback.stores.sqlite import SQLiteFeedbackStore

    candidate = register_base_as_candidate(ragbot_home / "models", local_model_dir)
    served = str(local_model_dir)
    store = SQLiteFeedbackStore(ragbot_home / "feedback.db")
    with ragbot_app(env) as url:
        browser = chrome()
        try:
            wait = WebDriverWait(browser, 180, ignored_exceptions=(StaleElementReferenceException,))
            body = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731

            def click(element) -> None:
                browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
                element.click()

            def rate(label: str) -> None:
                buttons = "button[data-variant='segmented_control']"
                click(
                    wait.until(
                        lambda d: next(
                            (b for b in d.find_elements(By.CSS_SELECTOR, buttons) if b.text.strip().endswith(label)),
                            None,
                        )
                    )
                )
                wait.until(lambda d: f"Saved: {label}" in body())

            browser.get(url)
            arms: dict[str, str] = {}  # model id -> the rating given to its answer
            for attempt in range(12):  # each new conversation is a fair coin: both arms within 12 (1 - 2^-11)
                if attempt:
                    click(wait.until(lambda d: d.find_element(By.XPATH, "//button[contains(., 'New conversation')]")))
                    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))
                box = wait.until(
                    lambda d: d.find_element(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")
                )
                box.send_keys("How many car parking spaces are there?")
                box.send_keys(Keys.ENTER)
                wait.until(lambda d: "This answer is correct and useful" in body())
                newest = max(store.list().items, key=lambda r: r.created_at)
                text = body()
                assert "Answered by the answer model (local)" in text  # blind: neither model is named
                assert candidate not in text and served not in text
                if newest.model_id not in arms:
                    label = "Strongly disagree" if newest.model_id == served else "Agree"
                    rate(label)
                    arms[newest.model_id] = label
                    screenshot(browser, f"ab-chat-{'served' if newest.model_id == served else 'candidate'}.png")
                if len(arms) == 2:
                    break
            assert set(arms) == {served, candidate}, arms
            records = store.list().items
            assert {r.model_id for r in records} == {served, candidate}
            assert len({r.session_id for r in records}) == len(records)  # one answer per conversation

            browser.get(f"{url}/admin")
            tab = "//*[@data-testid='stTab' and contains(., 'A/B test')]"
            click(wait.until(lambda d: d.find_element(By.XPATH, tab)))
            wait.until(lambda d: "Ratings per arm" in body())
            # Read the panel once the run is over: mid-run it may hold one arm's figures only.
            idle = "[data-testid='stApp'][data-test-script-state='notRunning']"
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, idle))
            panel = next(
                p for p in browser.find_elements(By.CSS_SELECTOR, "[data-testid='stTabPanel']") if p.is_displayed()
            )
            # Each arm's metrics may show a moment after its title (seen twice in 5 runs, the served
            # arm's title alone): wait for both arms' figures, then read the panel.
            wait.until(lambda d: panel.text.split("Ratings per arm")[0].count("Negative (1–2)") == 2)
            text = panel.text
            assert f"50% of new conversations go to {candidate}" in text
            assert "Fisher's exact test" in text and "Promote the candidate" in text and "Stop the test" in text
            served_arm, candidate_arm = text.split("Ratings per arm")[0].split("Candidate ·")
            assert "Served model ·" in served_arm and "Negative (1–2)\n100%" in served_arm
            # the served model is a folder: named by its name, its path kept for the hover
            assert f"Served model · {local_model_dir.name}\n" in served_arm and served not in text
            assert candidate in candidate_arm and "Negative (1–2)\n0%" in candidate_arm
            browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", panel)
            # The ratings table draws on a canvas after the run: wait for it before the picture.
            painted = (
                "return [...arguments[0].querySelectorAll(\"[data-testid='stDataFrame'] canvas\")].some(c =>"
                " c.width && c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0))"
            )
            wait.until(lambda d: d.execute_script(painted, panel))
            screenshot(browser, "admin-ab.png")
        finally:
            browser.quit()
            store.close()
