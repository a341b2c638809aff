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
    click.echo(f"ragbot is at http://{host}:{port}", err=True)
    streamlit_cli.main.main(args=args, prog_name="streamlit", standalone_mode=True)
