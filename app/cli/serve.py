"""``ragbot app``: the web app, served from this process."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535))
def app(host: str, port: int) -> None:
    """Start the web app.

    Streamlit runs inside this process (not as a child), so one SIGTERM or Ctrl-C stops the
    whole server and nothing is left listening on the port.
    """
    from streamlit.web import cli as streamlit_cli

    from app.config import Settings

    script = Path(__file__).resolve().parent.parent / "streamlit_app.py"
    args = [
        "run", str(script),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    settings = Settings()
    if settings.auth != "none" and settings.roles_file:
        from app.auth.roles import RolesFileError, read_roles_file

        try:  # a bad roles file stops the start, not every sign-in later
            read_roles_file(settings.roles_file)
        except RolesFileError as e:
            raise click.ClickException(str(e)) from e
    if settings.auth == "oidc":
        from app.auth.secrets_file import write_secrets_file

        args += ["--secrets.files", str(write_secrets_file(settings, host, port))]
    address, why = public_address(settings, host, port)
    click.echo(f"ragbot is at {address}", err=True)
    if why:
        click.echo(why, err=True)
    streamlit_cli.main.main(args=args, prog_name="streamlit", standalone_mode=True)


def public_address(settings, host: str, port: int) -> tuple[str, str | None]:
    """The address to open the app at, and one line on why it is not the one it listens on.

    With OIDC sign-in that is the address the provider redirects to (its sign-in cookie belongs to
    that host: a sign-in started at 127.0.0.1 and returned to localhost silently starts over).
    Raises ConfigError for a redirect that does not end with /oauth2callback."""
    from urllib.parse import urlsplit

    listening = f"http://{host}:{port}/"
    if settings.auth != "oidc":
        return listening, None
    from app.auth.secrets_file import redirect_uri

    redirect = redirect_uri(settings, host, port)
    address = redirect.removesuffix("oauth2callback")
    url = urlsplit(address)
    if url.hostname == host and (url.port or {"https": 443}.get(url.scheme, 80)) == port:
        return address, None
    return address, (
        f"It listens on {listening}; open it at {address}, the address sign-in returns to "
        f"({redirect}, registered with the provider): started at another address, sign-in starts over."
    )
