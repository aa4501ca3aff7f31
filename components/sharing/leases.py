"""The provider's concurrency limit for every app process on one database, and the requests a
dead process left behind.

On one laptop the in-process gate (components/gate.py) is the limit. With several replicas on
one PostgreSQL, each would allow the limit on its own and N presenters would trip the
provider's rate limit together; so each request out at the provider holds a lease row, named
by its job's id, taken in the log's write transaction (which goes one at a time on every
database), renewed while it runs. A replica that dies stops renewing: its leases expire and
their slots come back.

Its "sent" rows stay behind with no lease; any live process marks them lost once they are
older than LOST_AFTER_S: an error of type "lost" that says the provider may have billed it and
names the client request id (the row's id) to match a charge with later. If the answer does
come after all (a very slow request in a live process), the runner's own update wins.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update

from components.api.errors import ErrorType
from components.log.schema import RowStatus, provider_leases, request_log
from components.log.store import LogStore

log = logging.getLogger(__name__)

LEASE_TTL_S = 90.0
RENEW_EVERY_S = 20.0  # also how often this process looks for lost rows
LOST_AFTER_S = 180.0  # a "sent" row younger than this is never called lost
POLL_S = (0.02, 0.25)  # how often a waiting job looks for a free slot, first and at most
LOST_MESSAGE = (
    "The app process that sent this request stopped before the answer came back. The provider "
    "may have made and billed the image: match it in the provider's usage log by the client "
    "request id, which is this row's id."
)


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SharedGate:
    """Same interface as ProviderGate: `slot(job_id)`, `resize`, `limit`, `active`."""

    def __init__(
        self,
        store: LogStore,
        limit: int,
        *,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
        renew_every: float = RENEW_EVERY_S,
    ) -> None:
        self.store = store
        self._limit = max(1, int(limit))
        self.holder = holder or holder_name()
        self._clock = clock
        self._renew_every = renew_every
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._waiting = 0
        self._renewer: threading.Thread | None = None
        # From the start, not from the first request: a replica that has sent nothing yet
        # (freshly restarted) still marks the rows a dead one left behind.
        self._start_renewing()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def active(self) -> int:
        """Slots this process holds (the other replicas hold theirs)."""
        return len(self._held)

    @property
    def waiting(self) -> int:
        return self._waiting

    def resize(self, limit: int) -> None:
        self._limit = max(1, int(limit))

    def in_use(self) -> int:
        """Slots held now by every process on the database."""
        with self.store.reader() as conn:
            query = select(func.count()).where(provider_leases.c.expires_at >= self._clock())
            return int(conn.execute(query.select_from(provider_leases)).scalar_one())

    def _try(self, key: str) -> bool:
        now = self._clock()
        with self.store.transaction() as conn:
            conn.execute(delete(provider_leases).where(provider_leases.c.expires_at < now))
            taken = conn.execute(select(func.count()).select_from(provider_leases)).scalar_one()
            if taken >= self._limit:
                return False
            conn.execute(
                insert(provider_leases).values(
                    id=key, holder=self.holder, expires_at=now + LEASE_TTL_S
                )
            )
        return True

    def _release(self, key: str) -> None:
        with self._lock:
            self._held.discard(key)
        try:
            with self.store.transaction() as conn:
                conn.execute(delete(provider_leases).where(provider_leases.c.id == key))
        except Exception:
            # Never lose a result to this: the lease expires on its own within LEASE_TTL_S.
            log.exception("could not end a provider lease")

    @contextmanager
    def slot(self, key: str | None = None) -> Iterator[None]:
        """Hold one of the database's slots while the block runs, waiting for one if every
        slot is taken (by any process)."""
        key = key or os.urandom(16).hex()
        self._start_renewing()
        pause = POLL_S[0]
        with self._lock:
            self._waiting += 1
        try:
            while True:
                # A read first: waiting jobs do not queue up on the write lock.
                if self.in_use() < self._limit and self._try(key):
                    break
                time.sleep(pause * random.uniform(0.5, 1.5))
                pause = min(POLL_S[1], pause * 1.5)
        finally:
            with self._lock:
                self._waiting -= 1
        with self._lock:
            self._held.add(key)
        try:
            yield
        finally:
            self._release(key)

    def _start_renewing(self) -> None:
        with self._lock:
            if self._renewer is not None:
                return
            self._renewer = threading.Thread(
                target=self._renew_forever, name="flux-leases", daemon=True
            )
            self._renewer.start()

    def _renew_forever(self) -> None:
        while True:
            time.sleep(self._renew_every)
            try:
                self.renew()
                mark_lost(self.store, self._clock())
            except Exception:
                log.exception("could not renew provider leases")

    def renew(self) -> None:
        with self._lock:
            held = list(self._held)
        if not held:
            return
        with self.store.transaction() as conn:
            conn.execute(
                update(provider_leases)
                .where(provider_leases.c.id.in_(held))
                .values(expires_at=self._clock() + LEASE_TTL_S)
            )


def mark_lost(store: LogStore, now: float, after: float = LOST_AFTER_S) -> int:
    """Mark "sent" rows older than `after` whose request no process holds a lease for as lost
    errors; returns how many. One statement in the log's write transaction, so a runner that
    completes the row at the same moment either comes first (the row is no longer "sent") or
    after (its answer replaces "lost")."""
    cutoff = datetime.fromtimestamp(now - after, UTC).isoformat(timespec="microseconds")
    with store.transaction() as conn:
        leased = select(provider_leases.c.id).where(provider_leases.c.expires_at >= now)
        found = conn.execute(
            update(request_log)
            .where(
                request_log.c.status == RowStatus.SENT.value,
                request_log.c.created_at < cutoff,
                request_log.c.id.not_in(leased),
            )
            .values(
                status=RowStatus.ERROR.value,
                error_type=ErrorType.LOST.value,
                error_message=LOST_MESSAGE,
            )
        )
        lost = int(found.rowcount or 0)
        if lost:
            LogStore._bump(conn, edits=True)
    return lost
