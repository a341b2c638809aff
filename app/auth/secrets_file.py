"""The ``[auth]`` section Streamlit's ``st.login`` reads, written from ragbot's settings.

Streamlit takes its OpenID Connect settings only from a secrets TOML file; ``ragbot app`` writes
one under ``RAGBOT_HOME`` (readable by its owner only) and points Streamlit at it, so the
provider is configured with ``RAGBOT_OIDC_*`` settings like everything else. The cookie secret,
when not set, is generated once and kept, so sign-ins survive a restart.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from app.config import Settings
from app.errors import ConfigError
from common.files import atomic_write


def _private_write(path: Path, text: str) -> None:
    atomic_write(path, text, mode=0o600)


def cookie_secret(settings: Settings) -> str:
    if settings.oidc_cookie_secret:
        return settings.oidc_cookie_secret.get_secret_value()
    path = settings.home_dir / "auth" / "cookie-secret"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(32)
        _private_write(path, value)
        return value


def redirect_uri(settings: Settings, host: str, port: int) -> str:
    """Where the provider sends people back after sign-in: ``RAGBOT_OIDC_REDIRECT_URI``, else
    http://localhost:PORT/oauth2callback for an app listening on this machine. Raises ConfigError
    when the setting does not end with /oauth2callback."""
    shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    redirect = settings.oidc_redirect_uri or f"http://{shown_host}:{port}/oauth2callback"
    if not redirect.endswith("/oauth2callback"):
        raise ConfigError(f"RAGBOT_OIDC_REDIRECT_URI={redirect!r} must end with /oauth2callback")
    return redirect


def write_secrets_file(settings: Settings, host: str, port: int) -> Path:
    """Write the ``[auth]`` secrets for ``RAGBOT_AUTH=oidc``; returns the file. Raises ConfigError
    naming the missing setting."""
    missing = [
        name
        for name, value in (
            ("RAGBOT_OIDC_METADATA_URL", settings.oidc_metadata_url),
            ("RAGBOT_OIDC_CLIENT_ID", settings.oidc_client_id),
            ("RAGBOT_OIDC_CLIENT_SECRET", settings.oidc_client_secret),
        )
        if not value
    ]
    if missing:
        raise ConfigError(f"RAGBOT_AUTH=oidc needs {', '.join(missing)}")
    redirect = redirect_uri(settings, host, port)
    values = {
        "redirect_uri": redirect,
        "cookie_secret": cookie_secret(settings),
        "client_id": settings.oidc_client_id,
        "client_secret": settings.oidc_client_secret.get_secret_value(),
        "server_metadata_url": settings.oidc_metadata_url,
    }
    # JSON strings are valid TOML basic strings, so every value is quoted and escaped correctly.
    lines = ["[auth]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    lines += [
        "",
        "[auth.client_kwargs]",
        f"scope = {json.dumps(settings.oidc_scopes)}",
        f"prompt = {json.dumps(settings.oidc_prompt)}",
    ]
    path = settings.home_dir / "auth" / "streamlit-secrets.toml"
    _private_write(path, "\n".join(lines) + "\n")
    return path
