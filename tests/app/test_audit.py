"""The audit log keeps refusals and bulk actions cut short, not only what succeeded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.services import Forbidden, Identity, Services
from app.services.corpus import _uploaded
from feedback.audit import AuditEvent
from feedback.errors import InvalidExportFile
from tests.feedback.contract import make

ADMIN = Identity(user="boss@x.io", role="admin", how="proxy")


@pytest.fixture
def services():
    return Services(Settings(), identity=ADMIN)


def events(services) -> list:
    return list(reversed(services.audit.events(limit=100).items))  # oldest first


def exported(services, tmp_path, n: int):
    for i in range(n):
        services.backends.feedback_store.put(make(f"i{i:04d}", minutes=i))
    path = tmp_path / "all.jsonl"
    assert services.feedback.export(path, "jsonl") == n
    return path


def test_an_import_interrupted_mid_way_says_how_far_it_got(services, tmp_path, monkeypatch):
    path = exported(services, tmp_path, 250)
    store = services.backends.feedback_store
    real_put = store.put
    calls = []

    def put(record):
        if not calls:  # the trace is on disk before the first record is written
            assert [(e.action, e.outcome) for e in events(services)][-1] == ("import", "started")
        calls.append(record.id)
        if len(calls) == 230:
            raise KeyboardInterrupt  # Ctrl-C, or the SIGTERM of a stopping container
        real_put(record)

    monkeypatch.setattr(store, "put", put)
    with pytest.raises(KeyboardInterrupt):
        services.feedback.import_file(path)
    started, stopped = events(services)[-2:]
    assert (started.action, started.outcome, started.target) == ("import", "started", str(path))
    assert (stopped.action, stopped.outcome, stopped.actor, stopped.how) == (
        "import",
        "interrupted",
        "boss@x.io",
        "proxy",
    )
    assert stopped.detail["stopped_by"] == "KeyboardInterrupt"
    assert stopped.detail["imported"] == 229


def test_a_refused_import_is_audited_with_why(services, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    with pytest.raises(InvalidExportFile):
        services.feedback.import_file(bad)
    failed = events(services)[-1]
    assert (failed.action, failed.outcome) == ("import", "failed")
    assert failed.detail["reason"].startswith("InvalidExportFile") and "nothing was imported" in failed.detail["reason"]


def test_a_successful_import_is_started_then_done(services, tmp_path):
    path = exported(services, tmp_path, 3)
    assert services.feedback.import_file(path) == 3
    assert [(e.action, e.outcome) for e in events(services)][-2:] == [("import", "started"), ("import", "done")]
    assert events(services)[-1].detail["count"] == 3


def test_an_engineer_refused_at_the_service_leaves_no_started_event(tmp_path):
    engineer = Services(Settings(), identity=Identity(user="ana", role="engineer"))
    with pytest.raises(Forbidden):
        engineer.feedback.import_file(tmp_path / "x.jsonl")
    assert Services(Settings(), identity=ADMIN).audit.events().items == []  # the command line audits refusals


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=130), min_size=1, max_size=60))
def test_an_upload_is_audited_by_the_names_sent_within_the_audit_limit(names):
    target = _uploaded("ada", [(n, b"x") for n in names])
    AuditEvent(actor="a", role="admin", action="ingest", target=target)  # within its 2,000 characters
    everything = ", ".join(f"ada/{n}" for n in names)
    if len(everything) <= 1900:
        assert target == f"upload: {everything}"
    else:
        shown, more = target.removeprefix("upload: ").rsplit(" and ", 1)
        listed = [k for k in range(1, len(names)) if ", ".join(f"ada/{n}" for n in names[:k]) == shown]
        assert listed and more == f"{len(names) - listed[0]} more"
