"""Who is connected: each session notes itself at most every SEEN_EVERY_S seconds (a
heartbeat), and the presenter's page lists those seen within CONNECTED_WITHIN_S."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update

from components.log.schema import visitors
from components.log.store import LogStore
from components.sharing.roles import Role, Visitor

SEEN_EVERY_S = 20.0
CONNECTED_WITHIN_S = 90.0


@dataclass(frozen=True)
class Connected:
    id: str
    visitor: str
    role: Role
    label: str
    since: datetime
    last_seen: datetime


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")


class Presence:
    def __init__(self, store: LogStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def seen(self, visitor: Visitor, session: str) -> None:
        """Note that a session of this visitor is here now. Keyed by session, so a presenter
        with two tabs shows twice (each tab is a browser session)."""
        now = _iso(self.clock())
        with self.store.transaction() as conn:
            found = conn.execute(
                update(visitors)
                .where(visitors.c.id == session)
                .values(
                    last_seen=now, visitor=visitor.id, role=visitor.role.value, label=visitor.label
                )
            )
            if found.rowcount == 0:
                conn.execute(
                    insert(visitors).values(
                        id=session,
                        visitor=visitor.id,
                        role=visitor.role.value,
                        label=visitor.label,
                        since=now,
                        last_seen=now,
                    )
                )
            # Sessions gone for a day are forgotten, so the table stays small.
            conn.execute(delete(visitors).where(visitors.c.last_seen < _iso(self.clock() - 86_400)))

    def gone(self, session: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(delete(visitors).where(visitors.c.id == session))

    def connected(self) -> list[Connected]:
        since = _iso(self.clock() - CONNECTED_WITHIN_S)
        with self.store.reader() as conn:
            rows = conn.execute(
                select(visitors).where(visitors.c.last_seen >= since).order_by(visitors.c.since)
            ).all()
        return [
            Connected(
                r.id,
                r.visitor,
                Role(r.role),
                r.label,
                datetime.fromisoformat(r.since),
                datetime.fromisoformat(r.last_seen),
            )
            for r in rows
        ]
