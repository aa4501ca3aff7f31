"""Never pay twice: what makes two requests the same (request_key), and the runner answering a
seeded repeat from the log's files instead of the provider. Against local providers that count
every generation they are sent (pytest-httpserver, threaded; the offline backend), a real
SQLite log and a real image folder."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug import Request, Response

from components.api.client import FluxClient
from components.api.contract import (
    CLIENT_REQUEST_ID_HEADER,
    MODEL,
    MODEL_RAW,
    USD_SPENT_HEADER,
    GenerationRequest,
)
from components.experiments.reuse import request_key, reusable_seed
from components.images.store import ImageStore
from components.log.filter import LogFilter
from components.log.schema import WITH_IMAGES
from components.log.stats import STATS_COLUMNS, compute_metrics
from components.log.store import LogStore
from components.offline.server import OfflineBackend
from components.runner import Job, Outcome, Runner
from components.sharing.budget import Ledger, Limits
from samples import image_bytes, threaded_server

GEN = "/v1/images/generations"
RANDOM_SEED_USED = 4242  # what the stand-in provider picks when no seed is asked for
PROMPT = "a lighthouse in a storm, oil painting"
VIEWER = "viewer-3f2a9c1e"


# --- request_key ------------------------------------------------------------------------------

BASE = GenerationRequest(PROMPT, seed=777, aspect_ratio="1:1")
URL = "http://127.0.0.1:8787"


def key(request: GenerationRequest = BASE, backend: str = "aimlapi", base_url: str = URL):
    return request_key(backend, base_url, request)


def test_the_key_is_the_same_for_requests_that_differ_only_in_the_seed():
    assert key() is not None and len(key()) == 32
    assert key() == key(replace(BASE, seed=778)) == key(replace(BASE, seed=None))
    assert key() == key(GenerationRequest(PROMPT, seed=1, aspect_ratio="1:1"))


def test_the_key_reads_the_canonical_body_not_the_spelling():
    spelled = replace(BASE, output_format="JPEG", safety_tolerance=2, raw=0)
    assert key(spelled) == key()


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": PROMPT + "."},
        {"prompt": PROMPT.upper()},
        {"aspect_ratio": "16:9"},
        {"raw": True},
        {"num_images": 2},
        {"output_format": "png"},
        {"safety_tolerance": "5"},
        {"enable_safety_checker": False},
    ],
    ids=lambda change: next(iter(change)),
)
def test_any_one_parameter_changed_changes_the_key(change):
    assert key(replace(BASE, **change)) != key()


def test_raw_mode_is_another_model_and_another_key():
    raw = replace(BASE, raw=True)
    assert (BASE.model, raw.model) == (MODEL, MODEL_RAW)
    assert key(raw) != key() and key(raw) == key(replace(raw, seed=5))


def test_the_key_names_the_backend_and_the_base_url():
    assert key(backend="offline") != key(backend="aimlapi")
    assert key(base_url="http://127.0.0.1:8788") != key()
    assert key(base_url="https://api.aimlapi.com") != key(base_url="https://api.example.com")


def test_a_trailing_slash_on_the_base_url_is_ignored():
    assert key(base_url=URL + "/") == key(base_url=URL)
    assert key(base_url=f" {URL}/ ") == key(base_url=URL)


def test_a_request_that_cannot_be_sent_has_no_key():
    assert key(replace(BASE, prompt="   ")) is None
    assert key(replace(BASE, aspect_ratio="5:4")) is None
    assert key(replace(BASE, num_images=0)) is None


def test_only_an_explicit_whole_number_seed_is_reusable():
    assert reusable_seed(BASE) == 777
    assert reusable_seed(replace(BASE, seed=None)) is None
    assert reusable_seed(replace(BASE, seed=True)) is None  # a flag is not a seed


# --- a local provider that counts -------------------------------------------------------------


class Provider:
    """Answers each generation like the provider: as many image links as asked for, the seed
    asked for (else RANDOM_SEED_USED), an optional cost header; prompts starting with "fail"
    get a 500. Counts every generation request."""

    def __init__(self, server, cost: str | None = None):
        self.server = server
        self.cost = cost
        self.lock = threading.Lock()
        self.bodies: list[dict] = []
        self.ids: list[str | None] = []
        server.expect_request(GEN, method="POST").respond_with_handler(self)
        server.expect_request("/img.jpg").respond_with_data(
            image_bytes(96, 96, color=(20, 120, 200)), content_type="image/jpeg"
        )

    def __call__(self, request: Request) -> Response:
        body = request.get_json()
        with self.lock:
            self.bodies.append(body)
            self.ids.append(request.headers.get(CLIENT_REQUEST_ID_HEADER))
        if str(body.get("prompt", "")).startswith("fail"):
            answer = {"message": "Upstream partner failed", "statusCode": 500}
            return Response(json.dumps(answer), status=500, content_type="application/json")
        headers = {USD_SPENT_HEADER: self.cost} if self.cost else {}
        answer = {
            "images": [{"url": self.server.url_for("/img.jpg")}] * int(body["num_images"]),
            "seed": body.get("seed", RANDOM_SEED_USED),
        }
        return Response(json.dumps(answer), headers=headers, content_type="application/json")

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.bodies)


@pytest.fixture(scope="module")
def server_a():
    """One threaded server per module (stopping one takes half a second)."""
    yield from threaded_server()


@pytest.fixture(scope="module")
def server_b():
    yield from threaded_server()


@pytest.fixture
def serve(server_a):
    """A counting provider on server A, with or without a reported cost."""
    server_a.clear()
    yield lambda cost=None: Provider(server_a, cost=cost)
    server_a.clear()


@pytest.fixture
def provider(serve) -> Provider:
    return serve()


@pytest.fixture
def log_store(tmp_path: Path):
    store = LogStore(tmp_path / "studio.db")
    yield store
    store.close()


@pytest.fixture
def image_store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path)


@pytest.fixture
def runners():
    made: list[Runner] = []
    yield made
    for runner in made:
        runner.shutdown()


@pytest.fixture
def make_runner(log_store, image_store, runners):
    def make(base_url: str, backend: str = "aimlapi", **kw) -> Runner:
        client = FluxClient(base_url=base_url, sleep=lambda s: None, max_retries=0)
        runner = Runner(
            client, log_store, image_store, backend=backend, session_id="s1", concurrency=2, **kw
        )
        runners.append(runner)
        return runner

    return make


def base(server) -> str:
    return server.url_for("").rstrip("/")


def run_one(runner: Runner, request: GenerationRequest, **job_kw) -> Outcome:
    job = Job(request, **job_kw)
    outcomes = runner.run([job], timeout=30)
    assert len(outcomes) == 1, "the job did not finish"
    return outcomes[0]


def originals(image_store: ImageStore) -> list[Path]:
    return sorted(p for p in (image_store.root / "images").rglob("*") if p.is_file())


def seeded(seed: int = 777, **kw) -> GenerationRequest:
    return GenerationRequest(PROMPT, seed=seed, aspect_ratio="1:1", **kw)


# --- hits -------------------------------------------------------------------------------------


def test_a_seeded_repeat_is_answered_from_the_log_and_nothing_is_sent(
    serve, server_a, make_runner, log_store, image_store
):
    provider = serve(cost="0.05")
    runner = make_runner(base(server_a))
    first = run_one(runner, seeded())
    assert first.ok and first.from_row is None and provider.count == 1
    assert len(originals(image_store)) == 1

    again = run_one(runner, seeded())
    assert provider.count == 1  # nothing went to the provider
    assert again.ok and again.error is None
    assert again.from_row == first.job.id
    assert again.from_cost == pytest.approx(0.05)
    assert [(s.path, s.thumb_path) for s in again.stored] == [
        (s.path, s.thumb_path) for s in first.stored
    ]
    assert again.result.seed == 777 and again.result.attempts == 0
    stored = image_store.read_bytes(first.stored[0].path)
    assert again.result.images[0].data == stored
    assert len(originals(image_store)) == 1  # shared, not copied

    source, row = log_store.get(first.job.id), log_store.get(again.job.id)
    assert source["status"] == "ok" and source["cost_usd"] == pytest.approx(0.05)
    assert row["status"] == "from_log"
    assert row["parent_id"] == first.job.id and row["lineage"] == "from_log"
    assert row["cost_usd"] == 0 and row["credits_used"] == 0
    assert row["saved_usd"] == pytest.approx(0.05)
    assert row["image_paths"] == source["image_paths"]
    assert row["thumb_paths"] == source["thumb_paths"]
    assert row["seed"] == row["seed_requested"] == 777
    assert (row["width"], row["height"]) == (96, 96)
    assert row["request_key"] == source["request_key"] == key(seeded(), base_url=base(server_a))
    assert row["base_url"] == source["base_url"] == base(server_a)


def test_the_seed_a_random_request_used_answers_a_request_for_that_seed(
    provider, server_a, make_runner, log_store
):
    runner = make_runner(base(server_a))
    first = run_one(runner, GenerationRequest(PROMPT, aspect_ratio="1:1"))
    assert first.ok and first.result.seed == RANDOM_SEED_USED and provider.count == 1
    assert log_store.get(first.job.id)["seed_requested"] is None

    again = run_one(runner, seeded(RANDOM_SEED_USED))
    assert provider.count == 1 and again.from_row == first.job.id
    assert log_store.get(again.job.id)["status"] == "from_log"


def test_a_random_seed_request_is_never_answered_from_the_log(
    provider, server_a, make_runner, log_store
):
    runner = make_runner(base(server_a))
    random = GenerationRequest(PROMPT, aspect_ratio="1:1")
    first, second = run_one(runner, random), run_one(runner, random)
    # Both came back with the same seed and the same key: only the missing seed sends it.
    assert first.result.seed == second.result.seed == RANDOM_SEED_USED
    assert provider.count == 2 and second.from_row is None
    assert [r["status"] for r in map(log_store.get, (first.job.id, second.job.id))] == ["ok"] * 2


def test_without_a_reported_cost_the_saving_is_the_list_price_per_image(
    provider, server_a, make_runner, log_store, image_store
):
    runner = make_runner(base(server_a))
    first = run_one(runner, seeded(num_images=2))
    assert first.ok and len(first.stored) == 2 and provider.count == 1
    assert log_store.get(first.job.id)["cost_usd"] is None  # the provider did not say

    again = run_one(runner, seeded(num_images=2))
    assert provider.count == 1
    assert again.from_cost == pytest.approx(0.12)  # 2 images x $0.06
    row = log_store.get(again.job.id)
    assert row["saved_usd"] == pytest.approx(0.12) and row["cost_usd"] == 0
    assert row["image_paths"] == [s.path for s in first.stored]
    assert len(row["thumb_paths"]) == 2 and len(originals(image_store)) == 2


def test_the_offline_demo_saves_nothing_and_is_not_called_again(make_runner, log_store):
    with OfflineBackend(latency=0) as backend:
        runner = make_runner(backend.base_url, backend="offline")
        start = backend.balance_usd  # the demo balance drops $0.06 per image generated
        first = run_one(runner, seeded())
        assert first.ok and backend.balance_usd == pytest.approx(start - 0.06)
        again = run_one(runner, seeded())
        assert backend.balance_usd == pytest.approx(start - 0.06)  # nothing generated
    assert again.from_row == first.job.id and again.from_cost == 0.0
    row = log_store.get(again.job.id)
    assert row["status"] == "from_log" and row["saved_usd"] == 0 and row["cost_usd"] == 0
    assert row["backend"] == "offline"


def test_a_repeat_of_a_repeat_is_answered_too_and_nothing_is_sent(
    provider, server_a, make_runner, log_store
):
    runner = make_runner(base(server_a))
    first = run_one(runner, seeded())
    second = run_one(runner, seeded())
    third = run_one(runner, seeded())
    assert provider.count == 1
    assert second.from_row == first.job.id
    assert third.from_row in (first.job.id, second.job.id)
    row = log_store.get(third.job.id)
    assert row["status"] == "from_log"
    assert row["image_paths"] == log_store.get(first.job.id)["image_paths"]
    # Only rows the provider answered are sources: a from_log row is never one.
    assert [r["id"] for r in log_store.reusable(row["request_key"], 777)] == [first.job.id]


def test_a_from_log_row_spends_nothing_from_the_budget(serve, server_a, make_runner, log_store):
    serve(cost="0.06")
    ledger = Ledger(log_store)
    runner = make_runner(base(server_a), ledger=ledger, made_by=VIEWER)
    plenty = Limits(studio_usd=1.0, own_usd=1.0)
    for _ in range(3):
        run = runner.submit([Job(seeded())], plenty)
        assert run.wait(30)
    usage = ledger.usage()
    assert usage.studio_usd == pytest.approx(0.06) and usage.of(VIEWER) == pytest.approx(0.06)
    assert usage.held_usd == 0


def test_a_free_repeat_is_not_refused_when_the_budget_is_used_up(
    serve, server_a, make_runner, log_store
):
    provider = serve(cost="0.06")
    ledger = Ledger(log_store)
    runner = make_runner(base(server_a), ledger=ledger, made_by=VIEWER)
    exactly = Limits(studio_usd=0.06, own_usd=0.06)
    first = runner.submit([Job(seeded())], exactly)
    assert first.wait(30) and provider.count == 1
    repeat = runner.submit([Job(seeded())], exactly)  # nothing will be sent: it costs nothing
    assert repeat.wait(30)
    (outcome,) = repeat.outcomes.values()
    assert outcome.from_row == first.jobs[0].id and provider.count == 1


# --- misses: sent to the provider -------------------------------------------------------------


def test_a_different_seed_is_sent(provider, server_a, make_runner, log_store):
    runner = make_runner(base(server_a))
    run_one(runner, seeded(777))
    other = run_one(runner, seeded(778))
    assert provider.count == 2 and other.from_row is None
    assert provider.bodies[-1]["seed"] == 778
    assert log_store.get(other.job.id)["status"] == "ok"


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": PROMPT + ", at dusk"},
        {"aspect_ratio": "16:9"},
        {"raw": True},
        {"num_images": 2},
        {"output_format": "png"},
        {"safety_tolerance": "4"},
        {"enable_safety_checker": False},
    ],
    ids=lambda change: next(iter(change)),
)
def test_any_one_parameter_changed_is_sent(provider, server_a, make_runner, log_store, change):
    runner = make_runner(base(server_a))
    run_one(runner, seeded())
    changed = run_one(runner, replace(seeded(), **change))
    assert provider.count == 2 and changed.from_row is None
    assert changed.ok and log_store.get(changed.job.id)["status"] == "ok"
    name, value = next(iter(change.items()))
    sent = provider.bodies[-1]
    assert sent["model"] == (MODEL_RAW if name == "raw" else MODEL)
    if name != "raw":
        assert sent[name] == value


def test_a_cleared_thumbnail_is_rebuilt_and_the_repeat_still_served(
    provider, server_a, make_runner, image_store
):
    """Settings' "Clear thumbnails" must not make every repeat billed again."""
    runner = make_runner(base(server_a))
    first = run_one(runner, seeded())
    thumb = image_store.abs_path(first.stored[0].thumb_path)
    thumb.unlink()
    again = run_one(runner, seeded())
    assert provider.count == 1 and again.from_row == first.job.id
    assert thumb.exists()


@pytest.mark.parametrize("gone", ["original"])
def test_a_source_whose_files_are_gone_is_not_used(
    provider, server_a, make_runner, log_store, image_store, gone
):
    runner = make_runner(base(server_a))
    first = run_one(runner, seeded())
    stored = first.stored[0]
    image_store.abs_path(stored.path).unlink()

    again = run_one(runner, seeded())
    assert provider.count == 2 and again.from_row is None
    assert again.ok and again.stored[0].path != stored.path
    row = log_store.get(again.job.id)
    assert row["status"] == "ok" and row["parent_id"] is None and row["saved_usd"] is None
    assert image_store.abs_path(row["image_paths"][0]).exists()


def test_generate_anyway_always_sends(provider, server_a, make_runner, log_store):
    runner = make_runner(base(server_a))
    first = run_one(runner, seeded())
    anyway = run_one(runner, seeded(), reuse=False)
    assert provider.count == 2 and anyway.from_row is None
    assert provider.ids[-1] == anyway.job.id
    row = log_store.get(anyway.job.id)
    assert (
        row["status"] == "ok" and row["image_paths"] != log_store.get(first.job.id)["image_paths"]
    )
    # And a plain repeat afterwards is answered again (from either paid row).
    repeat = run_one(runner, seeded())
    assert provider.count == 2 and repeat.from_row in (first.job.id, anyway.job.id)


def test_another_base_url_is_another_provider_and_is_sent(
    provider, server_a, server_b, make_runner, log_store
):
    server_b.clear()
    other = Provider(server_b)
    try:
        run_one(make_runner(base(server_a)), seeded())
        elsewhere = run_one(make_runner(base(server_b)), seeded())
        assert (provider.count, other.count) == (1, 1) and elsewhere.from_row is None
        assert log_store.get(elsewhere.job.id)["base_url"] == base(server_b)
        # Back on the first server (spelled with a trailing slash): answered from its row.
        back = run_one(make_runner(base(server_a) + "/"), seeded())
        assert (provider.count, other.count) == (1, 1) and back.from_row is not None
        assert log_store.get(back.job.id)["base_url"] == base(server_a)
    finally:
        server_b.clear()


def test_a_failed_request_is_never_a_source(provider, server_a, make_runner, log_store):
    runner = make_runner(base(server_a))
    failing = GenerationRequest("fail: a lighthouse", seed=5, aspect_ratio="1:1")
    first, again = run_one(runner, failing), run_one(runner, failing)
    assert not first.ok and not again.ok and provider.count == 2
    assert again.from_row is None


# --- the log: stats, filters, deleting ----------------------------------------------------


def test_stats_leave_from_log_rows_out_of_rates_and_times_and_sum_the_savings(
    serve, server_a, make_runner, log_store
):
    serve(cost="0.05")
    runner = make_runner(base(server_a))
    paid = run_one(runner, seeded())
    run_one(runner, GenerationRequest("fail: a lighthouse", seed=5, aspect_ratio="1:1"))
    run_one(runner, seeded())
    run_one(runner, seeded())

    metrics = compute_metrics(log_store.query(columns=STATS_COLUMNS))
    assert metrics.generations == 4
    assert metrics.from_log == 2
    assert metrics.saved_usd == pytest.approx(0.10)
    assert metrics.ok == 1 and metrics.errors == 1
    assert metrics.success_rate == pytest.approx(0.5)  # 1 of the 2 requests sent
    assert metrics.usd == pytest.approx(0.05)  # only what was paid
    assert metrics.images == 1
    paid_s = log_store.get(paid.job.id)["request_s"]
    assert metrics.median_request_s == pytest.approx(paid_s)  # from_log rows have no time

    # The status filter takes several statuses: every row with images to show.
    shown = log_store.query(LogFilter(status=WITH_IMAGES))
    assert sorted(shown["status"]) == ["from_log", "from_log", "ok"]
    assert log_store.count(LogFilter(status=("from_log",))) == 2
    assert log_store.count(LogFilter(status="error")) == 1


def test_stats_with_only_from_log_rows_have_no_success_rate(
    provider, server_a, make_runner, log_store
):
    runner = make_runner(base(server_a))
    first = run_one(runner, seeded())
    run_one(runner, seeded())
    log_store.delete([first.job.id])
    metrics = compute_metrics(log_store.query(columns=STATS_COLUMNS))
    assert (metrics.generations, metrics.from_log, metrics.errors) == (1, 1, 0)
    assert metrics.success_rate is None and metrics.median_request_s is None
    assert metrics.saved_usd == pytest.approx(0.06)


def test_deleting_the_source_row_keeps_the_files_the_from_log_row_uses(
    provider, server_a, make_runner, log_store, image_store
):
    runner = make_runner(base(server_a))
    first = run_one(runner, seeded())
    again = run_one(runner, seeded())
    files = [
        image_store.abs_path(first.stored[0].path),
        image_store.abs_path(first.stored[0].thumb_path),
    ]

    deleted = log_store.delete([first.job.id])
    assert [r["id"] for r in deleted] == [first.job.id]
    named = [p for r in deleted for p in r["image_paths"] + r["thumb_paths"]]
    assert log_store.unused_paths(named) == []  # the from_log row still names them
    image_store.delete(log_store.unused_paths(named))
    assert all(f.exists() for f in files)
    row = log_store.get(again.job.id)
    assert row["status"] == "from_log" and row["parent_id"] == first.job.id

    # Once the last row naming them goes, they are unused.
    deleted = log_store.delete([again.job.id])
    named = [p for r in deleted for p in r["image_paths"] + r["thumb_paths"]]
    assert sorted(log_store.unused_paths(named)) == sorted(named)
    assert image_store.delete(log_store.unused_paths(named)) >= 1
    assert not any(f.exists() for f in files)


def test_a_repeat_whose_source_goes_away_before_it_runs_is_held_then(
    fault_server, log_store, image_store
):
    """Submitted as free (its source was there), but the source's file is gone by the time it
    runs: it must be held against the budget then, and kept home when that is spent."""
    sent: list[str] = []

    def answer(request: Request) -> Response:
        body = request.get_json()
        sent.append(body["prompt"])
        if body["prompt"] == "slow":
            time.sleep(0.6)
        reply = {"images": [{"url": fault_server.url_for("/img.jpg")}], "seed": body.get("seed", 5)}
        return Response(json.dumps(reply), headers={USD_SPENT_HEADER: "0.06"},
                        content_type="application/json")  # fmt: skip

    fault_server.expect_request(GEN, method="POST").respond_with_handler(answer)
    fault_server.expect_request("/img.jpg").respond_with_data(
        image_bytes(96, 96, color=(20, 120, 200)), content_type="image/jpeg"
    )
    client = FluxClient(base_url=base(fault_server), sleep=lambda s: None, max_retries=0)
    ledger = Ledger(log_store)
    runner = Runner(client, log_store, image_store, backend="aimlapi", session_id="s",
                    concurrency=1, ledger=ledger, made_by=VIEWER)  # fmt: skip
    limits = Limits(studio_usd=0.12)
    first = runner.submit([Job(seeded())], limits)
    assert first.wait(30)
    slow = runner.submit([Job(GenerationRequest(prompt="slow"))], limits)  # holds the last $0.06
    repeat = runner.submit([Job(seeded())], limits)  # free now: nothing held for it
    source = first.outcomes[first.jobs[0].id].stored[0]
    image_store.abs_path(source.path).unlink()  # gone before the repeat's turn comes
    assert slow.wait(30) and repeat.wait(30)
    (outcome,) = repeat.outcomes.values()
    assert outcome.from_row is None and outcome.error is not None
    assert outcome.error.error_type == "budget" and "$0.00 is left" in outcome.error.message
    assert sent == [PROMPT, "slow"]  # the repeat was never sent
    assert log_store.get(outcome.job.id)["error_type"] == "budget"
    assert ledger.usage().held_usd == 0
    runner.shutdown()
