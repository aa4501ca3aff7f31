"""One pool of provider slots for the whole app process: however many browser sessions run
at once, no more than `limit` requests are out at the provider together (its rate limit is
per key, not per browser tab). The limit is the presenter's setting and can change while
jobs wait.

Imports: none
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Gate(Protocol):
    """What the runner needs of a gate: this one, or the slots replicas share in the
    database (components/sharing/leases.py)."""

    def slot(self, key: str | None = None) -> AbstractContextManager[None]: ...

    def resize(self, limit: int) -> None: ...


class ProviderGate:
    def __init__(self, limit: int) -> None:
        self._cond = threading.Condition()
        self._limit = max(1, int(limit))
        self._active = 0
        self._waiting = 0

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def active(self) -> int:
        return self._active

    @property
    def waiting(self) -> int:
        return self._waiting

    def resize(self, limit: int) -> None:
        with self._cond:
            self._limit = max(1, int(limit))
            self._cond.notify_all()

    @contextmanager
    def slot(self, key: str | None = None) -> Iterator[None]:
        """Hold one slot while the block runs (waiting for one if all are taken). `key` names
        the job (the shared gate across processes records it; this one needs no name)."""
        with self._cond:
            self._waiting += 1
            try:
                while self._active >= self._limit:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify()
