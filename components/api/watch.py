"""The account balance, read in the background: a caller gets the last value at once and a
stale value starts one refresh in a thread, so no click ever waits for the provider's billing
endpoint (and a slow one cannot stall a page)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from components.api.client import Balance
from components.api.errors import FluxError

TTL_S = 60.0


class BalanceWatch:
    def __init__(
        self,
        fetch: Callable[[], Balance],
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._value: Balance | None = None
        self._error: str | None = None
        self._read_at: float | None = None
        self._busy: threading.Thread | None = None

    def get(self, first_wait_s: float = 0.0) -> tuple[Balance | None, str | None]:
        """The last balance read (or why it could not be read); starts a refresh when it is
        older than the TTL. Only a watch that never read anything waits, and at most
        `first_wait_s`."""
        with self._lock:
            stale = self._read_at is None or self._clock() - self._read_at >= self._ttl
            thread = self._busy
            if stale and thread is None:
                thread = self._busy = threading.Thread(
                    target=self._refresh, name="balance-watch", daemon=True
                )
                thread.start()
            never = self._read_at is None
        if never and thread is not None and first_wait_s > 0:
            thread.join(first_wait_s)
        with self._lock:
            return self._value, self._error

    def invalidate(self) -> None:
        """Read again on the next get (after a run that spent, or a connection test)."""
        with self._lock:
            if self._read_at is not None:
                self._read_at = self._clock() - self._ttl

    def _refresh(self) -> None:
        try:
            value, error = self._fetch(), None
        except FluxError as exc:
            value, error = None, exc.message
        except Exception as exc:  # a thread must not die silently and keep `busy` set
            value, error = None, f"{type(exc).__name__}"
        with self._lock:
            if value is not None:
                self._value = value
            self._error = error
            self._read_at = self._clock()
            self._busy = None
