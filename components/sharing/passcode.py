"""Passcodes: compared in constant time, and a per-client throttle on wrong tries that lives
in the database (so a second app process does not hand out fresh tries)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from sqlalchemy import delete, insert, select, update

from components.log.schema import sign_in_failures
from components.log.store import LogStore

# No 0/O or 1/I/L: a code read aloud across a room, or typed on a phone, should survive.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
FREE_TRIES = 5
FIRST_LOCK_S = 30.0
MAX_LOCK_S = 900.0


def matches(typed: str, expected: str | None) -> bool:
    """Constant time: both sides are hashed first, so neither the length nor the first wrong
    character of the real passcode shows in how long a wrong try takes."""
    if not expected or not typed:
        return False
    one = hashlib.sha256(typed.encode("utf-8")).digest()
    two = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(one, two)


def new_viewer_passcode() -> str:
    """Eight characters from 31 (about 40 bits), grouped for reading: "K7QD-M2XP"."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalize_viewer_passcode(typed: str) -> str:
    """A viewer passcode as typed on a phone: any case, spaces or dashes anywhere."""
    plain = "".join(ch for ch in typed.upper() if ch.isalnum())
    return f"{plain[:4]}-{plain[4:]}" if len(plain) == 8 else plain


def client_key(address: str | None) -> str:
    """The throttle's key for a client: a hash of its address (None: this machine), so the
    table holds no addresses."""
    return hashlib.sha256((address or "loopback").encode()).hexdigest()[:16]


class SignInThrottle:
    """FREE_TRIES wrong tries per client, then a lock that doubles with each further wrong
    try (30 s, 60 s, ... up to 15 minutes). A right try clears the client's record."""

    def __init__(self, store: LogStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def wait_s(self, client: str) -> float:
        """Seconds until this client may try again (0: now)."""
        table = sign_in_failures
        with self.store.reader() as conn:
            until = conn.execute(
                select(table.c.locked_until).where(table.c.client == client)
            ).scalar()
        return max(0.0, float(until or 0.0) - self.clock())

    def failed(self, client: str) -> float:
        """Count a wrong try; returns the wait it earns (0 while tries are left)."""
        table = sign_in_failures
        with self.store.transaction() as conn:
            found = conn.execute(select(table.c.failures).where(table.c.client == client)).scalar()
            failures = int(found or 0) + 1
            over = failures - FREE_TRIES
            lock = 0.0 if over < 0 else min(MAX_LOCK_S, FIRST_LOCK_S * 2**over)
            values = {"failures": failures, "locked_until": self.clock() + lock}
            if found is None:
                conn.execute(insert(table).values(client=client, **values))
            else:
                conn.execute(update(table).where(table.c.client == client).values(**values))
        return lock

    def succeeded(self, client: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(delete(sign_in_failures).where(sign_in_failures.c.client == client))
