"""Who the command line acts as: with sign-in on, its OS account and the role the roles file
gives it (app/auth/cli.py), never whoever RAGBOT_USER names; every refusal is audited with how
the identity was established."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.auth import SignInRefused
from app.auth.cli import cli_identity, os_login
from app.cli import CliState, cli
from app.config import Settings
from app.wiring.backends import Backends
from tests.feedback.contract import make

ME = f"os:{os_login().lower()}"


def run(*args: str):
    """The command line as a new process would run it: settings, identity and services from the environment."""
    return CliRunner().invoke(cli, list(args), obj=CliState())


def audit_events() -> list[dict]:
    """Every audit event, read straight from the store the settings name."""
    page = Backends(Settings()).feedback_store.events(limit=100)
    return [json.loads(event.model_dump_json()) for event in page.items]


@pytest.fixture
def signed_in(monkeypatch, tmp_path):
    """RAGBOT_AUTH=proxy with a roles file that knows the admin's e-mail; write lines to it with
    the returned function."""
    roles = tmp_path / "roles.toml"

    def write(*lines: str) -> None:
        roles.write_text("".join(f"{line}\n" for line in ('"boss@x.io" = "admin"', *lines)))

    write()
    monkeypatch.setenv("RAGBOT_AUTH", "proxy")
    monkeypatch.setenv("RAGBOT_ROLES_FILE", str(roles))
    monkeypatch.setenv("RAGBOT_UNKNOWN_USERS", "refuse")
    return write


def test_a_declared_user_is_refused_and_the_refusal_audited(signed_in, monkeypatch, tmp_path):
    """The probe's row 3: RAGBOT_USER=mallory@evil.com exported everything as an admin."""
    Backends(Settings()).feedback_store.put(make("a"))
    monkeypatch.setenv("RAGBOT_USER", "mallory@evil.com")
    out = tmp_path / "all.jsonl"
    result = run("feedback", "export", "--out", str(out))
    assert result.exit_code == 1 and "refused" in result.output and "RAGBOT_USER" in result.output
    assert not out.exists()
    monkeypatch.setenv("RAGBOT_USER", "boss@x.io")  # the admin's e-mail, declared: no better
    monkeypatch.setenv("RAGBOT_ROLE", "admin")
    result = run("feedback", "export", "--out", str(out))
    assert result.exit_code == 1 and "RAGBOT_USER and RAGBOT_ROLE" in result.output
    assert not out.exists()
    events = audit_events()
    assert [e["outcome"] for e in events] == ["refused", "refused"]
    assert {e["actor"] for e in events} == {ME} and {e["how"] for e in events} == {"os-account"}
    assert all(e["role"] == "none" and "feedback export" in e["action"] for e in events)
    assert "admin" not in {e["role"] for e in events}


def test_an_account_the_roles_file_does_not_name_is_refused_or_an_engineer(signed_in, monkeypatch, tmp_path):
    out = tmp_path / "all.jsonl"
    result = run("feedback", "export", "--out", str(out))
    assert result.exit_code == 1 and f'"{ME}" = "engineer"' in result.output  # says what to add
    monkeypatch.setenv("RAGBOT_UNKNOWN_USERS", "engineer")
    result = run("feedback", "export", "--out", str(out))
    assert result.exit_code == 1 and "only the admin role may export feedback" in result.output
    assert not out.exists()
    newest = audit_events()[0]
    assert (newest["actor"], newest["role"], newest["how"], newest["outcome"]) == (
        ME,
        "engineer",
        "os-account",
        "refused",
    )
    assert "only the admin role" in newest["detail"]["reason"]


def test_the_account_the_owner_maps_acts_with_its_role(signed_in, tmp_path):
    signed_in(f'"{ME}" = "admin"')
    Backends(Settings()).feedback_store.put(make("a"))
    out = tmp_path / "all.jsonl"
    result = run("feedback", "export", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 1
    done, started = audit_events()[:2]
    assert (done["action"], done["outcome"], done["actor"], done["role"], done["how"]) == (
        "export",
        "done",
        ME,
        "admin",
        "os-account",
    )
    assert (started["action"], started["outcome"]) == ("export", "started")


def test_identity_without_sign_in_is_the_settings_one(monkeypatch):
    monkeypatch.setenv("RAGBOT_USER", "ana")
    monkeypatch.setenv("RAGBOT_ROLE", "sme")
    me = cli_identity(Settings())
    assert (me.user, me.role, me.how) == ("ana", "sme", "settings")


def test_the_login_comes_from_the_kernel_not_the_environment(signed_in, monkeypatch):
    signed_in('"os:boss" = "admin"')
    monkeypatch.setenv("USER", "boss")
    monkeypatch.setenv("LOGNAME", "boss")
    monkeypatch.setenv("RAGBOT_UNKNOWN_USERS", "engineer")
    me = cli_identity(Settings())
    assert me.user == ME and (ME == "os:boss" or me.role == "engineer")
    assert cli_identity(Settings(), login="boss").role == "admin"
    with pytest.raises(SignInRefused):
        monkeypatch.setenv("RAGBOT_UNKNOWN_USERS", "refuse")
        cli_identity(Settings(), login="nobody")
