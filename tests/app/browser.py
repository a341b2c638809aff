"""What the browser journeys share: servers started on 127.0.0.1 and stopped with their
children, and headless Chromium driven through Debian's ChromeDriver."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
# Without the background-networking flags Chromium keeps dialling out, which this closed
# network refuses; the rest are the usual flags for running as root without a display.
CHROME_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1800",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after 10 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def server(
    command: Sequence[str], ready_url: str, env: dict | None = None, timeout: float = 90
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in its own process group until ``ready_url`` answers 200; stop it afterwards."""
    process = subprocess.Popen(
        list(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.time() + timeout
    try:
        while True:
            try:
                if urllib.request.urlopen(ready_url, timeout=2).status == 200:
                    break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    stop(process)
                    pytest.fail(f"{command[0]} did not start: {process.stdout.read().decode()[-2000:]}")
                time.sleep(0.3)
        yield process
    finally:
        stop(process)


@contextmanager
def ragbot_app(env: dict, port: int | None = None) -> Iterator[str]:
    """``ragbot app`` on a free port; yields its URL (with ``localhost``, as a user would type it)."""
    port = port or free_port()
    command = [sys.executable, "-m", "app.cli", "app", "--port", str(port)]
    with server(command, f"http://127.0.0.1:{port}/_stcore/health", env=env):
        yield f"http://localhost:{port}"


def chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(
            "Chromium and ChromeDriver are missing: `make setup-dev` installs Debian's chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path
