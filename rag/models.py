"""Moved to ``rag.records``: this name stays only until the imports still in flight move (issue 27)."""

from rag.records import *  # noqa: F401,F403
