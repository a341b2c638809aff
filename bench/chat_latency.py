"""What a user waits for in the chat: from Enter to the first thing on screen, the sources, the
first word of the answer and the whole answer — in headless Chromium against ``ragbot app``.

The sample corpus is ingested into a fresh ``RAGBOT_HOME``; the app is started and warmed with
one question (the models load once per server, not per question); then each question of
``QUESTIONS`` is typed and sent ``--runs`` times, each in a new conversation. For each send the
page is polled every 20 ms for: the first stage line ("Searching the documents…"), the sources
("Found N passages…"), the first token of the answer and the rating faces (the answer is done).

The obvious alternative is what the chat did before (and what a plain ``st.write_stream`` chat
does): nothing until the first token. Its figure is the first-token time of the same sends, so
the ratio ``first token / first visible`` is how much sooner the user sees that work is under way.
Prints medians; asserts nothing.

    python -m bench.chat_latency
    python -m bench.chat_latency --runs 5 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

QUESTIONS = [
    "How many car parking spaces do we have?",
    "What is the minimum clear height in the warehouse?",
    "Which lighting level is required in the loading docks?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ragbot-chat-latency-") as tmp:
        rows = measure(Path(tmp), args)
    print(
        f"chat latency in Chromium, sample corpus, {len(rows)} sends ({args.runs} x {len(QUESTIONS)} questions), max {args.max_new_tokens} new tokens"
    )
    medians = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    for key, value in medians.items():
        print(
            f"  {key:>13}: median {value:6.2f} s   (min {min(r[key] for r in rows):.2f}, max {max(r[key] for r in rows):.2f})"
        )
    print(
        f"  a chat that shows nothing before the first token leaves the user {medians['first token'] / medians['first visible']:.0f}x longer without a sign of work"
    )


def measure(home: Path, args) -> list[dict[str, float]]:
    """The marks of every send (after a warm-up) against an app over a fresh RAGBOT_HOME."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from bench.browser import chrome
    from bench.servers import ragbot_app

    env = os.environ | {
        "RAGBOT_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "RAGBOT_MAX_NEW_TOKENS": str(args.max_new_tokens),
    }
    subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", str(ROOT / "samples" / "warehouse-standards")],
        env=env,
        check=True,
        capture_output=True,
    )

    with ragbot_app(env) as url:
        browser = chrome()
        try:
            body = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731

            def until(test, timeout=300.0) -> float:
                deadline = time.perf_counter() + timeout
                while time.perf_counter() < deadline:
                    if test():
                        return time.perf_counter()
                    time.sleep(0.02)
                raise TimeoutError("the page did not get there")

            def send(question: str) -> dict[str, float]:
                browser.get(url)
                box = until_element(
                    lambda: browser.find_elements(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")
                )
                box.send_keys(question)
                answers = lambda: browser.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")  # noqa: E731
                t0 = time.perf_counter()
                box.send_keys(Keys.ENTER)
                marks = {}
                marks["first visible"] = until(lambda: "Searching the documents" in body() or "Found " in body()) - t0
                marks["sources"] = until(lambda: "Found " in body() or "Sources" in body()) - t0
                marks["first token"] = (
                    until(lambda: len(answers()) >= 2 and _answer_text(answers()[-1]).strip() != "") - t0
                )
                marks["whole answer"] = until(lambda: "This answer is correct and useful" in body()) - t0
                return marks

            def until_element(find, timeout=120.0):
                deadline = time.perf_counter() + timeout
                while time.perf_counter() < deadline:
                    found = find()
                    if found:
                        return found[0]
                    time.sleep(0.05)
                raise TimeoutError("no chat input")

            send("warm-up: where is the site?")  # loads the models once
            return [send(q) for _ in range(args.runs) for q in QUESTIONS]
        finally:
            browser.quit()


def _answer_text(message) -> str:
    """The answer's own text in a chat message: what the stage captions are not."""
    from selenium.webdriver.common.by import By

    texts = [m.text for m in message.find_elements(By.CSS_SELECTOR, "[data-testid='stMarkdownContainer']")]
    return " ".join(
        t for t in texts if t and not t.startswith(("Searching the documents", "Found ", "Writing the answer"))
    )


if __name__ == "__main__":
    main()
