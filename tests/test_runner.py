"""The runner against the real offline backend, a fault server, a real SQLite log and folder."""

from __future__ import annotations

import json
import time

import pytest
from werkzeug import Response

from components.api.client import FluxClient
from components.api.contract import GenerationRequest
from components.api.errors import InternalError
from components.images.store import ImageStore, read_params
from components.log.store import LogStore
from components.offline.server import OfflineBackend
from components.runner import Job, Run, Runner
from samples import image_bytes


@pytest.fixture
def backend():
    with OfflineBackend(latency=0) as server:
        yield server


@pytest.fixture
def stores(tmp_path):
    return LogStore(tmp_path / "studio.db"), ImageStore(tmp_path)


def make_runner(base_url, stores, concurrency=4, **client_kw) -> Runner:
    log_store, image_store = stores
    client = FluxClient(base_url=base_url, sleep=lambda s: None, **client_kw)
    return Runner(
        client, log_store, image_store, backend="offline", session_id="s1", concurrency=concurrency
    )


def test_every_result_is_stored_logged_and_yielded(backend, stores, tmp_path):
    log_store, image_store = stores
    runner = make_runner(backend.base_url, stores)
    jobs = [
        Job(GenerationRequest(f"cat {i}", seed=100 + i, aspect_ratio="1:1"), group_id="g1")
        for i in range(6)
    ]
    run = runner.submit(jobs)
    seen = [o.job.id for o in run.as_completed(timeout=60)]
    assert sorted(seen) == sorted(j.id for j in jobs)
    df = log_store.query(group_id="g1")
    assert len(df) == 6 and set(df["status"]) == {"ok"}
    assert sorted(df["seed"].tolist()) == [100 + i for i in range(6)]
    for _, row in df.iterrows():
        assert (row["width"], row["height"]) == (2048, 2048)
        assert row["request_s"] > 0 and row["total_s"] >= row["request_s"]
        assert row["cost_usd"] == 0.0  # offline costs nothing
        original = image_store.abs_path(row["image_paths"][0])
        assert original.exists() and image_store.abs_path(row["thumb_paths"][0]).exists()
        embedded = read_params(original)
        assert embedded["seed"] == row["seed"] and embedded["prompt"] == row["prompt"]


def test_failures_are_logged_with_their_details(fault_server, stores):
    fault_server.expect_request("/v1/images/generations").respond_with_json(
        {"message": "Generation timeout", "requestId": "rid-504", "statusCode": 504}, status=504
    )
    log_store, _ = stores
    runner = make_runner(fault_server.url_for("").rstrip("/"), stores, max_retries=1)
    outcomes = runner.run([Job(GenerationRequest("x"), group_id="g2")], timeout=30)
    assert len(outcomes) == 1 and not outcomes[0].ok
    row = log_store.query(group_id="g2").iloc[0]
    assert row["status"] == "error" and row["error_type"] == "server"
    assert row["http_status"] == 504 and row["request_id"] == "rid-504"
    assert row["attempts"] == 2 and "Generation timeout" in row["error_message"]


def test_mixed_run_keeps_the_successes(fault_server, stores):
    def handler(request):
        body = request.get_json()
        if body["seed"] == 3:
            return Response('{"message": "boom"}', status=500, content_type="application/json")
        answer = {"images": [{"url": fault_server.url_for("/img.jpg")}], "seed": body["seed"]}
        return Response(json.dumps(answer), content_type="application/json")

    fault_server.expect_request("/v1/images/generations").respond_with_handler(handler)
    fault_server.expect_request("/img.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    log_store, _ = stores
    runner = make_runner(fault_server.url_for("").rstrip("/"), stores, max_retries=0)
    jobs = [Job(GenerationRequest("x", seed=s), group_id="g3") for s in (1, 2, 3, 4)]
    outcomes = runner.run(jobs, timeout=30)
    assert [o.ok for o in outcomes] == [True, True, False, True]
    df = log_store.query(group_id="g3")
    assert sorted(df["status"]) == ["error", "ok", "ok", "ok"]


def test_validation_errors_are_logged_without_a_request(fault_server, stores):
    log_store, _ = stores
    runner = make_runner(fault_server.url_for("").rstrip("/"), stores)
    outcomes = runner.run([Job(GenerationRequest("   ", seed=0))], timeout=10)
    assert outcomes[0].error.error_type == "validation"
    assert fault_server.log == []
    row = log_store.query().iloc[0]
    assert row["error_type"] == "validation" and "prompt" in row["error_message"]


def test_concurrency_limit_and_cancel(backend, stores):
    backend.latency = 0.5
    runner = make_runner(backend.base_url, stores, concurrency=2)
    jobs = [Job(GenerationRequest(f"dog {i}", seed=i + 1)) for i in range(6)]
    run = runner.submit(jobs)
    time.sleep(0.2)
    cancelled = run.cancel()
    assert cancelled == 4  # two were running; four were still queued
    assert run.wait(10)
    assert len(run.outcomes) == 2 and run.pending == 0
    log_store, _ = stores
    assert log_store.count() == 2  # cancelled jobs never left the app, so no rows


def test_results_survive_the_caller_going_away(backend, stores):
    """The worker logs the result even if nobody ever polls the run (tab closed mid-run)."""
    backend.latency = 0.3
    log_store, _ = stores
    runner = make_runner(backend.base_url, stores)
    runner.submit([Job(GenerationRequest("orphan", seed=9), group_id="orphan")])
    deadline = time.monotonic() + 10
    while log_store.count(group_id="orphan") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log_store.count(group_id="orphan") == 1


def test_concurrent_jobs_overlap(backend, stores):
    backend.latency = 0.5
    runner = make_runner(backend.base_url, stores, concurrency=4)
    started = time.perf_counter()
    outcomes = runner.run([Job(GenerationRequest("x", seed=i + 1)) for i in range(4)], 30)
    wall = time.perf_counter() - started
    assert all(o.ok for o in outcomes)
    assert wall < 1.8  # one after another would take at least 2 s


def test_a_crash_is_an_internal_error_with_a_row(backend, stores):
    class Broken(FluxClient):
        def generate(self, request):
            raise KeyError("surprise")

    log_store, image_store = stores
    runner = Runner(
        Broken(base_url=backend.base_url),
        log_store,
        image_store,
        backend="offline",
        session_id="s1",
    )
    (outcome,) = runner.run([Job(GenerationRequest("x", seed=1), group_id="g9")], timeout=10)
    assert isinstance(outcome.error, InternalError) and outcome.error.error_type == "internal"
    row = log_store.query(group_id="g9").iloc[0]
    assert row["status"] == "error" and row["error_type"] == "internal"
    assert "KeyError" in row["error_message"]
    assert type(row["error_type"]) is str  # the log holds plain text, not the enum


def test_a_run_needs_one_future_per_job():
    run = Run([Job(GenerationRequest("x")), Job(GenerationRequest("y"))])
    with pytest.raises(ValueError):
        run.track([])
