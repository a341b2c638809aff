from __future__ import annotations

import pytest
from click.testing import CliRunner


@pytest.fixture
def ragbot(shared_models):
    """Run the ``ragbot`` command line in-process, with settings read at each call (as a new
    process would) and the session's models shared instead of reloaded."""
    from app.cli import CliState, cli
    from app.config import Settings
    from app.services import Backends, Services

    def run(*args: str, catch_exceptions: bool = False):
        try:
            services = Services(backends=shared_models(Backends(Settings())))
        except ValueError:  # a bad setting: let the command line report it
            state = CliState()
        else:
            state = CliState(services)
        return CliRunner().invoke(cli, list(args), obj=state, catch_exceptions=catch_exceptions)

    return run
