"""`ragbot app` prints the address to open (issue 25 row 10): with OIDC sign-in, the one the
provider redirects to, and one line when the app listens on another."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from streamlit.web import cli as streamlit_cli

from app.cli.serve import app


@pytest.fixture
def started(monkeypatch):
    """``ragbot app``'s output and the Streamlit arguments it would have started with."""
    calls: list[list[str]] = []
    monkeypatch.setattr(streamlit_cli.main, "main", lambda args, **kwargs: calls.append(args))

    def start(*args: str, **env: str):
        for name, value in env.items():
            monkeypatch.setenv(f"RAGBOT_{name.upper()}", value)
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output.splitlines(), calls[-1]

    return start


OIDC = dict(
    auth="oidc",
    oidc_metadata_url="https://id.example.com/.well-known/openid-configuration",
    oidc_client_id="ragbot",
    oidc_client_secret="s3cret",
)


def test_without_sign_in_it_prints_where_it_listens(started):
    lines, args = started("--port", "8600")
    assert lines == ["ragbot is at http://127.0.0.1:8600/"]
    assert args[args.index("--server.address") + 1] == "127.0.0.1"


def test_with_oidc_it_prints_the_registered_redirect_address_and_why(started):
    lines, _ = started("--host", "0.0.0.0", oidc_redirect_uri="https://ragbot.example.com/oauth2callback", **OIDC)
    assert lines[0] == "ragbot is at https://ragbot.example.com/"
    assert lines[1].startswith("It listens on http://0.0.0.0:8501/; open it at https://ragbot.example.com/")
    assert "https://ragbot.example.com/oauth2callback" in lines[1] and "s3cret" not in "\n".join(lines)


def test_with_oidc_on_this_machine_it_prints_localhost_not_127_0_0_1(started):
    lines, args = started(**OIDC)
    assert lines[0] == "ragbot is at http://localhost:8501/", "the default redirect is registered for localhost"
    assert "listens on http://127.0.0.1:8501/" in lines[1]
    assert "--secrets.files" in args


def test_no_second_line_when_it_listens_where_sign_in_returns(started):
    lines, _ = started("--host", "ragbot.lan", "--port", "80", **OIDC)
    assert lines == ["ragbot is at http://ragbot.lan:80/"]
