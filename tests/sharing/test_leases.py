"""Provider slots shared through the database (two stores on one database stand for two app
processes), on SQLite and PostgreSQL: the limit holds across them, a dead process's slots
come back when its leases expire, and its "sent" rows are marked lost, never a live one's."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

from components.api.errors import ErrorType
from components.log.store import LogStore
from components.sharing.budget import charge_of
from components.sharing.leases import LEASE_TTL_S, LOST_AFTER_S, SharedGate, mark_lost
from samples import Clock


def test_the_limit_holds_across_processes(store: LogStore) -> None:
    other = LogStore(store.url)
    gates = [SharedGate(store, 2, holder="replica-a"), SharedGate(other, 2, holder="replica-b")]
    lock = threading.Lock()
    now = {"in": 0, "most": 0, "done": 0}

    def job(gate: SharedGate) -> None:
        with gate.slot(uuid.uuid4().hex):
            with lock:
                now["in"] += 1
                now["most"] = max(now["most"], now["in"])
            time.sleep(0.15)
            with lock:
                now["in"] -= 1
                now["done"] += 1

    threads = [threading.Thread(target=job, args=(gates[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert now == {"in": 0, "most": 2, "done": 8}
    assert gates[0].in_use() == 0  # every lease ended with its job
    other.close()


def test_a_dead_processes_slot_comes_back_when_its_lease_expires(store: LogStore) -> None:
    clock = Clock(time.time())
    dead = SharedGate(store, 1, holder="died", clock=clock)
    assert dead._try("job-of-the-dead")  # taken, then its process is gone: never released
    alive = SharedGate(LogStore(store.url), 1, holder="alive", clock=clock)
    assert alive.in_use() == 1 and not alive._try("waits")
    clock.now += LEASE_TTL_S + 1
    assert alive.in_use() == 0 and alive._try("now-mine")


def _sent(store: LogStore, age_s: float, now: float) -> str:
    created = datetime.fromtimestamp(now - age_s, UTC).isoformat(timespec="microseconds")
    return store.append(
        {
            "id": uuid.uuid4().hex,
            "created_at": created,
            "backend": "aimlapi",
            "prompt": "a lighthouse",
            "num_images": 1,
            "status": "sent",
            "made_by": "presenter",
        }
    )


def test_sent_rows_nobody_holds_are_marked_lost_and_still_count(store: LogStore) -> None:
    now = time.time()
    gate = SharedGate(store, 4, holder="alive")
    orphan = _sent(store, LOST_AFTER_S + 60, now)  # its process died long ago
    running = _sent(store, LOST_AFTER_S + 60, now)  # a slow request a live process still holds
    assert gate._try(running)
    young = _sent(store, 5, now)  # just sent: its lease may not even be taken yet
    edits = store.fingerprint()
    assert mark_lost(store, now) == 1
    lost = store.get(orphan)
    assert lost is not None and lost["status"] == "error" and lost["error_type"] == ErrorType.LOST
    assert "client request id" in lost["error_message"]
    assert charge_of(lost) > 0  # possibly billed: the budget keeps counting it
    assert store.get(running)["status"] == "sent" and store.get(young)["status"] == "sent"
    assert store.fingerprint() != edits  # pages reading the log see the change
    assert mark_lost(store, now) == 0


def test_an_answer_that_comes_after_all_replaces_lost(store: LogStore) -> None:
    now = time.time()
    row_id = _sent(store, LOST_AFTER_S + 60, now)
    assert mark_lost(store, now) == 1
    # What the runner writes when the answer arrives (components/runner.py `_result_fields`).
    store.update(row_id, status="ok", error_type=None, error_message=None, seed=7)
    row = store.get(row_id)
    assert row is not None and row["status"] == "ok" and row["error_type"] is None
