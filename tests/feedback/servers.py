"""DynamoDB-compatible servers started by the tests on 127.0.0.1, each in a process group of its
own so that stopping one stops whatever it started too.

``MotoServer`` is moto's standalone server (it has every DynamoDB call ragbot makes);
``DynaliteServer`` is the npm package dynalite (installed by ``make setup-dev`` into
``.cache/node``), a LevelDB-backed DynamoDB that lacks the backup calls, as DynamoDB Local
does, so ``init-table`` is tested against a server without ``UpdateContinuousBackups``.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DYNALITE = ROOT / ".cache" / "node" / "node_modules" / "dynalite" / "cli.js"

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Variables that could point the SDK at a real account or another endpoint.
AWS_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN")


class ServerProcess:
    """A server subprocess on 127.0.0.1 that the tests start, wait for, and stop with its children."""

    name = "server"

    def __init__(self, log_dir: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.starts = 0
        atexit.register(self.stop)  # even when the session is interrupted

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return {**os.environ, **AWS_TEST_ENV}

    def ready(self) -> bool:
        """Whether the server answers HTTP yet (any status will do)."""
        try:
            with urllib.request.urlopen(self.url, timeout=1) as response:
                response.read()
        except urllib.error.HTTPError:
            pass
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        return True

    def start(self, timeout: float = 60.0) -> None:
        self.starts += 1
        log_path = self.log_dir / f"{self.name}-{self.port}-{self.starts}.log"
        with open(log_path, "wb") as log:
            # A session of its own: stop() signals the whole group, children included.
            self.process = subprocess.Popen(
                self.command(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"{self.name} exited with {code}; see {log_path}")
            if self.ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on {self.url} within {timeout:.0f} s; see {log_path}")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server and its children; ``kill`` sends SIGKILL, a crash rather than a shutdown."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
            except ProcessLookupError:
                pass
        # Children that outlived their parent are still in the group.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class MotoServer(ServerProcess):
    """``python -m moto.server`` on 127.0.0.1.

    moto keeps its tables in memory; with ``recording`` every request is also appended to a
    file, and ``replay_recording()`` on a fresh server rebuilds the state, which lets an outage
    test check the records written before the crash too.
    """

    name = "moto"

    def __init__(self, log_dir: Path, *, port: int | None = None, recording: Path | None = None) -> None:
        super().__init__(log_dir, port=port)
        self.recording = recording

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        if self.recording is not None:
            env.update(MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=str(self.recording))
        return env

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1) as response:
                response.read()
            return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def replay_recording(self) -> None:
        """Re-send every recorded request to this (fresh) server, rebuilding moto's state."""
        request = urllib.request.Request(f"{self.url}/moto-api/recorder/replay-recording", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()

    def recorded_requests(self) -> list[dict]:
        assert self.recording is not None
        return [json.loads(line) for line in self.recording.read_text().splitlines() if line.strip()]


class DynaliteServer(ServerProcess):
    """dynalite (npm) on 127.0.0.1, in memory; tables turn ACTIVE after ``create_ms`` milliseconds."""

    name = "dynalite"

    def __init__(self, log_dir: Path, *, port: int | None = None, create_ms: int = 50) -> None:
        super().__init__(log_dir, port=port)
        self.create_ms = create_ms

    @staticmethod
    def available() -> str | None:
        """Why dynalite cannot run here, or None when it can."""
        if shutil.which("node") is None:
            return "node is not installed (make setup-dev installs dynalite with npm)"
        if not DYNALITE.exists():
            return f"dynalite is not installed at {DYNALITE.parent}: run `make setup-dev`"
        return None

    def command(self) -> list[str]:
        return [
            "node",
            str(DYNALITE),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--createTableMs",
            str(self.create_ms),
            "--deleteTableMs",
            "0",
            "--updateTableMs",
            "0",
        ]
