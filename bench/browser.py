"""Headless Chromium driven through Debian's ChromeDriver, for the browser journeys (tests/app)
and the chat latency benchmark."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Without the background-networking flags Chromium keeps dialling out, which this closed
# network refuses; the rest are the usual flags for running as root without a display.
CHROME_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1800",
]  # fmt: skip


def chrome():
    """A headless Chromium WebDriver; the caller quits it.

    Raises:
        RuntimeError: Chromium or ChromeDriver is not installed (with the command that installs them).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        raise RuntimeError(
            "Chromium and ChromeDriver are missing: `make setup-dev` installs Debian's chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
