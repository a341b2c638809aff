"""What only the browser journeys use: screenshots kept as test artifacts, and waits on what the
page shows. The servers they start and the headless Chromium they drive come from bench/
(``bench.servers``, ``bench.browser``), which the chat latency benchmark shares."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def form_values_taken(driver) -> bool:
    """No text field of a form is being typed in: Streamlit shows a field's input hint only while it
    has the focus, and takes its value into the form when it loses it (before it redraws without
    the hint), so a submit from here sends what was typed."""
    from selenium.webdriver.common.by import By

    return not driver.find_elements(By.CSS_SELECTOR, "[data-testid='stForm'] [data-testid='InputInstructions']")


def table_rows(driver) -> list[dict[str, str]]:
    """The rows in view of the table on show (on the open tab), by column title. The grid draws its
    cells on a canvas and keeps the rows in view as an accessible table, which a screen reader
    reads and so does this."""
    rows = driver.execute_script(
        "const frame = [...document.querySelectorAll(\"[data-testid='stDataFrame']\")].find(f => f.offsetParent);"
        "const grid = frame && frame.querySelector(\"table[role='grid']\");"
        "return grid ? [...grid.querySelectorAll('tr')].map(r => [...r.children].map(c => c.textContent.trim())) : [];"
    )
    header, *cells = rows or [[]]
    return [dict(zip(header, row, strict=False)) for row in cells]
