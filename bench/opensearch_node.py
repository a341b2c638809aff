"""A real single-node OpenSearch 2.19 (k-NN with the Lucene engine, neural-search) for the tests
and the benchmarks, built by Maven from tests/opensearch-node/ into .cache/opensearch-node/ and
started on 127.0.0.1.

``python -m bench.opensearch_node build`` builds it (``make setup-dev`` does); ``run`` starts one
in the foreground and prints its URL, for trying ragbot against it by hand. The test fixture
(tests/rag/stores/conftest.py) builds it if needed, starts it once per test session and stops it
after; benchmarks start theirs with ``running`` (a bigger heap for 100k chunks), which stops it
and removes its data however the benchmark ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "tests" / "opensearch-node"
BUILD = ROOT / ".cache" / "opensearch-node"
STAMP = BUILD / "built-from"
# Small enough for a 2-core CI machine; the serial collector keeps GC threads to one.
HEAP = "1g"
JVM_OPTIONS = ["-XX:+UseSerialGC", "-Djava.locale.providers=SPI,COMPAT"]


class Unavailable(Exception):
    """No JDK or Maven here: the OpenSearch tests skip with this reason."""


def java() -> str:
    """The ``java`` of $JAVA_HOME, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    found = (
        str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")
    )
    if not found:
        raise Unavailable("no JDK (java) to run the test OpenSearch node; install a JDK 17+ or set OPENSEARCH_URL")
    return found


def sources_digest() -> str:
    """What the build is made from: a change to any of it rebuilds."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PROJECT.rglob("*") if p.is_file() and "target" not in p.parts):
        digest.update(str(path.relative_to(PROJECT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build(*, quiet: bool = True) -> Path:
    """Build the node unless .cache/opensearch-node/ already holds this version of it."""
    java()
    want = sources_digest()
    if STAMP.exists() and STAMP.read_text() == want:
        return BUILD
    mvn = shutil.which("mvn")
    if not mvn:
        raise Unavailable("no Maven (mvn) to build the test OpenSearch node; install Maven or set OPENSEARCH_URL")
    shutil.rmtree(BUILD, ignore_errors=True)  # no jars of an older version left on the class path
    command = [mvn, "-B", "-f", str(PROJECT / "pom.xml"), "package"]
    if quiet:
        command.insert(1, "-q")
    done = subprocess.run(command, capture_output=quiet, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the test OpenSearch node failed: {' '.join(command)}\n{done.stdout[-4000:]}")
    STAMP.write_text(want)
    return BUILD


@dataclass
class Node:
    """A started node: its URL and process (the JVM, in a session of its own)."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self, timeout: float = 30.0) -> None:
        """Close its standard input (it shuts down cleanly), then TERM and KILL its process group."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:  # anything it started, too
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def jvm_options(heap: str = HEAP) -> list[str]:
    """The JVM's options: ``heap`` is its maximum heap as ``-Xmx`` takes it ("1g", "3g", "512m")."""
    if not heap or not heap[:-1].isdigit() or heap[-1].lower() not in "mg":
        raise ValueError(f"heap must be a size such as 512m or 3g, not {heap!r}")
    return [f"-Xms{heap if heap.lower().endswith('m') else '512m'}", f"-Xmx{heap}", *JVM_OPTIONS]


def start(data: Path, *, port: int = 0, heap: str = HEAP, timeout: float = 240.0) -> Node:
    """Start the built node with its indices under ``data`` and wait for yellow health."""
    options = jvm_options(heap)
    data.mkdir(parents=True, exist_ok=True)
    log = data / "node.log"
    command = [java(), *options, "-cp", f"{BUILD / 'classes'}{os.pathsep}{BUILD / 'lib' / '*'}"]
    command += ["ragbot.node.Main", str(data), str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    node = Node("", process, log)
    deadline = time.monotonic() + timeout
    try:
        while not node.url:
            if process.poll() is not None:
                raise RuntimeError(f"the test OpenSearch node exited ({process.returncode}):\n{tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test OpenSearch node did not start in {timeout:.0f} s:\n{tail(log)}")
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("http="):
                    node.url = "http://" + line.removeprefix("http=").strip()
            time.sleep(0.25)
        health = f"{node.url}/_cluster/health?wait_for_status=yellow&timeout=60s"
        with urllib.request.urlopen(health, timeout=90) as reply:
            status = json.load(reply)["status"]
        if status not in ("green", "yellow"):
            raise RuntimeError(f"the test OpenSearch node is {status}:\n{tail(log)}")
    except BaseException:
        node.stop()
        raise
    return node


@contextmanager
def running(*, heap: str = HEAP) -> Iterator[Node]:
    """A node built if needed and started on a free port, its data in a temporary folder; stopped,
    JVM and all, and the folder removed when the block ends, however it ends."""
    build()
    data = Path(tempfile.mkdtemp(prefix="ragbot-opensearch-"))
    try:
        node = start(data, heap=heap)
        try:
            yield node
        finally:
            node.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)


def tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main(argv: list[str]) -> int:
    what = argv[0] if argv else ""
    if what not in ("build", "run"):
        print("usage: python -m bench.opensearch_node build | run [DATA_DIR] [PORT]", file=sys.stderr)
        return 2
    try:
        build()
    except Unavailable as e:
        print(f"skipped: {e}", file=sys.stderr)
        return 0 if what == "build" else 1
    if what == "build":
        print(f"built the test OpenSearch node in {BUILD}")
        return 0
    data = Path(argv[1]) if len(argv) > 1 else ROOT / ".cache" / "opensearch-data"
    node = start(data, port=int(argv[2]) if len(argv) > 2 else 9200)
    print(f"OpenSearch is up at {node.url} (data in {data}); Ctrl-C stops it.")
    print(f"  RAGBOT_VECTOR_STORE=opensearch OPENSEARCH_URL={node.url} ragbot status")
    try:
        node.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
