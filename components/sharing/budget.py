"""Daily budgets that concurrent clicks cannot slip under.

What a day has cost is read from the log itself (each row's reported cost; list price where
the provider reported none but may have charged), plus holds: before a run is queued, its
estimated cost is held in `budget_holds` in the same write transaction that checks the limits,
so two clicks at once (from two sessions, or two app processes) are checked one after the
other. A hold ends when its job's row is final (the row's own cost counts from then on) or when
the job is cancelled; a hold older than HOLD_TTL_S (its process died) ends too, and its "sent"
row keeps counting at list price.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy import case as sql_case

from components.api.contract import PRICE_USD_PER_IMAGE
from components.api.errors import ErrorType
from components.log.codec import to_utc_iso
from components.log.schema import (
    BackendName,
    RowStatus,
    budget_deleted,
    budget_holds,
    request_log,
)
from components.log.store import LogStore

HOLD_TTL_S = 3600.0
# Failures after the provider may have done the work: counted at list price unless it
# reported a cost.
MAYBE_BILLED = (
    ErrorType.TIMEOUT,
    ErrorType.IMAGE_DOWNLOAD,
    ErrorType.MALFORMED_RESPONSE,
    ErrorType.STORAGE,
    ErrorType.LOST,
)


@dataclass(frozen=True)
class Limits:
    """What one run is checked against: the studio's day, this visitor's day (None: no own
    limit, the presenter), and the account balance last read (None: not known)."""

    studio_usd: float
    own_usd: float | None = None
    balance_usd: float | None = None


@dataclass(frozen=True)
class Usage:
    studio_usd: float
    by_visitor: dict[str, float] = field(default_factory=dict)
    held_usd: float = 0.0

    def of(self, visitor_id: str) -> float:
        return self.by_visitor.get(visitor_id, 0.0)


class BudgetRefused(Exception):
    """A run that would go past a limit; the message says how much is left and who can help."""

    def __init__(self, message: str, left_usd: float) -> None:
        super().__init__(message)
        self.message = message
        self.left_usd = left_usd


def charge() -> ColumnElement[Any]:
    """What a log row counts for, in USD, as SQL."""
    c = request_log.c
    list_price = func.coalesce(c.num_images, 1) * PRICE_USD_PER_IMAGE
    return sql_case(
        (c.backend == BackendName.OFFLINE.value, 0.0),
        (c.cost_usd.is_not(None), c.cost_usd),
        (c.status.in_([RowStatus.OK.value, RowStatus.SENT.value]), list_price),
        (c.error_type.in_([e.value for e in MAYBE_BILLED]), list_price),
        else_=0.0,
    )


def charge_of(row: Mapping[str, Any]) -> float:
    """`charge()` for one row in Python (the same rules), for rows about to be deleted."""
    images = row.get("num_images")
    list_price = (images if isinstance(images, int) and images > 0 else 1) * PRICE_USD_PER_IMAGE
    cost = row.get("cost_usd")
    if row.get("backend") == BackendName.OFFLINE.value:
        return 0.0
    if isinstance(cost, int | float) and cost == cost:
        return float(cost)
    if row.get("status") in (RowStatus.OK.value, RowStatus.SENT.value):
        return list_price
    if row.get("error_type") in [e.value for e in MAYBE_BILLED]:
        return list_price
    return 0.0


def day_start(now: float) -> str:
    """Midnight UTC of `now`'s day, in the log's one created_at form (text order is time
    order)."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return to_utc_iso(day)


def _iso(now: float) -> str:
    return to_utc_iso(datetime.fromtimestamp(now, UTC))


def usd(value: float) -> str:
    return f"${value:,.2f}"


class Ledger:
    def __init__(self, store: LogStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def _usage(self, conn: Any) -> Usage:
        now = self.clock()
        fresh = _iso(now - HOLD_TTL_S)
        held = select(budget_holds.c.id).where(budget_holds.c.created_at >= fresh)
        rows = conn.execute(
            select(request_log.c.made_by, func.sum(charge()))
            .where(request_log.c.created_at >= day_start(now), request_log.c.id.not_in(held))
            .group_by(request_log.c.made_by)
        ).all()
        gone = conn.execute(
            select(budget_deleted.c.made_by, func.sum(budget_deleted.c.usd))
            .where(budget_deleted.c.created_at >= day_start(now))
            .group_by(budget_deleted.c.made_by)
        ).all()
        holds = conn.execute(
            select(budget_holds.c.made_by, func.sum(budget_holds.c.usd))
            .where(budget_holds.c.created_at >= fresh)
            .group_by(budget_holds.c.made_by)
        ).all()
        by: dict[str, float] = {}
        for who, amount in (*rows, *gone, *holds):
            key = who or "presenter"  # rows from before sharing were the presenter's
            by[key] = by.get(key, 0.0) + float(amount or 0.0)
        held_total = sum(float(a or 0.0) for _, a in holds)
        return Usage(
            round(sum(by.values()), 6), {k: round(v, 6) for k, v in by.items()}, held_total
        )

    def usage(self) -> Usage:
        """Today's spending (UTC day), everyone's and each visitor's, holds included."""
        with self.store.reader() as conn:
            return self._usage(conn)

    def hold(self, made_by: str, holds: Sequence[tuple[str, float]], limits: Limits) -> None:
        """Hold each job's estimated cost, or refuse them all (BudgetRefused) if the run would
        pass the studio's day, this visitor's day or the account balance."""
        need = round(sum(amount for _, amount in holds), 6)
        if need <= 0:
            return
        with self.store.transaction() as conn:
            now = self.clock()
            conn.execute(
                delete(budget_holds).where(budget_holds.c.created_at < _iso(now - HOLD_TTL_S))
            )
            used = self._usage(conn)
            _check(need, used.studio_usd, limits.studio_usd, "The studio's budget for today")
            if limits.own_usd is not None:
                _check(need, used.of(made_by), limits.own_usd, "Your budget for today")
            if limits.balance_usd is not None and need + used.held_usd > limits.balance_usd + 1e-9:
                left = max(0.0, limits.balance_usd - used.held_usd)
                raise BudgetRefused(
                    f"The account balance is {usd(limits.balance_usd)}: {usd(used.held_usd)} is "
                    f"on its way, so {usd(left)} is left and this run needs {usd(need)}. The "
                    "presenter can top up the account.",
                    left,
                )
            created = _iso(now)
            conn.execute(
                insert(budget_holds),
                [
                    {"id": job_id, "made_by": made_by, "usd": float(amount), "created_at": created}
                    for job_id, amount in holds
                ],
            )

    def keep_spending(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Before rows are deleted: what they cost stays counted on their day (the provider
        charged it all the same), so deleting never gives a budget back."""
        kept = []
        for row in rows:
            usd_spent = charge_of(row)
            if usd_spent > 0 and row.get("id") and row.get("created_at"):
                created = to_utc_iso(row["created_at"])
                who = row.get("made_by") or "presenter"
                kept.append({"id": str(row["id"]), "made_by": who, "usd": usd_spent,
                             "created_at": created})  # fmt: skip
        if not kept:
            return
        with self.store.transaction() as conn:
            known = set(
                conn.execute(
                    select(budget_deleted.c.id).where(
                        budget_deleted.c.id.in_([k["id"] for k in kept])
                    )
                ).scalars()
            )
            fresh = [k for k in kept if k["id"] not in known]
            if fresh:
                conn.execute(insert(budget_deleted), fresh)

    def release(self, ids: Sequence[str]) -> None:
        """End holds: the job's row now carries its cost, or the job never left."""
        wanted = [str(i) for i in ids]
        if wanted:
            with self.store.transaction() as conn:
                conn.execute(delete(budget_holds).where(budget_holds.c.id.in_(wanted)))


def _check(need: float, used: float, limit: float, what: str) -> None:
    if need + used > limit + 1e-9:
        left = max(0.0, limit - used)
        raise BudgetRefused(
            f"{what} is {usd(limit)}: {usd(used)} is spent or on its way, so {usd(left)} is "
            f"left and this run needs {usd(need)}. The presenter can raise the limit on the "
            "Sharing page.",
            left,
        )
