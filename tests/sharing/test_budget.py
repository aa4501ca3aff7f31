"""Daily budgets over a real SQLite log: what each row counts for, holds for runs in flight,
stale holds, the UTC day, and clicks at once (threads, and two stores on one file)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from components.api.contract import PRICE_USD_PER_IMAGE
from components.log.schema import budget_holds
from components.log.store import LogStore
from components.sharing.budget import (
    HOLD_TTL_S,
    BudgetRefused,
    Ledger,
    Limits,
    day_start,
)
from samples import Clock

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()
TODAY = "2026-03-10T11:00:00+00:00"
DAY_S = 86_400.0
P = PRICE_USD_PER_IMAGE
NO_LIMIT = Limits(studio_usd=1_000.0)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def ledger(store: LogStore, clock: Clock) -> Ledger:
    return Ledger(store, clock)


def row(**over: Any) -> dict[str, Any]:
    """A log row as the runner leaves it after a successful paid request, today."""
    values: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "created_at": TODAY,
        "backend": "aimlapi",
        "prompt": "a lighthouse",
        "num_images": 1,
        "status": "ok",
        "cost_usd": None,
        "made_by": "presenter",
    }
    values.update(over)
    return values


def holds_in_table(store: LogStore) -> int:
    with store.reader() as conn:
        return int(conn.execute(select(func.count()).select_from(budget_holds)).scalar_one())


def test_day_start_is_midnight_utc_in_the_logs_form() -> None:
    assert day_start(NOW) == "2026-03-10T00:00:00.000000+00:00"
    assert day_start(datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC).timestamp()) == day_start(NOW)


# --- what a row counts for ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "usd"),
    [
        # the offline demo is free, whatever it says
        ({"backend": "offline", "cost_usd": 0.0}, 0.0),
        ({"backend": "offline", "cost_usd": None}, 0.0),
        ({"backend": "offline", "status": "sent"}, 0.0),
        ({"backend": "offline", "status": "error", "error_type": "timeout"}, 0.0),
        # a reported cost is what it cost
        ({"cost_usd": 0.05}, 0.05),
        ({"cost_usd": 0.0}, 0.0),
        ({"status": "error", "error_type": "bad_request", "cost_usd": 0.02}, 0.02),
        ({"status": "error", "error_type": "timeout", "cost_usd": 0.01}, 0.01),
        # ok without a reported cost: list price per image
        ({}, P),
        ({"num_images": 3}, 3 * P),
        ({"num_images": None}, P),
        # sent (still out, or its process died): list price
        ({"status": "sent"}, P),
        ({"status": "sent", "num_images": 2}, 2 * P),
        # failures after the provider may have done the work: list price
        ({"status": "error", "error_type": "timeout"}, P),
        ({"status": "error", "error_type": "timeout", "num_images": 2}, 2 * P),
        ({"status": "error", "error_type": "image_download"}, P),
        ({"status": "error", "error_type": "malformed_response"}, P),
        ({"status": "error", "error_type": "storage"}, P),
        # failures the provider did not bill
        ({"status": "error", "error_type": "bad_request"}, 0.0),
        ({"status": "error", "error_type": "validation"}, 0.0),
        ({"status": "error", "error_type": "permission"}, 0.0),
        ({"status": "error", "error_type": "authentication"}, 0.0),
        ({"status": "error", "error_type": "rate_limit"}, 0.0),
        ({"status": "error", "error_type": "server"}, 0.0),
        ({"status": "error", "error_type": "connection"}, 0.0),
    ],
)
def test_what_a_row_counts_for(store: LogStore, ledger: Ledger, over: dict, usd: float) -> None:
    store.append(row(made_by="viewer-aaaa1111", **over))
    usage = ledger.usage()
    assert usage.studio_usd == pytest.approx(usd)
    assert usage.of("viewer-aaaa1111") == pytest.approx(usd)
    assert usage.held_usd == 0.0


def test_usage_by_visitor_and_rows_from_before_sharing(store: LogStore, ledger: Ledger) -> None:
    store.append(row(made_by="viewer-aaaa1111", cost_usd=0.04))
    store.append(row(made_by="viewer-aaaa1111", status="sent"))
    store.append(row(made_by="viewer-bbbb2222", cost_usd=0.02))
    store.append(row(made_by=None, cost_usd=0.03))  # a row older than sharing: the presenter's
    store.append(row(made_by="presenter", cost_usd=0.01))
    usage = ledger.usage()
    assert usage.of("viewer-aaaa1111") == pytest.approx(0.04 + P)
    assert usage.of("viewer-bbbb2222") == pytest.approx(0.02)
    assert usage.of("presenter") == pytest.approx(0.04)
    assert usage.of("viewer-nobody") == 0.0
    assert usage.studio_usd == pytest.approx(0.04 + P + 0.02 + 0.04)


def test_yesterdays_rows_do_not_count(store: LogStore, clock: Clock) -> None:
    ledger = Ledger(store, clock)
    store.append(row(cost_usd=0.05))
    store.append(row(created_at="2026-03-09T23:59:59.999999+00:00", cost_usd=1.0))
    store.append(row(created_at="2026-03-10T00:00:00+00:00", cost_usd=0.02))
    assert ledger.usage().studio_usd == pytest.approx(0.07)
    clock.now = NOW + DAY_S  # the next day: a fresh budget
    assert ledger.usage().studio_usd == 0.0
    ledger.hold("presenter", [("j1", 0.06)], Limits(studio_usd=0.06))


# --- holds ----------------------------------------------------------------------------------


def test_holds_count_until_released(store: LogStore, ledger: Ledger) -> None:
    ledger.hold("viewer-aaaa1111", [("j1", P), ("j2", 2 * P)], NO_LIMIT)
    usage = ledger.usage()
    assert usage.held_usd == pytest.approx(3 * P)
    assert (
        usage.studio_usd == pytest.approx(3 * P) and usage.of("viewer-aaaa1111") == usage.studio_usd
    )
    ledger.release(["j1"])
    assert ledger.usage().held_usd == pytest.approx(2 * P)
    ledger.release(["j2", "never-held"])
    ledger.release([])
    assert ledger.usage().held_usd == 0.0 and holds_in_table(store) == 0


def test_a_held_jobs_row_is_not_counted_twice(store: LogStore, ledger: Ledger) -> None:
    ledger.hold("presenter", [("job-1", P)], NO_LIMIT)
    store.append(row(id="job-1", status="sent"))  # the row written before the request leaves
    assert ledger.usage().studio_usd == pytest.approx(P)
    store.update("job-1", status="ok", cost_usd=0.045)
    assert ledger.usage().studio_usd == pytest.approx(P)  # still the hold until released
    ledger.release(["job-1"])
    usage = ledger.usage()
    assert usage.studio_usd == pytest.approx(0.045) and usage.held_usd == 0.0


def test_nothing_to_hold_is_never_refused(ledger: Ledger, store: LogStore) -> None:
    store.append(row(cost_usd=9.0))
    ledger.hold("presenter", [], Limits(studio_usd=0.0))
    ledger.hold("presenter", [("free", 0.0)], Limits(studio_usd=0.0))
    assert holds_in_table(store) == 0


def test_the_studio_limit_refuses_and_says_what_is_left(store: LogStore, ledger: Ledger) -> None:
    store.append(row(cost_usd=0.12, made_by="viewer-aaaa1111"))
    store.append(row(status="sent", made_by="presenter"))
    limits = Limits(studio_usd=0.30)
    with pytest.raises(BudgetRefused) as info:
        ledger.hold("presenter", [("a", P), ("b", P), ("c", P)], limits)
    refused = info.value
    assert refused.left_usd == pytest.approx(0.12)
    assert "studio's budget" in refused.message and "$0.30" in refused.message
    assert "$0.18 is spent" in refused.message and "$0.12 is left" in refused.message
    assert "needs $0.18" in refused.message and str(refused) == refused.message
    assert holds_in_table(store) == 0  # all or nothing
    ledger.hold("presenter", [("a", P), ("b", P)], limits)  # exactly to the limit is fine
    assert ledger.usage().studio_usd == pytest.approx(0.30)
    with pytest.raises(BudgetRefused, match=r"\$0\.00 is left"):
        ledger.hold("presenter", [("d", 0.01)], limits)


def test_the_own_limit_refuses_only_that_visitor(store: LogStore, ledger: Ledger) -> None:
    store.append(row(made_by="viewer-aaaa1111", cost_usd=0.06))
    limits = Limits(studio_usd=5.0, own_usd=0.10)
    with pytest.raises(BudgetRefused) as info:
        ledger.hold("viewer-aaaa1111", [("a", P)], limits)
    assert info.value.left_usd == pytest.approx(0.04)
    assert "Your budget for today is $0.10" in info.value.message
    assert "$0.04 is left" in info.value.message
    ledger.hold("viewer-bbbb2222", [("b", P)], limits)  # another viewer has their own day
    ledger.hold("viewer-aaaa1111", [("c", 0.04)], limits)
    with pytest.raises(BudgetRefused, match="Your budget"):
        ledger.hold("viewer-aaaa1111", [("d", 0.01)], limits)
    # No own limit (the presenter): only the studio's counts.
    ledger.hold("presenter", [("e", 1.0)], Limits(studio_usd=5.0))


def test_holds_count_against_the_own_limit(ledger: Ledger) -> None:
    limits = Limits(studio_usd=5.0, own_usd=0.12)
    ledger.hold("viewer-aaaa1111", [("a", P), ("b", P)], limits)
    with pytest.raises(BudgetRefused, match=r"\$0\.12 is spent or on its way"):
        ledger.hold("viewer-aaaa1111", [("c", P)], limits)
    ledger.release(["a"])
    ledger.hold("viewer-aaaa1111", [("c", P)], limits)


def test_the_balance_refuses_what_it_does_not_cover(store: LogStore, ledger: Ledger) -> None:
    store.append(row(cost_usd=3.0))  # already spent: the balance read has it taken off
    ledger.hold("viewer-aaaa1111", [("a", P)], Limits(studio_usd=5.0))
    limits = Limits(studio_usd=5.0, balance_usd=0.10)
    with pytest.raises(BudgetRefused) as info:
        ledger.hold("presenter", [("b", P)], limits)
    assert info.value.left_usd == pytest.approx(0.04)
    message = info.value.message
    assert "balance is $0.10: $0.06 is on its way, so $0.04 is left" in message
    assert "this run needs $0.06" in message
    assert "top up" in message
    assert holds_in_table(store) == 1
    ledger.hold("presenter", [("b", 0.04)], limits)  # exactly covered
    ledger.hold("presenter", [("c", 1.0)], Limits(studio_usd=5.0))  # balance not known


def test_the_balance_refusal_states_the_amount_left(ledger: Ledger) -> None:
    ledger.hold("viewer-aaaa1111", [("a", P)], Limits(studio_usd=5.0))
    with pytest.raises(BudgetRefused) as info:
        ledger.hold("presenter", [("b", P)], Limits(studio_usd=5.0, balance_usd=0.10))
    assert "$0.04" in info.value.message


def test_stale_holds_stop_counting_and_are_deleted(
    store: LogStore, clock: Clock, ledger: Ledger
) -> None:
    ledger.hold("viewer-aaaa1111", [("dead-1", P), ("dead-2", P)], NO_LIMIT)
    store.append(row(id="dead-1", status="sent", made_by="viewer-aaaa1111"))
    clock.now = NOW + HOLD_TTL_S  # exactly the TTL: still held
    assert ledger.usage().held_usd == pytest.approx(2 * P)
    clock.now = NOW + HOLD_TTL_S + 1  # its process died an hour ago
    usage = ledger.usage()
    assert usage.held_usd == 0.0
    assert usage.studio_usd == pytest.approx(P)  # the "sent" row keeps counting at list price
    assert holds_in_table(store) == 2  # reading deletes nothing
    ledger.hold("presenter", [("fresh", P)], NO_LIMIT)  # the next hold sweeps them
    with store.reader() as conn:
        assert conn.execute(select(budget_holds.c.id)).scalars().all() == ["fresh"]
    assert ledger.usage().studio_usd == pytest.approx(2 * P)


def test_a_stale_hold_does_not_block_a_new_run(
    store: LogStore, clock: Clock, ledger: Ledger
) -> None:
    limits = Limits(studio_usd=0.06)
    ledger.hold("presenter", [("old", P)], limits)
    with pytest.raises(BudgetRefused):
        ledger.hold("presenter", [("new", P)], limits)
    clock.now = NOW + HOLD_TTL_S + 1
    ledger.hold("presenter", [("new", P)], limits)


# --- clicks at once -------------------------------------------------------------------------


def _race(ledgers: list[Ledger], limits: Limits) -> tuple[int, int]:
    """Each ledger holds one job at the same moment; returns (held, refused)."""
    barrier = threading.Barrier(len(ledgers))
    results: list[str] = []
    lock = threading.Lock()

    def click(ledger: Ledger, number: int) -> None:
        barrier.wait()
        try:
            ledger.hold(f"viewer-{number:08x}", [(f"job-{number}", P)], limits)
            outcome = "held"
        except BudgetRefused:
            outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=click, args=(led, n)) for n, led in enumerate(ledgers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == len(ledgers)
    return results.count("held"), results.count("refused")


def test_eight_clicks_at_once_cannot_pass_the_studio_limit(store: LogStore, clock: Clock) -> None:
    ledgers = [Ledger(store, clock) for _ in range(8)]
    assert _race(ledgers, Limits(studio_usd=0.30)) == (5, 3)
    usage = Ledger(store, clock).usage()
    assert usage.held_usd == pytest.approx(0.30) and usage.studio_usd == pytest.approx(0.30)
    assert holds_in_table(store) == 5


def test_two_processes_on_one_file_cannot_pass_the_studio_limit(
    tmp_path: Path, clock: Clock
) -> None:
    db = tmp_path / "shared.db"
    with LogStore(db) as first, LogStore(db) as second:
        ledgers = [Ledger(first if n % 2 else second, clock) for n in range(8)]
        assert _race(ledgers, Limits(studio_usd=0.30)) == (5, 3)
        assert Ledger(first, clock).usage().held_usd == pytest.approx(0.30)
        assert holds_in_table(second) == 5


def test_deleting_paid_rows_gives_no_budget_back(store: LogStore, ledger: Ledger) -> None:
    paid = store.append(row(cost_usd=0.06, made_by="viewer-aaaa1111"))
    store.append(row(cost_usd=0.06, made_by="viewer-aaaa1111"))
    free = store.append(row(backend="offline", made_by="viewer-aaaa1111"))
    before = ledger.usage()
    ledger.keep_spending([r for r in store.query().to_dict("records") if r["id"] in (paid, free)])
    store.delete([paid, free])
    after = ledger.usage()
    assert after.studio_usd == pytest.approx(before.studio_usd) == pytest.approx(0.12)
    assert after.of("viewer-aaaa1111") == pytest.approx(0.12)
    ledger.keep_spending([{"id": paid, "cost_usd": 0.06, "created_at": "2026-01-01T00:00:00Z"}])
    assert ledger.usage().studio_usd == pytest.approx(0.12)  # kept once, not twice
