"""A DynamoDB-compatible server for the feedback tests: moto's standalone server on 127.0.0.1.

The tests reach it over HTTP through the real boto3 code path (signing, retries, errors); no
in-process patching. It runs as a subprocess so that a test can kill it and start it again on
the same port (``MotoServer``). moto keeps its tables in memory; with ``recording`` every
request is also appended to a file, and ``replay_recording()`` on a fresh server rebuilds the
state, which lets an outage test check the records written before the crash too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Variables that could point the SDK at a real account or another endpoint.
AWS_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """``python -m moto.server`` on 127.0.0.1, started and stopped by the tests."""

    def __init__(self, log_dir: Path, *, port: int | None = None, recording: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_dir = log_dir
        self.recording = recording
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, **AWS_TEST_ENV}
        if self.recording is not None:
            env.update(MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=str(self.recording))
        self.starts += 1
        log = open(self.log_dir / f"moto-{self.port}-{self.starts}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1) as response:
                    response.read()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.url} within {timeout:.0f} s")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server; ``kill`` sends SIGKILL, a crash rather than a shutdown."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def replay_recording(self) -> None:
        """Re-send every recorded request to this (fresh) server, rebuilding moto's state."""
        request = urllib.request.Request(f"{self.url}/moto-api/recorder/replay-recording", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()

    def recorded_requests(self) -> list[dict]:
        assert self.recording is not None
        return [json.loads(line) for line in self.recording.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> MotoServer:
    """One moto server for the whole session; tests that kill a server start their own."""
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoServer:
    """Test credentials and region, and the SDK's own endpoint variable pointing at the server.

    Stores built without ``endpoint_url``/``region`` then find the server the way a deployment
    finds DynamoDB: through ``AWS_ENDPOINT_URL_DYNAMODB`` and ``AWS_REGION``.
    """
    for key in AWS_CLEARED:
        monkeypatch.delenv(key, raising=False)
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.url)
    # No ~/.aws of whoever runs the tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return moto_server


@pytest.fixture
def table_name() -> str:
    """A table no other test uses."""
    return f"feedback-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def dynamodb_store(aws_env, table_name):
    """An empty DynamoDBFeedbackStore on a fresh table of the session's moto server."""
    from feedback.stores.dynamodb import DynamoDBFeedbackStore

    store = DynamoDBFeedbackStore(table_name)
    store.create_table()
    yield store
    try:
        store.client.delete_table(TableName=table_name)
    finally:
        store.close()
