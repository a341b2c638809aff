"""The sign-in page with RAGBOT_AUTH=oidc, through Streamlit's AppTest: opened at another
address than the one the provider returns to, it says so instead of failing silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROUTER = Path(__file__).parents[2] / "app" / "streamlit_app.py"
REDIRECT = "http://localhost:8501/oauth2callback"


@pytest.fixture
def sign_in_page(monkeypatch):
    monkeypatch.setenv("RAGBOT_AUTH", "oidc")

    def run(page_url: str) -> AppTest:
        import streamlit as st

        st.cache_resource.clear()
        at = AppTest.from_file(str(ROUTER), default_timeout=120)
        at.secrets["auth"] = {
            "redirect_uri": REDIRECT,
            "cookie_secret": "x" * 32,
            "client_id": "ragbot",
            "client_secret": "s",
            "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
        }
        at.context["url"] = page_url
        at.user["is_logged_in"] = False
        return at.run()

    return run


def test_opened_at_127_0_0_1_when_sign_in_returns_to_localhost(sign_in_page):
    at = sign_in_page("http://127.0.0.1:8501/")
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    (warning,) = at.warning
    assert f"This page is open at `http://127.0.0.1:8501`, but sign-in returns to `{REDIRECT}`" in warning.value
    assert "Open [http://localhost:8501](http://localhost:8501)" in warning.value
    # going to the right address is the primary action, not signing in here
    (go,) = at.get("link_button")
    assert (go.proto.label, go.proto.url, go.proto.type) == (
        "Open http://localhost:8501 to sign in",
        "http://localhost:8501",
        "primary",
    )
    assert at.button[0].proto.type == "secondary"


def test_opened_at_the_redirects_address_only_names_it(sign_in_page):
    at = sign_in_page("http://localhost:8501/review")
    assert not at.exception and not at.warning
    assert [b.label for b in at.button] == ["Sign in"]
    assert at.button[0].proto.type == "primary" and not at.get("link_button")
    assert any(REDIRECT in c.value for c in at.caption)
