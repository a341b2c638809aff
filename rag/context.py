"""Moved to ``rag.trimming``: this name stays only until the imports still in flight move (issue 27)."""

from rag.trimming import *  # noqa: F401,F403
