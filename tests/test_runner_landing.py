"""How a run reaches the page that follows it: every request leaves before the page is drawn,
and a result's pictures are offered (a preview) before its files and row are written."""

from __future__ import annotations

import io
import threading
import time

from PIL import Image

from components.api.client import FluxClient
from components.api.contract import GenerationRequest
from components.images.store import THUMB_MAX_SIDE, ImageStore
from components.log.schema import RowStatus
from components.runner import SAVES_AT_ONCE, Job, Outcome, Run, Runner


def runner_for(backend, stores, concurrency: int = 4) -> Runner:
    client = FluxClient(None, backend.base_url)
    return Runner(client, *stores, backend="offline", session_id="s", concurrency=concurrency)


def jobs(count: int) -> list[Job]:
    return [Job(GenerationRequest(prompt=f"cell {i}", seed=i + 1)) for i in range(count)]


def test_departures_are_awaited_only_for_what_can_leave_at_once(backend, stores):
    """Six jobs, two workers: the wait ends when two requests are out (rows "sent", no answer
    yet), not when all six are."""
    backend.latency = 1.0
    log, _ = stores
    runner = runner_for(backend, stores, concurrency=2)
    run = runner.submit(jobs(6))
    assert run.wait_departures(5.0)
    statuses = list(log.query()["status"])
    assert statuses == [RowStatus.SENT.value] * 2 and not run.outcomes
    run.cancel()
    assert run.wait(10)
    runner.shutdown()


def test_jobs_answered_from_the_log_do_not_count_as_departures(backend, stores):
    """Eight jobs, four workers, the first four answered from the log at once: the wait ends
    when the four new requests are out, not when the four answers from the log are in."""
    log, images = stores
    client = FluxClient(None, backend.base_url)
    first = Runner(client, log, images, backend="offline", session_id="s", concurrency=1)
    done = first.run(jobs(4), timeout=20)
    assert all(o.ok for o in done)
    first.shutdown()
    backend.latency = 1.0
    runner = runner_for(backend, stores, concurrency=4)
    fresh = [Job(GenerationRequest(prompt=f"new {i}", seed=100 + i)) for i in range(4)]
    run = runner.submit(jobs(4) + fresh)
    assert run.wait_departures(5.0)
    sent = log.query(status=RowStatus.SENT.value)
    assert set(sent["id"]) == {j.id for j in fresh}  # all four new ones are out
    assert len(run.outcomes) == 4 and all(o.from_row for o in run.outcomes.values())
    assert run.wait(20)
    runner.shutdown()


def test_a_run_that_sends_nothing_does_not_hold_the_page(backend, stores):
    """Input refused before sending never departs, but it ends: the wait is over."""
    runner = runner_for(backend, stores)
    bad = [Job(GenerationRequest(prompt="", seed=1)) for _ in range(3)]
    run = runner.submit(bad)
    assert run.wait_departures(5.0) and run.wait(5.0)
    assert all(not o.ok for o in run.outcomes.values())
    assert Run([]).wait_departures(0.0)  # nothing to send
    runner.shutdown()


def test_pictures_come_before_files_and_row_and_are_the_stored_thumbnails(backend, stores):
    log, images = stores
    backend.latency = 0.3  # time to watch the run before anything lands
    runner = runner_for(backend, stores)
    seen: dict[str, tuple[Outcome, str, bool]] = {}
    lock = threading.Lock()
    run = runner.submit(jobs(3))
    real_preview = run.preview

    def watch(early: Outcome) -> None:
        # What the log and the folder hold at the moment the page could draw the picture.
        row = log.query(ids=[early.job.id]).iloc[0]
        saved = any(images.root.glob(f"images/*/{early.job.id}_0.*"))
        with lock:
            seen[early.job.id] = (early, str(row["status"]), saved)
        real_preview(early)

    run.preview = watch  # type: ignore[method-assign]
    assert run.wait(20)
    outcomes = run.outcomes
    assert set(seen) == set(outcomes)
    for job_id, (early, status, saved) in seen.items():
        assert status == RowStatus.SENT.value and not saved  # no row result, no original yet
        assert early.stored == [] and early.result is not None
        (picture,) = early.result.images
        with Image.open(io.BytesIO(picture.data)) as im:
            assert max(im.size) <= THUMB_MAX_SIDE  # a thumbnail, not the original
        # The thumbnail the page showed is the one stored: made once, not twice.
        (stored,) = outcomes[job_id].stored
        assert images.thumbnail_bytes(stored.thumb_path) == picture.data
        assert picture.width == outcomes[job_id].result.images[0].width  # the original's size
    assert run.previews == {}  # each preview went when its outcome landed
    runner.shutdown()


def test_a_run_may_ask_for_first_looks_smaller_than_its_thumbnails(backend, stores):
    """A grid of small cells: the picture offered first is smaller than the stored
    thumbnail, which is still made at full thumbnail size."""
    backend.latency = 0.3  # time to watch the run before anything lands
    runner = runner_for(backend, stores)
    looks: dict[str, bytes] = {}
    run = runner.submit(jobs(2), first_look_side=344)
    real_preview = run.preview

    def keep(early: Outcome) -> None:
        assert early.result is not None
        looks[early.job.id] = early.result.images[0].data
        real_preview(early)

    run.preview = keep  # type: ignore[method-assign]
    assert run.wait(20)
    _, images = stores
    for job_id, outcome in run.outcomes.items():
        assert outcome.ok
        with Image.open(io.BytesIO(looks[job_id])) as im:
            assert max(im.size) == 344
        (stored,) = outcome.stored
        thumb = images.thumbnail_bytes(stored.thumb_path)
        assert thumb is not None
        with Image.open(io.BytesIO(thumb)) as im:
            assert max(im.size) == THUMB_MAX_SIDE
    runner.shutdown()


def test_saving_waits_for_the_runs_other_first_looks_no_longer_than_its_limit():
    run = Run(jobs(2))
    assert run.wait_first_looks(0.0)  # nobody is making one
    inside, release = threading.Event(), threading.Event()

    def look() -> None:
        with run.first_look():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=look)
    worker.start()
    assert inside.wait(5)
    assert not run.wait_first_looks(0.05)  # one is being made: the wait runs out
    threading.Timer(0.05, release.set).start()
    assert run.wait_first_looks(5)  # and ends as soon as it is made
    worker.join(5)


def test_a_first_look_that_fails_does_not_hold_the_others():
    run = Run(jobs(1))
    try:
        with run.first_look():
            raise ValueError("undecodable")
    except ValueError:
        pass
    assert run.wait_first_looks(0.0)


def most_saves_at_once(backend, stores, monkeypatch, count: int, concurrency: int) -> int:
    """Run `count` jobs whose answers land together; how many saves ran at once, at most."""
    at_once, most = 0, 0
    lock = threading.Lock()
    real_save = ImageStore.save

    def save(store, *args, **kwargs):
        nonlocal at_once, most
        with lock:
            at_once += 1
            most = max(most, at_once)
        try:
            # Long enough for saves that are not queued to overlap: the offline backend draws
            # each picture in this process, so answers of one wave land up to ~0.2 s apart.
            time.sleep(0.4)
            return real_save(store, *args, **kwargs)
        finally:
            with lock:
                at_once -= 1

    monkeypatch.setattr(ImageStore, "save", save)
    backend.latency = 0.3  # the answers of each wave land together
    runner = runner_for(backend, stores, concurrency=concurrency)
    run = runner.submit(jobs(count))
    assert run.wait(30)
    assert all(o.ok and o.stored for o in run.outcomes.values())
    runner.shutdown()
    return most


def test_a_runner_saves_at_most_two_results_at_once(backend, stores, monkeypatch):
    """Six results landing together: their saving queues two at a time (the page drawing
    their first looks needs the interpreter too), and every one is saved."""
    assert 1 < most_saves_at_once(backend, stores, monkeypatch, 6, 6) <= SAVES_AT_ONCE == 2


def test_saving_does_not_queue_while_the_run_has_requests_to_send(backend, stores, monkeypatch):
    """Eight jobs on four workers: the first four save at once, each worker then sends its
    next job at once (a later request leaving late costs more than a first look drawn late)."""
    assert most_saves_at_once(backend, stores, monkeypatch, 8, 4) == 4


def test_a_run_with_jobs_still_to_send_says_so_until_each_left_or_ended():
    """What lets a worker skip the saving queue: its run has requests still to send."""
    first, second, third = jobs(3)
    run = Run([first, second, third])
    assert run.queued()
    run.departing(first)
    run.drop(second)  # cancelled while it waited: it ends without leaving
    assert run.queued()
    run.departing(third)
    assert not run.queued()
