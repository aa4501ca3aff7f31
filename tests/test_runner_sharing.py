"""The runner as a shared studio uses it: budget holds before anything is queued, holds ended
when rows are final or jobs cancelled, a 403 stopping the batch, the process-wide provider
gate, and who made each row. Against a local provider (pytest-httpserver, threaded), the
offline backend, and a real SQLite log."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug import Request, Response

from components.api.client import FluxClient
from components.api.contract import CLIENT_REQUEST_ID_HEADER, GenerationRequest
from components.api.errors import PermissionDeniedError
from components.gate import ProviderGate
from components.images.store import ImageStore
from components.log.schema import budget_holds
from components.log.store import LogStore
from components.offline.server import OfflineBackend
from components.runner import Job, Runner
from components.sharing.budget import BudgetRefused, Ledger, Limits
from samples import image_bytes, threaded_server

GEN = "/v1/images/generations"
VIEWER = "viewer-3f2a9c1e"
PLENTY = Limits(studio_usd=100.0, own_usd=100.0)


class Provider:
    """A local stand-in for the provider: answers each generation with `status` (an image link
    for 200), optionally held until released, counting requests and how many are in at once."""

    def __init__(self, server, status: int = 200, delay: float = 0.0, cost: str | None = None):
        self.server = server
        self.status = status
        self.delay = delay
        self.cost = cost
        self.release = threading.Event()
        self.release.set()
        self.lock = threading.Lock()
        self.ids: list[str | None] = []
        self.now = 0
        self.most = 0
        server.expect_request(GEN).respond_with_handler(self)
        server.expect_request("/img.jpg").respond_with_data(
            image_bytes(), content_type="image/jpeg"
        )

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.ids.append(request.headers.get(CLIENT_REQUEST_ID_HEADER))
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            self.release.wait(10)
            time.sleep(self.delay)
            headers = {"x-aimlapi-usd-spent": self.cost} if self.cost else {}
            if self.status == 200:
                seed = request.get_json().get("seed") or 7
                body = {"images": [{"url": self.server.url_for("/img.jpg")}], "seed": seed}
            else:
                body = {"message": "Insufficient credits", "statusCode": self.status}
            return Response(
                json.dumps(body),
                status=self.status,
                headers=headers,
                content_type="application/json",
            )
        finally:
            with self.lock:
                self.now -= 1

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.ids)


@pytest.fixture(scope="module")
def shared_server():
    """One threaded local server for the module (stopping one takes half a second)."""
    yield from threaded_server()


@pytest.fixture
def fault_server(shared_server):
    shared_server.clear()
    yield shared_server
    shared_server.clear()


@pytest.fixture
def log_store(tmp_path: Path):
    s = LogStore(tmp_path / "studio.db")
    yield s
    s.close()


@pytest.fixture
def ledger(log_store: LogStore) -> Ledger:
    return Ledger(log_store)


def make_runner(
    base_url: str,
    log_store: LogStore,
    tmp_path: Path,
    *,
    ledger: Ledger | None = None,
    gate: ProviderGate | None = None,
    backend: str = "aimlapi",
    concurrency: int = 4,
    made_by: str = VIEWER,
) -> Runner:
    client = FluxClient(base_url=base_url, sleep=lambda s: None, max_retries=0)
    return Runner(
        client,
        log_store,
        ImageStore(tmp_path),
        backend=backend,
        session_id="s1",
        concurrency=concurrency,
        made_by=made_by,
        gate=gate,
        ledger=ledger,
    )


def jobs(count: int, group: str = "g1", **request_kw) -> list[Job]:
    return [
        Job(GenerationRequest(f"a lighthouse {i}", seed=i + 1, **request_kw), group_id=group)
        for i in range(count)
    ]


def holds(log_store: LogStore) -> list[str]:
    with log_store.reader() as conn:
        return list(conn.execute(select(budget_holds.c.id)).scalars())


def hold_count(log_store: LogStore) -> int:
    with log_store.reader() as conn:
        return int(conn.execute(select(func.count()).select_from(budget_holds)).scalar_one())


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def base(server) -> str:
    return server.url_for("").rstrip("/")


# --- the budget -----------------------------------------------------------------------------


def test_a_run_over_budget_is_refused_whole_and_sends_nothing(
    fault_server, log_store, ledger, tmp_path
) -> None:
    provider = Provider(fault_server)
    runner = make_runner(base(fault_server), log_store, tmp_path, ledger=ledger)
    with pytest.raises(BudgetRefused) as info:
        runner.submit(jobs(3), limits=Limits(studio_usd=0.15))  # 3 x $0.06 = $0.18
    assert info.value.left_usd == pytest.approx(0.15) and "$0.15 is left" in str(info.value)
    with pytest.raises(BudgetRefused, match="Your budget"):
        runner.submit(jobs(1), limits=Limits(studio_usd=5.0, own_usd=0.05))
    with pytest.raises(BudgetRefused, match="balance"):
        runner.submit(jobs(2, num_images=2), limits=Limits(studio_usd=5.0, balance_usd=0.2))
    time.sleep(0.2)
    assert provider.count == 0 and fault_server.log == []
    assert log_store.count() == 0 and hold_count(log_store) == 0
    runner.shutdown()


def test_a_run_within_budget_holds_then_leaves_no_holds(
    fault_server, log_store, ledger, tmp_path
) -> None:
    provider = Provider(fault_server, cost="0.05")
    provider.release.clear()
    runner = make_runner(base(fault_server), log_store, tmp_path, ledger=ledger, concurrency=2)
    batch = jobs(3) + [Job(GenerationRequest("two at once", seed=9, num_images=2), group_id="g1")]
    run = runner.submit(batch, limits=Limits(studio_usd=0.30, own_usd=0.30))
    try:
        wait_for(lambda: provider.count == 2)
        usage = ledger.usage()
        assert usage.held_usd == pytest.approx(0.30)  # 3 x $0.06 + 2 images x $0.06
        assert usage.of(VIEWER) == pytest.approx(0.30)
        assert sorted(holds(log_store)) == sorted(j.id for j in batch)
        with pytest.raises(BudgetRefused):  # the studio's day is taken by what is in flight
            runner.submit(jobs(1, group="g2"), limits=Limits(studio_usd=0.30))
    finally:
        provider.release.set()
    assert run.wait(20) and all(o.ok for o in run.outcomes.values())
    assert holds(log_store) == []
    usage = ledger.usage()
    assert usage.held_usd == 0.0 and usage.studio_usd == pytest.approx(4 * 0.05)  # as reported
    frame = log_store.query(group_id="g1")
    assert len(frame) == 4 and set(frame["made_by"]) == {VIEWER}
    assert set(frame["status"]) == {"ok"}
    assert sorted(provider.ids) == sorted(j.id for j in batch)
    runner.shutdown()


def test_refused_input_releases_its_hold(fault_server, log_store, ledger, tmp_path) -> None:
    provider = Provider(fault_server)
    runner = make_runner(base(fault_server), log_store, tmp_path, ledger=ledger)
    run = runner.submit([Job(GenerationRequest("   ", seed=1))], limits=PLENTY)
    assert run.wait(10)
    assert holds(log_store) == [] and provider.count == 0
    (row,) = log_store.query().to_dict("records")
    assert row["error_type"] == "validation" and row["made_by"] == VIEWER
    runner.shutdown()


def test_a_run_that_cannot_be_queued_leaves_no_holds(log_store, ledger, tmp_path) -> None:
    runner = make_runner("http://127.0.0.1:9", log_store, tmp_path, ledger=ledger)
    runner.shutdown()
    with pytest.raises(RuntimeError):
        runner.submit(jobs(2), limits=PLENTY)
    assert holds(log_store) == []


def test_cancelling_releases_the_holds_of_the_jobs_not_sent(
    fault_server, log_store, ledger, tmp_path
) -> None:
    provider = Provider(fault_server)
    provider.release.clear()
    runner = make_runner(base(fault_server), log_store, tmp_path, ledger=ledger, concurrency=1)
    batch = jobs(4)
    run = runner.submit(batch, limits=PLENTY)
    try:
        wait_for(lambda: provider.count == 1)
        assert ledger.usage().held_usd == pytest.approx(4 * 0.06)
        assert run.cancel(because="the presenter stopped it") == 3
        assert run.stopped_because == "the presenter stopped it"
        assert holds(log_store) == [batch[0].id]  # the one at the provider is still held
        run.cancel(because="a second reason")
        assert run.stopped_because == "the presenter stopped it"  # the first reason stays
    finally:
        provider.release.set()
    assert run.wait(20)
    assert holds(log_store) == [] and provider.ids == [batch[0].id]
    assert log_store.count() == 1 and run.cancelled == {j.id for j in batch[1:]}
    runner.shutdown()


def test_the_offline_demo_never_holds(log_store, ledger, tmp_path) -> None:
    with OfflineBackend(latency=0) as offline:
        runner = make_runner(
            offline.base_url, log_store, tmp_path, ledger=ledger, backend="offline"
        )
        # A zero budget would refuse any hold: the demo costs nothing, so it runs.
        run = runner.submit(jobs(3), limits=Limits(studio_usd=0.0, own_usd=0.0, balance_usd=0.0))
        assert run.wait(30) and all(o.ok for o in run.outcomes.values())
        runner.shutdown()
    assert hold_count(log_store) == 0
    frame = log_store.query()
    assert len(frame) == 3 and set(frame["made_by"]) == {VIEWER}
    assert ledger.usage().studio_usd == 0.0


def test_without_limits_nothing_is_held(fault_server, log_store, ledger, tmp_path) -> None:
    Provider(fault_server)
    runner = make_runner(
        base(fault_server), log_store, tmp_path, ledger=ledger, made_by="presenter"
    )
    outcomes = runner.run(jobs(2), timeout=20)
    assert all(o.ok for o in outcomes) and hold_count(log_store) == 0
    assert set(log_store.query()["made_by"]) == {"presenter"}
    assert ledger.usage().of("presenter") == pytest.approx(0.12)  # list price: no cost reported
    runner.shutdown()


# --- a 403 stops the batch ------------------------------------------------------------------


def test_a_403_cancels_the_jobs_not_yet_sent(fault_server, log_store, ledger, tmp_path) -> None:
    provider = Provider(fault_server, status=403)
    runner = make_runner(base(fault_server), log_store, tmp_path, ledger=ledger, concurrency=1)
    batch = jobs(5)
    run = runner.submit(batch, limits=PLENTY)
    assert run.wait(20)
    time.sleep(0.1)
    assert provider.ids == [batch[0].id]  # the other four never left
    assert run.stopped_because and "Insufficient credits" in run.stopped_because
    (outcome,) = run.outcomes.values()
    assert isinstance(outcome.error, PermissionDeniedError) and outcome.job is batch[0]
    assert run.cancelled == {j.id for j in batch[1:]} and run.pending == 0
    assert holds(log_store) == []
    (row,) = log_store.query().to_dict("records")
    assert row["id"] == batch[0].id and row["status"] == "error"
    assert row["error_type"] == "permission" and row["http_status"] == 403
    assert row["made_by"] == VIEWER
    assert ledger.usage().studio_usd == 0.0  # a refusal is not billed
    runner.shutdown()


def test_a_403_also_stops_the_jobs_waiting_at_the_gate(
    fault_server, log_store, ledger, tmp_path
) -> None:
    """Jobs already taken by a worker but waiting for a provider slot stay home too."""
    provider = Provider(fault_server, status=403, delay=0.2)
    gate = ProviderGate(1)
    runner = make_runner(
        base(fault_server), log_store, tmp_path, ledger=ledger, gate=gate, concurrency=4
    )
    batch = jobs(6)
    run = runner.submit(batch, limits=PLENTY)
    assert run.wait(20)
    time.sleep(0.1)
    assert provider.count == 1 and log_store.count() == 1
    assert len(run.outcomes) == 1 and len(run.cancelled) == 5
    assert holds(log_store) == [] and gate.active == 0 and gate.waiting == 0
    runner.shutdown()


class SlowToQueue(list):
    """A batch whose queueing pauses after its first job (as a long batch, or a busy process,
    takes a while to queue): `pause` runs once, on the `on`-th walk through it by the caller's
    thread."""

    def __init__(self, items: list[Job], pause: Callable[[], None], on: int) -> None:
        super().__init__(items)
        self.pause, self.on, self.walks = pause, on, 0
        self.caller = threading.current_thread()

    def __iter__(self):
        mine = threading.current_thread() is self.caller
        if mine:
            self.walks += 1
        for index, job in enumerate(list.__iter__(self)):
            if mine and index == 1 and self.walks == self.on:
                self.pause()
            yield job


def test_a_403_before_the_batch_is_queued_still_finishes_the_run(
    fault_server, log_store, ledger, tmp_path
) -> None:
    provider = Provider(fault_server, status=403)
    runner = make_runner(base(fault_server), log_store, tmp_path, ledger=ledger, concurrency=1)

    def until_the_first_answer() -> None:
        wait_for(lambda: provider.count == 1)
        time.sleep(0.3)

    # Walks 1 and 2 decide what to hold (a free repeat holds nothing), walk 3 queues the jobs.
    batch = SlowToQueue(jobs(4), until_the_first_answer, on=3)
    run = runner.submit(batch, limits=PLENTY)
    try:
        assert run.wait(3)
        assert provider.count == 1 and holds(log_store) == []
        assert log_store.get(batch[0].id)["status"] == "error"
    finally:
        runner.shutdown(cancel_pending=True)


# --- the provider gate ----------------------------------------------------------------------


def test_a_shared_gate_holds_across_runners(fault_server, log_store, tmp_path) -> None:
    provider = Provider(fault_server, delay=0.15)
    gate = ProviderGate(limit=2)
    one = make_runner(base(fault_server), log_store, tmp_path, gate=gate, concurrency=3)
    two = make_runner(
        base(fault_server), log_store, tmp_path, gate=gate, concurrency=3, made_by="presenter"
    )
    runs = [one.submit(jobs(3, group="one")), two.submit(jobs(3, group="two"))]
    assert all(r.wait(30) for r in runs)
    assert all(o.ok for r in runs for o in r.outcomes.values())
    assert provider.count == 6 and provider.most == 2
    assert gate.active == 0 and gate.waiting == 0
    assert set(log_store.query(group_id="one")["made_by"]) == {VIEWER}
    assert set(log_store.query(group_id="two")["made_by"]) == {"presenter"}
    one.shutdown()
    two.shutdown()


def test_a_job_waiting_for_a_slot_has_no_row_yet(fault_server, log_store, tmp_path) -> None:
    provider = Provider(fault_server)
    provider.release.clear()
    gate = ProviderGate(limit=1)
    first = make_runner(base(fault_server), log_store, tmp_path, gate=gate)
    second = make_runner(base(fault_server), log_store, tmp_path, gate=gate)
    (ahead,), (behind,) = jobs(1, group="a"), jobs(1, group="b")
    runs = [first.submit([ahead])]
    try:
        wait_for(lambda: provider.count == 1)
        runs.append(second.submit([behind]))
        wait_for(lambda: gate.waiting == 1)
        assert log_store.get(ahead.id)["status"] == "sent"
        assert log_store.get(behind.id) is None  # not sent, so no "sent" row
        gate.resize(2)  # the presenter raises the limit: it goes at once
        wait_for(lambda: provider.count == 2)
        assert log_store.get(behind.id)["status"] == "sent"
    finally:
        provider.release.set()
    assert all(r.wait(20) for r in runs)
    assert log_store.count(status="ok") == 2
    first.shutdown()
    second.shutdown()
