"""Moved to ``app.cli.shared``: this name stays only until the imports still in flight move (issue 27)."""

from app.cli.shared import *  # noqa: F401,F403
