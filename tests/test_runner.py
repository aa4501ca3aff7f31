"""The runner against the real offline backend, a fault server, a real SQLite log and folder."""

from __future__ import annotations

import json
import threading
import time

import pytest
from werkzeug import Response

from components.api.client import FluxClient
from components.api.contract import CLIENT_REQUEST_ID_HEADER, GenerationRequest
from components.api.errors import InternalError, ValidationError
from components.images.store import read_params
from components.log.schema import RowStatus
from components.runner import Job, Run, Runner, Status
from samples import image_bytes

GEN = "/v1/images/generations"
KEY44 = "sk-aiml-0123456789abcdefghijklmnopqrstuvwxyz"


def make_runner(base_url, stores, concurrency=4, backend="offline", **client_kw) -> Runner:
    log_store, image_store = stores
    client = FluxClient(base_url=base_url, sleep=lambda s: None, **client_kw)
    return Runner(
        client, log_store, image_store, backend=backend, session_id="s1", concurrency=concurrency
    )


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


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
        def generate(self, request, *, client_request_id=None):
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


# --- the "sent" row, the client request id and the provider's tracing headers -----------------


def test_status_is_the_logs_row_status():
    assert Status is RowStatus
    assert (Status.OK, Status.ERROR, Status.SENT) == ("ok", "error", "sent")


class Blocking:
    """A provider that holds each generation until released, recording what it received."""

    def __init__(self, server, status=200, headers=None, body=None):
        self.server = server
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.entered = threading.Event()
        self.release = threading.Event()
        self.client_ids: list[str | None] = []

    def __call__(self, request):
        self.client_ids.append(request.headers.get(CLIENT_REQUEST_ID_HEADER))
        self.entered.set()
        self.release.wait(10)
        body = self.body or {
            "images": [{"url": self.server.url_for("/img.jpg")}],
            "seed": request.get_json().get("seed", 4),
        }
        return Response(
            json.dumps(body),
            status=self.status,
            headers=self.headers,
            content_type="application/json",
        )


def test_the_row_is_sent_before_the_answer_and_completed_after(fault_server, stores):
    provider = Blocking(
        fault_server,
        headers={
            "x-inference-id": "inf-abc",
            "x-aimlapi-credits-used": "120000",
            "x-aimlapi-usd-spent": "0.06",
        },
    )
    fault_server.expect_request(GEN).respond_with_handler(provider)
    fault_server.expect_request("/img.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    log_store, _ = stores
    runner = make_runner(fault_server.url_for("").rstrip("/"), stores, backend="aimlapi")
    request = GenerationRequest(
        "a lighthouse", seed=42, aspect_ratio="1:1", raw=True, num_images=1, output_format="png"
    )
    job = Job(request, group_id="g-sent", label="seed 42")
    run = runner.submit([job])
    try:
        assert provider.entered.wait(10)
        row = log_store.get(job.id)  # the provider is still working on it
        assert row is not None and row["status"] == "sent"
        assert row["prompt"] == "a lighthouse" and row["seed_requested"] == 42
        assert row["aspect_ratio"] == "1:1" and row["raw"] is True and row["num_images"] == 1
        assert row["output_format"] == "png" and row["model"] == "flux-pro/v1.1-ultra-raw"
        assert row["group_id"] == "g-sent" and row["group_label"] == "seed 42"
        assert row["backend"] == "aimlapi" and row["session_id"] == "s1"
        assert row["error_message"] is None and row["inference_id"] is None
        assert log_store.count() == 1
    finally:
        provider.release.set()
    assert run.wait(20)
    assert provider.client_ids == [job.id]  # X-Client-Request-Id is the row id
    (outcome,) = run.outcomes.values()
    assert outcome.ok and outcome.result.inference_id == "inf-abc"
    row = log_store.get(job.id)
    assert row["status"] == "ok" and row["seed"] == 42 and log_store.count() == 1
    assert row["inference_id"] == "inf-abc"
    assert row["credits_used"] == 120000 and row["cost_usd"] == pytest.approx(0.06)
    assert row["created_at"] is not None and row["total_s"] >= row["request_s"] > 0


def test_an_error_answer_completes_the_same_row(fault_server, stores):
    provider = Blocking(
        fault_server,
        status=400,
        headers={"x-inference-id": "inf-400", "x-request-id": "rid-400"},
        body={"message": "Body validation error: Expected string"},
    )
    fault_server.expect_request(GEN).respond_with_handler(provider)
    log_store, _ = stores
    runner = make_runner(fault_server.url_for("").rstrip("/"), stores, backend="aimlapi")
    job = Job(GenerationRequest("x", seed=3), group_id="g-err")
    run = runner.submit([job])
    try:
        assert provider.entered.wait(10)
        assert log_store.get(job.id)["status"] == "sent"
    finally:
        provider.release.set()
    assert run.wait(20)
    row = log_store.get(job.id)
    assert row["status"] == "error" and row["error_type"] == "bad_request"
    assert row["http_status"] == 400 and row["request_id"] == "rid-400"
    assert row["inference_id"] == "inf-400" and row["seed_requested"] == 3
    assert log_store.count() == 1


def test_a_read_timeout_is_one_post_and_one_row_that_says_so(fault_server, stores):
    provider = Blocking(fault_server)
    fault_server.expect_request(GEN).respond_with_handler(provider)
    log_store, _ = stores
    runner = make_runner(
        fault_server.url_for("").rstrip("/"), stores, backend="aimlapi", timeout=0.3, max_retries=6
    )
    job = Job(GenerationRequest("x", seed=8))
    try:
        (outcome,) = runner.run([job], timeout=20)
        time.sleep(0.3)
    finally:
        provider.release.set()
    assert provider.client_ids == [job.id]  # sent once, never again
    row = log_store.get(job.id)
    assert row["status"] == "error" and row["error_type"] == "timeout" and row["attempts"] == 1
    assert "NOT sent again" in row["error_message"] and job.id in row["error_message"]
    assert outcome.error.client_request_id == job.id


def test_a_crash_mid_request_leaves_the_sent_row(backend, stores):
    """A process that dies while the request is out (here: SystemExit in the worker) leaves
    the row it wrote before sending, so the request can still be matched to a charge."""
    log_store, image_store = stores

    class Dying(FluxClient):
        def generate(self, request, *, client_request_id=None):
            raise SystemExit("killed mid-request")

    runner = Runner(
        Dying(base_url=backend.base_url),
        log_store,
        image_store,
        backend="aimlapi",
        session_id="s1",
    )
    job = Job(GenerationRequest("lost", seed=11))
    runner.submit([job])
    wait_for(lambda: log_store.get(job.id) is not None)
    time.sleep(0.2)
    row = log_store.get(job.id)
    assert row["status"] == "sent" and row["prompt"] == "lost" and row["seed_requested"] == 11
    assert log_store.count(status="sent") == 1


def test_offline_rows_get_the_inference_id_and_stay_free(backend, stores):
    log_store, _ = stores
    runner = make_runner(backend.base_url, stores)
    (outcome,) = runner.run([Job(GenerationRequest("x", seed=2), group_id="off")], timeout=30)
    assert outcome.ok
    assert outcome.result.client_request_id == outcome.job.id
    assert outcome.result.inference_id and outcome.result.credits_used is None
    row = log_store.get(outcome.job.id)
    assert row["inference_id"] == outcome.result.inference_id
    assert row["cost_usd"] == 0.0 and row["credits_used"] is None


def test_log_rejected_writes_one_error_row(fault_server, stores):
    log_store, _ = stores
    runner = make_runner(fault_server.url_for("").rstrip("/"), stores)
    request = GenerationRequest("   ", seed=0)
    with pytest.raises(ValidationError) as info:
        request.validated()
    row_id = runner.log_rejected(request, info.value, group_id="rej", label="bad")
    row = log_store.get(row_id)
    assert row["status"] == "error" and row["error_type"] == "validation"
    assert row["group_id"] == "rej" and row["group_label"] == "bad"
    assert log_store.count() == 1 and fault_server.log == []


def test_refused_input_gets_no_sent_row(fault_server, stores):
    log_store, _ = stores
    runner = make_runner(fault_server.url_for("").rstrip("/"), stores)
    runner.run([Job(GenerationRequest("", seed=0))], timeout=10)
    assert log_store.count() == 1 and log_store.count(status="sent") == 0
    assert log_store.query().iloc[0]["status"] == "error"


def test_the_key_never_reaches_the_row_across_the_cut(fault_server, stores):
    body = "<p>" + "e" * 468 + KEY44 + "</p>"  # the key starts 29 characters before the cut
    fault_server.expect_request(GEN).respond_with_data(body, status=401, content_type="text/html")
    log_store, _ = stores
    runner = make_runner(
        fault_server.url_for("").rstrip("/"), stores, backend="aimlapi", api_key=KEY44
    )
    (outcome,) = runner.run([Job(GenerationRequest("x"))], timeout=20)
    row = log_store.get(outcome.job.id)
    assert row["status"] == "error" and row["http_status"] == 401
    assert KEY44[:4] not in row["error_message"] and KEY44[:4] not in str(outcome.error)


def test_wait_news_wakes_for_each_landing_and_misses_none(backend, stores):
    """The Compare page's wait: it returns when an outcome lands (not at the end of a slice)
    and a landing between two waits is still news for the next one."""
    runner = Runner(FluxClient(None, backend.base_url), *stores, backend="offline", session_id="s")
    jobs = [Job(GenerationRequest(prompt=f"cell {i}", seed=i + 1)) for i in range(2)]
    run = runner.submit(jobs)
    seen: set[str] = set()
    deadline = time.monotonic() + 20
    while len(seen) < 2:
        assert time.monotonic() < deadline
        started = time.monotonic()
        assert run.wait_news(5.0) or set(run.outcomes) - seen  # news, not a timeout
        assert time.monotonic() - started < 4.0
        seen |= set(run.outcomes)
    run.wait_news(0.01)  # takes a landing that came after the last read, if one did
    assert run.finished and not run.wait_news(0.01)  # nothing new since: a timeout
    runner.shutdown()


class _BrokenGate:
    """A gate whose database does not answer: taking a slot raises."""

    def slot(self, key=None):
        raise RuntimeError("the database that holds the provider slots is down")

    def resize(self, limit: int) -> None:
        pass


def test_a_gate_that_fails_ends_the_job_with_an_error_and_sends_nothing(
    fault_server, stores
) -> None:
    fault_server.expect_request("/v1/images/generations").respond_with_json({}, status=500)
    client = FluxClient("sk-test", fault_server.url_for("").rstrip("/"))
    runner = Runner(client, *stores, backend="aimlapi", session_id="s", gate=_BrokenGate())
    run = runner.submit([Job(GenerationRequest(prompt="a lighthouse", seed=3))])
    assert run.wait(10)  # the page that follows the run is not left waiting forever
    (outcome,) = run.outcomes.values()
    assert not outcome.ok and "no provider slot" in outcome.error.message
    assert len(fault_server.log) == 0  # nothing reached the provider
    runner.shutdown()
