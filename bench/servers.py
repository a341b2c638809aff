"""Servers on 127.0.0.1 that benchmarks and tests start, wait for, and stop with their children:
a free port, any command in its own process group, ``ragbot app``, and moto's DynamoDB server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (bound once, then released)."""
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
    """Run ``command`` in its own process group until ``ready_url`` answers 200; stop it afterwards.

    Raises:
        RuntimeError: it exited, or did not answer within ``timeout`` seconds (with its output's tail).
    """
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
                    raise RuntimeError(
                        f"{command[0]} did not start: {process.stdout.read().decode()[-2000:]}"
                    ) from None
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


class Moto:
    """moto's standalone server in a subprocess on a free port of 127.0.0.1, logging to
    ``log_dir/moto.log`` (a pipe nobody reads would stall it under a benchmark's load)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_dir / "moto.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto server did not start; see {self.log.name}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()
