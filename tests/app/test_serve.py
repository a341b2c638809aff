"""`ragbot app` stops with one signal: nothing is left serving on the port, no child survives."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from bench.servers import free_port

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_one_signal_to_ragbot_app_stops_everything(sig, ragbot_home):
    port = free_port()
    env = os.environ | {"RAGBOT_HOME": str(ragbot_home)}
    # Its own session, so whatever it might leave behind can be found (and cleaned up) by group.
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "app", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                assert time.time() < deadline and process.poll() is None, "ragbot app did not start"
                time.sleep(0.3)
        process.send_signal(sig)  # to the one process a user would kill, not to its group
        assert process.wait(timeout=10) is not None
        assert not _listening(port), "something still serves the port"
        with pytest.raises(ProcessLookupError):
            os.killpg(process.pid, 0)  # no process of its group is left
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_bad_roles_file_stops_the_start_with_the_line_that_is_wrong(tmp_path, ragbot_home):
    roles = tmp_path / "roles.toml"
    roles.write_text('"ana@example.com" = "admin"\n"bo@example.com" = "boss"\n')
    env = os.environ | {
        "RAGBOT_HOME": str(ragbot_home),
        "RAGBOT_AUTH": "proxy",
        "RAGBOT_PROXY_MODE": "header",
        "RAGBOT_ROLES_FILE": str(roles),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "app", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert 'bo@example.com = "boss" is not a role; use one of engineer, sme, admin' in done.stderr
