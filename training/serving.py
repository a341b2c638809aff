"""The answer model the registry says to serve, swapped without a restart when another is promoted.

``PromotedGenerator`` is a generator (``rag.generators.base.Generator``) that answers with the
promoted candidate of a ``training.registry.Registry``, or with ``fallback`` (the packaged base)
when none is promoted. Before a request it looks at the pointer file (its inode and modification time), at most
every ``check_s`` seconds, and when the promoted id changed it builds the new model (``make``,
loaded on its first request) and answers with it from then on; a request already running on the
old one finishes on it.

``model_id`` is the id of the model that took this thread's latest request (the registry id, or
``fallback``), so the interaction the chat records names the model that wrote its answer even if
another is promoted while it streams.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence

from rag.generators.base import GenerationParams, Message, generate_all
from training.registry import Registry


class PromotedGenerator:
    """Answers with the registry's promoted model; see the module's docstring.

    Args:
        registry: where the candidates and the pointer live.
        fallback: what to serve when nothing is promoted (a packaged model name).
        make: builds a generator for a model name or folder (the app's local generator).
        check_s: the least seconds between two looks at the pointer (0: at every request).
        clock: seconds, monotonic (tests pass their own).
    """

    supports_streaming = True
    supports_batch = True

    def __init__(
        self,
        registry: Registry,
        fallback: str,
        make: Callable[[str], object],
        check_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.registry = registry
        self.fallback = fallback
        self.make = make
        self.check_s = check_s
        self.clock = clock
        self._lock = threading.Lock()
        self._local = threading.local()
        self._checked: float | None = None
        self._stamp: tuple[int, int, int] | None = (-1, -1, -1)
        self._served: tuple[str, object] | None = None

    @property
    def model_id(self) -> str:
        """The model of this thread's latest request; before any, the one a request would get now."""
        mine = getattr(self._local, "model_id", None)
        return mine if mine is not None else self._engine(remember=False)[0]

    def _engine(self, remember: bool = True) -> tuple[str, object]:
        with self._lock:
            now = self.clock()
            if self._served is None or self._checked is None or now - self._checked >= self.check_s:
                self._checked = now
                stamp = self._pointer_stamp()
                if stamp != self._stamp or self._served is None:
                    self._stamp = stamp
                    wanted = self.registry.promoted() or self.fallback
                    if self._served is None or self._served[0] != wanted:
                        path = self.fallback if wanted == self.fallback else str(self.registry.path(wanted))
                        # Its own model_id stays the path it loads; this one names it by registry id.
                        self._served = (wanted, self.make(path))
            served = self._served
        if remember:
            self._local.model_id = served[0]
        return served

    def current(self) -> object:
        """The generator a request would get now (the promoted model's, or the fallback's)."""
        return self._engine(remember=False)[1]

    def __getattr__(self, name: str):
        # Whatever else a caller reads of a local generator (runtime, precision…) is the served one's.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current(), name)

    def _pointer_stamp(self) -> tuple[int, int, int] | None:
        # The inode too: the pointer is replaced whole, and two promotions within the file system's
        # clock tick would share a modification time.
        try:
            stat = self.registry.pointer_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def load(self) -> None:
        self._engine(remember=False)[1].load()

    def close(self) -> None:
        with self._lock:
            served = self._served
        if served is not None:
            served[1].close()

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        return self._engine()[1].generate(messages, params)

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        return self._engine()[1].stream(messages, params)

    def generate_batch(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams | None = None
    ) -> list[str]:
        return generate_all(self._engine()[1], conversations, params)
