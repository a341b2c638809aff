"""The grounding display in a real browser (issue 25 rows 5-7): headless Chromium against `ragbot
app`, the real pipeline (index, retrieval, grounding check) with an OpenAI-compatible server that
returns fixed answers, so what is flagged is known. An invented drawing number inside a range is
flagged; "32" and "1.2" are shown whole while "2" is flagged; list numbering is not flagged.
Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.browser import chrome
from bench.servers import ragbot_app
from tests.app.browser import screenshot
from tests.app.test_browser_chat import Page
from tests.rag.generators.servers import Recorded, Reply, ScriptedServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DOORS = "How many dock doors does the loading dock have?"
DOORS_ANSWER = (
    "The loading dock has 32 dock doors [1]. Each door is 1.2 m wide, with 2 ramps [1]. "
    "The dock is shown on drawings DD-101 to DD-113 [1]."
)
CHECKS = "Which checks does the dock door inspection include?"
PARTS = ["seals", "levellers", "bumpers", "lights", "hinges", "panels", "springs", "rails", "locks", "sensors", "pads"]
# "1. … 2. … 11.": the list of the issue, whose numbers 7, 9, 11 were flagged as in no source.
CHECKS_ANSWER = "The inspection includes:\n\n" + "\n".join(
    f"{n}. Check the door {part} [1]." for n, part in enumerate(PARTS, start=1)
)


def fixed_answers(request: Recorded) -> Reply:
    """The chat-completions stream of the fixed answer to the question asked."""
    asked = request.json["messages"][-1]["content"]
    text = CHECKS_ANSWER if "checks" in asked else DOORS_ANSWER
    chunks = [{"choices": [{"index": 0, "delta": {"content": text[i : i + 12]}}]} for i in range(0, len(text), 12)]
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    return Reply(200, {"Content-Type": "text/event-stream"}, [body])


@pytest.fixture
def env(tmp_path, ragbot_home, monkeypatch):
    docs = tmp_path / "docs" / "Logistics"
    docs.mkdir(parents=True)
    (docs / "dock.md").write_text(
        "# Loading dock\n\nThe loading dock has 32 dock doors, each 1.2 m wide. "
        "Drawings DD-101 to DD-112 show the dock.\n\n"
        f"## Dock door inspection\n\nThe dock door inspection checks the door {', '.join(PARTS)} of every door.\n"
    )
    server = ScriptedServer()
    server.respond = fixed_answers
    with server:
        values = {
            "RAGBOT_HOME": str(ragbot_home),
            "RAGBOT_USER": "alice",
            "RAGBOT_ROLE": "engineer",
            "RAGBOT_GENERATOR": "openai",
            "RAGBOT_OPENAI_BASE_URL": f"{server.url}/v1",
            "RAGBOT_OPENAI_MODEL": "fixed-answers",
        }
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        env = os.environ | values
        admin = env | {"RAGBOT_ROLE": "admin"}
        subprocess.run(
            [sys.executable, "-m", "app.cli", "ingest", str(docs.parent)], env=admin, check=True, capture_output=True
        )
        yield env


def test_engineer_sees_invented_identifiers_flagged_and_whole_numbers_whole(env, ragbot_home):
    from selenium.webdriver.common.by import By

    from feedback.stores.sqlite import SQLiteFeedbackStore

    browser = chrome()
    try:
        page = Page(browser)
        with ragbot_app(env) as url:
            browser.get(url)
            page.ask(DOORS)
            warning = page.wait.until(
                lambda d: next((e.text for e in d.find_elements(By.CSS_SELECTOR, "[data-testid='stAlert']")), None)
            )
            screenshot(browser, "chat-grounding.png")
            # Row 5: the drawing number made up inside a range; row 6: "2" flagged, "32" and "1.2" whole.
            assert "Check before you use this answer: 2, DD-113 appear in none of its sources." in warning
            answer = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[1].text
            assert "32 dock doors" in answer and "1.2 m wide" in answer and "3 2" not in answer
            marked = [
                e.text
                for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage'] span")
                if "background-color" in (e.get_attribute("style") or "") and e.text
            ]
            assert sorted(marked) == ["2", "DD-113"], marked

            # Row 7: a numbered list's numbers are not flagged.
            page.ask(CHECKS)
            page.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")) >= 4)
            screenshot(browser, "chat-grounding-list.png")
            last = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[-1].text
            assert "Check the door pads" in last and "appear in none" not in last and "appears in none" not in last
        store = SQLiteFeedbackStore(ragbot_home / "feedback.db")
        by_question = {r.question: r for r in store.list().items}
        assert sorted(by_question[DOORS].grounding.unsupported) == ["2", "DD-113"]
        assert by_question[CHECKS].grounding.unsupported == []
    finally:
        browser.quit()
