"""Runs many generations at once and makes each result durable the moment it arrives.

Pages submit a list of jobs and poll the returned `Run`; the work, the image files and the log row
all happen in worker threads owned by the runner, not by a Streamlit script run, so a rerun, a page
switch or a closed tab loses nothing the provider delivered.

A job's log row is written before its request leaves, with status "sent" and every request
parameter, and its id goes out as the X-Client-Request-Id header; the same row is updated with
the result or the error when the call ends. So a crash, or an answer that never came, still
leaves a row that can be matched to a charge in the provider's usage log.

Spending is checked before anything is queued: with a ledger, a run's estimated cost is held
against the day's budgets (all of it, or the run is refused), and each hold ends when its job's
row is final. Requests wait for a slot in the process-wide provider gate, so the provider's
concurrency limit holds across every session. A 403 (the account may not spend: out of credits)
stops the rest of the batch.

Imports: api, images, log, sharing, gate, experiments
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from components.api.client import FluxClient, GeneratedImage, GenerationResult
from components.api.contract import CONTENT_TYPES, GenerationRequest, estimate_cost_usd
from components.api.errors import (
    ErrorType,
    FluxError,
    InternalError,
    OverBudget,
    PermissionDeniedError,
    ValidationError,
    redact,
)
from components.experiments.reuse import request_key, reusable_seed
from components.gate import Gate
from components.images.store import (
    THUMB_MAX_SIDE,
    ImageStore,
    StoredImage,
    image_id,
    inspect_image,
    make_thumbnail,
)
from components.log.schema import BackendName, RowStatus
from components.log.store import LogStore
from components.sharing.budget import BudgetRefused, Ledger, Limits
from components.sharing.roles import PRESENTER_ID

log = logging.getLogger(__name__)

# A log row's status: SENT while its request is out, then OK or ERROR. The log owns the values;
# `Status` stays as the name pages import from here.
Status = RowStatus


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Job:
    """One request to send; `label` names what makes it differ from its neighbours."""

    request: GenerationRequest
    id: str = field(default_factory=new_id)
    group_id: str | None = None
    label: str | None = None
    parent_id: str | None = None  # the row it was made from, and how (re-run, vary, ...)
    lineage: str | None = None
    reuse: bool = True  # False: "Generate anyway", never answered from the log


@dataclass
class Outcome:
    """What became of one job: a result or an error, and where it was stored."""

    job: Job
    result: GenerationResult | None = None
    error: FluxError | None = None
    stored: list[StoredImage] = field(default_factory=list)
    storage_error: str | None = None
    started: float = 0.0
    finished: float = 0.0
    from_row: str | None = None  # answered from this earlier row's files: nothing was sent
    from_cost: float = 0.0  # what that row cost (so what answering from it saved)

    @property
    def ok(self) -> bool:
        return self.result is not None and self.error is None

    @property
    def elapsed_s(self) -> float:
        return max(0.0, self.finished - self.started)


UPLOAD_PENDING = (
    "Not in the bucket yet: {}. The image is kept on this app server and uploaded again every "
    "minute; until then other app servers cannot show it."
)


def _upload_pending(outcome: Outcome) -> str | None:
    return next((s.upload_pending for s in outcome.stored if s.upload_pending), None)


def _thumbnails(result: GenerationResult, side: int = THUMB_MAX_SIDE) -> list[bytes] | None:
    """Every image's thumbnail, or None when one cannot be made (saving then says why)."""
    try:
        return [make_thumbnail(image.data, side) for image in result.images]
    except Exception:
        return None


# A worker's saving waits at most this long for the run's other first looks (Run.first_look).
FIRST_LOOKS_WAIT_S = 0.15
# A runner saves this many results at once (full thumbnail, original with its parameters,
# fsync) when their runs have nothing left to send; the rest queue. Eight at once kept the
# page's script run from the GIL for up to 0.1 s while it drew the first looks (measured,
# 8 cells, bench/latency.py's rounds alternating with the code before, 25-28 each:
# provider's last byte -> last cell visible 0.171 -> 0.140 s; the judging view, which waits
# for every save, came no later).
SAVES_AT_ONCE = 2


class Run:
    """A batch in flight: poll `outcomes`, iterate `as_completed`, or `cancel` what is queued."""

    def __init__(self, jobs: list[Job], on_cancel: Callable[[list[str]], None] | None = None):
        self.jobs = jobs
        self._futures: list[Future[Outcome]] = []
        self._lock = threading.Lock()
        self._outcomes: dict[str, Outcome] = {}
        self._done = threading.Event()
        self._news = threading.Event()  # set whenever an outcome lands or jobs are cancelled
        self._previews: dict[str, Outcome] = {}
        # A smaller first look (long side in pixels) than the stored thumbnail, or None: the
        # thumbnail is the first look. And how many workers are making theirs right now.
        self.first_look_side: int | None = None
        self._looking = 0
        self._looked = threading.Condition()
        self._on_cancel = on_cancel
        self.cancelled: set[str] = set()
        self.stopping = False  # set by cancel: jobs still waiting for a provider slot stay home
        self.stopped_because: str | None = None  # why the batch stopped early, for the page
        # Jobs expected to be answered from the log hold no budget; if one must be sent after
        # all, it is held (and checked) then, against these limits.
        self.limits: Limits | None = None
        self.unheld: set[str] = set()
        self.started = time.perf_counter()
        # Jobs whose request has left, jobs that ended (sent or not), and how many can be out
        # at once (the runner's pool size): see `wait_departures`.
        self._sent: set[str] = set()
        self._ended: set[str] = set()
        self._departed = threading.Event()
        self.at_once = len(jobs)
        if not jobs:
            self._done.set()
            self._departed.set()

    def track(self, futures: list[Future[Outcome]]) -> None:
        """The futures of the jobs, in job order, so `cancel` can reach the queued ones."""
        if len(futures) != len(self.jobs):
            raise ValueError(f"{len(futures)} futures for {len(self.jobs)} jobs")
        self._futures = list(futures)

    def record(self, outcome: Outcome) -> None:
        """Keep a finished job's outcome; the run is finished once every job is accounted for."""
        with self._lock:
            self._outcomes[outcome.job.id] = outcome
            self._previews.pop(outcome.job.id, None)
            self._ended.add(outcome.job.id)
            self._check_done()
        self._news.set()

    def preview(self, outcome: Outcome) -> None:
        """A result whose thumbnails exist while its originals and log row are still being
        written: its images' `data` are the thumbnails. A page may draw the pictures now
        (nothing else: the row is not final); the outcome itself replaces it."""
        with self._lock:
            if outcome.job.id not in self._outcomes:
                self._previews[outcome.job.id] = outcome
        self._news.set()

    @contextmanager
    def first_look(self) -> Iterator[None]:
        """Around a worker making its result's first look (see `wait_first_looks`)."""
        with self._looked:
            self._looking += 1
        try:
            yield
        finally:
            with self._looked:
                self._looking -= 1
                self._looked.notify_all()

    def wait_first_looks(self, timeout: float) -> bool:
        """Wait (at most `timeout`) until no worker of this run is making a first look.

        A worker's saving (the full thumbnail, the original's file, the row) waits here: on
        two cores it took the CPU from the first looks of the cells that landed with it
        (measured with the smaller first looks, bench/latency.py's rounds alternating with the
        code before: provider's last byte -> last cell visible 0.148 -> 0.121 s for 4 cells,
        0.218 -> 0.177 s for 8). Results that land later do not wait for it."""
        with self._looked:
            return self._looked.wait_for(lambda: self._looking == 0, timeout)

    @property
    def previews(self) -> dict[str, Outcome]:
        with self._lock:
            return dict(self._previews)

    def departing(self, job: Job) -> None:
        """The job's request is leaving now (its "sent" row is written)."""
        with self._lock:
            self._sent.add(job.id)
            self._check_done()

    def queued(self) -> bool:
        """Jobs of this run neither sent nor ended yet: waiting for a worker or a slot."""
        with self._lock:
            return len(self._sent | self._ended) < len(self.jobs)

    def wait_departures(self, timeout: float) -> bool:
        """Wait (at most `timeout`) until as many requests have left as can be out at once
        (less the jobs that ended without sending: answered from the log, refused, cancelled),
        or every job has left or ended. Another run's jobs holding workers or provider slots
        can keep that from happening: then the timeout ends the wait.

        The page that sent the run waits here before drawing: a script run drawing the page
        holds the GIL for milliseconds at a time, and each worker writing its "sent" row and
        sending needs it a dozen times, so requests drawn against the page left one by one,
        up to 40 ms apart (measured), and the last result landed that much later."""
        return self._departed.wait(timeout)

    def _check_done(self) -> None:  # the caller holds self._lock
        unsent = len(self._ended - self._sent)
        can_leave = min(self.at_once, len(self.jobs) - unsent)
        if len(self._sent) >= can_leave or len(self._sent | self._ended) >= len(self.jobs):
            self._departed.set()
        if len(self._outcomes) + len(self.cancelled) >= len(self.jobs):
            self._done.set()
            self._departed.set()

    @property
    def outcomes(self) -> dict[str, Outcome]:
        with self._lock:
            return dict(self._outcomes)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self.jobs) - len(self._outcomes) - len(self.cancelled)

    def cancel(self, because: str | None = None) -> int:
        """Cancel every job not yet sent; ones at the provider finish (and are kept)."""
        self.stopping = True
        if because and self.stopped_because is None:
            self.stopped_because = because
        ids = []
        # Before `track` (a worker can stop the batch while it is still being queued) there
        # are no futures to cancel yet: `stopping` keeps every job that reaches a slot home.
        futures = self._futures if len(self._futures) == len(self.jobs) else []
        for job, future in zip(self.jobs, futures, strict=False):
            if future.cancel():
                ids.append(job.id)
        # Holds end before the run says it is finished: a page that sees it finished sees the
        # budget as it now is.
        if ids and self._on_cancel is not None:
            self._on_cancel(ids)
        with self._lock:
            self.cancelled.update(ids)
            self._ended.update(ids)
            self._check_done()
        self._news.set()
        return len(ids)

    def drop(self, job: Job) -> None:
        """A job that was cancelled while it waited for a provider slot: it never left."""
        if self._on_cancel is not None:
            self._on_cancel([job.id])
        with self._lock:
            self.cancelled.add(job.id)
            self._ended.add(job.id)
            self._check_done()
        self._news.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def wait_news(self, timeout: float) -> bool:
        """Wait until an outcome lands or jobs are cancelled (or the timeout passes), for the one
        page that follows the run: it reads the outcomes after this returns, so nothing that
        lands meanwhile is missed (it sets the flag again for the next wait)."""
        news = self._news.wait(timeout)
        self._news.clear()
        return news

    def as_completed(self, timeout: float | None = None) -> Iterator[Outcome]:
        """Yield each outcome as soon as it is recorded, in finishing order."""
        seen: set[str] = set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                fresh = [o for k, o in self._outcomes.items() if k not in seen]
            fresh.sort(key=lambda o: o.finished)
            for outcome in fresh:
                seen.add(outcome.job.id)
                yield outcome
            if self.finished and len(seen) >= len(self.outcomes):
                return
            if deadline is not None and time.monotonic() > deadline:
                return
            self._done.wait(0.02)


class Runner:
    """Owns the worker pool; one per browser session and configuration."""

    def __init__(
        self,
        client: FluxClient,
        log_store: LogStore,
        image_store: ImageStore,
        *,
        backend: str,
        session_id: str,
        concurrency: int = 4,
        made_by: str = PRESENTER_ID,
        gate: Gate | None = None,
        ledger: Ledger | None = None,
        reuse_from_log: bool = True,
    ):
        self.client = client
        self.log_store = log_store
        self.image_store = image_store
        self.backend = backend
        self.session_id = session_id
        self.concurrency = max(1, int(concurrency))
        self.made_by = made_by
        self.gate = gate
        self.ledger = ledger
        self.reuse_from_log = reuse_from_log
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="flux-run")
        self._saving = threading.Semaphore(SAVES_AT_ONCE)

    def submit(
        self, jobs: list[Job], limits: Limits | None = None, first_look_side: int | None = None
    ) -> Run:
        """Queue the jobs. With a ledger and limits, their estimated cost is held first, or
        BudgetRefused is raised and nothing is queued (the offline demo costs nothing).
        `first_look_side`: the run's pages show its pictures smaller than a thumbnail."""
        if self.ledger is not None and limits is not None and self.backend != BackendName.OFFLINE:
            # A repeat the log will answer costs nothing: it holds nothing either.
            free = {j.id for j in jobs if self._reusable_source(j, read=False) is not None}
            paid = [j for j in jobs if j.id not in free]
            self.ledger.hold(self.made_by, [(j.id, self.estimate(j)) for j in paid], limits)
        else:
            free = set()
        run = Run(jobs, on_cancel=self._release)
        run.limits, run.unheld = limits, free
        run.first_look_side = first_look_side
        run.at_once = min(len(jobs), self.concurrency)
        try:
            run.track([self._pool.submit(self._work, run, job) for job in jobs])
        except BaseException:
            # Not queued (a runner already shut down, say): nothing will spend, so hold nothing.
            run.stopping = True
            self._release([j.id for j in jobs])
            raise
        return run

    @staticmethod
    def estimate(job: Job) -> float:
        """A job's cost at list price (what a hold is for)."""
        images = job.request.num_images
        return estimate_cost_usd(images if isinstance(images, int) and images > 0 else 1)

    def _release(self, ids: list[str]) -> None:
        if self.ledger is None:
            return
        try:
            self.ledger.release(ids)
        except Exception:
            # A hold left behind only over-counts until it expires: never lose a result to it.
            log.error("could not end budget holds: %s", traceback.format_exc())

    def run(self, jobs: list[Job], timeout: float | None = None) -> list[Outcome]:
        """Submit and wait: handy for scripts, tests and the benchmark."""
        run = self.submit(jobs)
        run.wait(timeout)
        outcomes = run.outcomes
        return [outcomes[j.id] for j in jobs if j.id in outcomes]

    def shutdown(self, cancel_pending: bool = False) -> None:
        """Stop taking work; queued jobs still run unless cancelled (they were asked for)."""
        self._pool.shutdown(wait=False, cancel_futures=cancel_pending)

    def log_rejected(self, request: GenerationRequest, error: ValidationError, **extra: Any) -> str:
        """Log input refused before sending, so bad input shows in the log as well as the UI."""
        job = Job(request, group_id=extra.get("group_id"), label=extra.get("label"))
        outcome = Outcome(job, error=error, started=time.perf_counter())
        outcome.finished = outcome.started
        return self._log(outcome)

    def _work(self, run: Run, job: Job) -> Outcome:
        outcome = Outcome(job, started=time.perf_counter())
        try:
            job.request.to_body()  # refused input never leaves the app: one "error" row, no "sent"
        except ValidationError as exc:
            outcome.error = exc
            return self._finish(run, outcome, None)
        except Exception as exc:
            log.exception("request check crashed")
            outcome.error = InternalError(f"Unexpected failure: {type(exc).__name__}: {exc}")
            return self._finish(run, outcome, None)
        if self._answer_from_log(outcome):
            return self._finish(run, outcome, None)
        if not self._hold_late(run, outcome):
            return self._finish(run, outcome, None)
        row_id: str | None = None
        try:
            with self.gate.slot(job.id) if self.gate is not None else nullcontext():
                if run.stopping:
                    run.drop(job)  # cancelled (or the batch stopped) while it waited: never sent
                    return outcome
                outcome.started = time.perf_counter()
                row_id = self._log_sent(outcome)
                run.departing(job)
                try:
                    outcome.result = self.client.generate(job.request, client_request_id=job.id)
                except FluxError as exc:
                    outcome.error = exc
                except Exception as exc:  # a bug must still leave a row and an answer on screen
                    log.exception("generation crashed")
                    outcome.error = InternalError(
                        f"Unexpected failure: {type(exc).__name__}: {exc}"
                    )
        except Exception as exc:
            # The gate itself failed (the database that holds the shared slots did not answer)
            # before anything was sent: the job must still end, or its page waits forever.
            log.exception("could not get a provider slot")
            outcome.error = InternalError(
                f"Not sent: no provider slot could be reserved ({type(exc).__name__}). Try again."
            )
        if isinstance(outcome.error, PermissionDeniedError):
            # Out of credits (or a plan that may not do this): every other job would fail the
            # same way, so the ones not yet sent stay home.
            run.cancel(because=outcome.error.message)
        if outcome.result is not None and self.backend == BackendName.OFFLINE:
            # The offline stand-in reports a simulated charge like the provider; the demo is free.
            outcome.result = replace(outcome.result, credits_used=None, cost_usd=None)
        return self._finish(run, outcome, row_id)

    def _reusable_source(
        self, job: Job, *, read: bool = True
    ) -> tuple[dict[str, Any], list[Any]] | None:
        """THE rule for never paying twice: an earlier successful row with this job's reuse
        key and used seed whose original files all still read (its row and stored files), or
        None. Asked at submit with `read=False` (the click only needs to know the files are
        there, to hold no budget: reading megabytes of originals would slow it) and in full
        when the job runs; a job found not free then is held late (`_hold_late`)."""
        seed = reusable_seed(job.request)
        key = request_key(self.backend, self.client.base_url, job.request)
        if not (self.reuse_from_log and job.reuse) or seed is None or key is None:
            return None
        try:
            candidates = self.log_store.reusable(key, seed)
        except Exception:
            log.error("could not look for an earlier identical request: %s", traceback.format_exc())
            return None
        for row in candidates:
            if not read:
                paths = row.get("image_paths") or []
                if paths and all(self.image_store.exists(p) for p in paths):
                    return row, []
                continue
            stored = self._stored_files(row)
            if stored is not None:  # else its files are gone: a miss
                return row, stored
        return None

    def _hold_late(self, run: Run, outcome: Outcome) -> bool:
        """A job submitted as a free repeat that must be sent after all (its source went away
        meanwhile): hold its cost now, or keep it home (False, with the reason as its error)."""
        job = outcome.job
        if job.id not in run.unheld or self.ledger is None or run.limits is None:
            return True
        try:
            self.ledger.hold(self.made_by, [(job.id, self.estimate(job))], run.limits)
        except BudgetRefused as exc:
            outcome.error = OverBudget(exc.message, attempts=0)
            return False
        return True

    def _answer_from_log(self, outcome: Outcome) -> bool:
        """Never pay twice: a seeded request identical to an earlier success takes that
        request's stored originals (shared, not copied). False: send it."""
        job = outcome.job
        found = self._reusable_source(job)
        seed = reusable_seed(job.request)
        if found is not None:
            row, stored = found
            # The row keeps one flag for all its images: a flagged original stays hidden when
            # it is shown again from the log.
            flagged = row.get("nsfw")
            nsfw = None if flagged is None else bool(flagged)
            images = [
                GeneratedImage(
                    data=data,
                    width=s.width,
                    height=s.height,
                    content_type=s.content_type,
                    nsfw=nsfw,
                )
                for s, data in stored
            ]
            outcome.result = GenerationResult(
                request=job.request,
                body=job.request.to_body(),
                images=images,
                seed=seed,
                credits_used=None,
                cost_usd=None,
                request_id=None,
                attempts=0,
                http_status=0,
                request_s=0.0,
                download_s=0.0,
                total_s=0.0,
            )
            outcome.stored = [s for s, _ in stored]
            outcome.from_row = str(row["id"])
            outcome.from_cost = self._cost_of(row)
            return True
        return False

    def _stored_files(self, row: dict[str, Any]) -> list[tuple[StoredImage, bytes]] | None:
        paths, thumbs = row.get("image_paths") or [], row.get("thumb_paths") or []
        if not paths or len(thumbs) != len(paths):
            return None
        out = []
        for path, thumb in zip(paths, thumbs, strict=True):
            # A cleared thumbnail is rebuilt from its original: only a lost original is a miss.
            data = self.image_store.read_bytes(path)
            if not data or not self.image_store.thumbnail_bytes(thumb):
                return None
            try:
                kind, width, height = inspect_image(data)
            except ValueError:
                return None
            content_type = CONTENT_TYPES.get(kind, "image/jpeg")
            out.append((StoredImage(path, thumb, width, height, content_type, len(data)), data))
        return out

    def _cost_of(self, row: dict[str, Any]) -> float:
        """What the reused row cost: reported, else list price (the offline demo: nothing)."""
        if row.get("backend") == BackendName.OFFLINE:
            return 0.0
        cost = row.get("cost_usd")
        if isinstance(cost, int | float) and cost == cost:
            return float(cost)
        images = row.get("num_images")
        return estimate_cost_usd(images if isinstance(images, int) and images > 0 else 1)

    def _finish(self, run: Run, outcome: Outcome, row_id: str | None) -> Outcome:
        """Store the images, complete the job's log row and hand the outcome to the run."""
        if outcome.result is not None and outcome.from_row is None:
            self._store(outcome, run)
        outcome.finished = time.perf_counter()
        try:
            self._log_result(outcome, row_id)
        except Exception:
            log.error("could not write the log row: %s", traceback.format_exc())
            note = "The log row was not saved."
            outcome.storage_error = " ".join(filter(None, (outcome.storage_error, note)))
        self._release([outcome.job.id])  # the row carries the cost from now on
        run.record(outcome)
        return outcome

    def _log_sent(self, outcome: Outcome) -> str | None:
        """The job's row, written before its request leaves; None if the log could not take it
        (the request still goes: the user asked for it, and the row is tried again at the end)."""
        try:
            row = {**self._request_row(outcome.job), "status": RowStatus.SENT.value}
            return self.log_store.append(row)
        except Exception:
            log.error("could not write the 'sent' log row: %s", traceback.format_exc())
            return None

    def _log_result(self, outcome: Outcome, row_id: str | None) -> str:
        """Complete the "sent" row with how the call ended (a whole new row if it is gone)."""
        fields = self._result_fields(outcome)
        if row_id is not None and self.log_store.update(row_id, **fields):
            return row_id
        return self.log_store.append({**self._request_row(outcome.job), **fields})

    def _store(self, outcome: Outcome, run: Run | None = None) -> None:
        """Save every image (original with its parameters, thumbnail). A first look is made
        first (the thumbnail, or smaller when the run asks) and handed to the run as a preview:
        the page shows the pictures while the originals are written (fsync) and the row
        completed, ~30-50 ms under load (measured)."""
        result = outcome.result
        assert result is not None
        params = self._params(outcome)
        thumbs, made = None, False
        if run is not None:
            with run.first_look():
                side = run.first_look_side or THUMB_MAX_SIDE
                looks = _thumbnails(result, side)
                if side == THUMB_MAX_SIDE:
                    thumbs, made = looks, True  # the first look is the thumbnail (or none)
                if looks is not None:
                    images = [replace(i, data=t) for i, t in zip(result.images, looks, strict=True)]
                    early = replace(outcome, result=replace(result, images=images), stored=[])
                    early.finished = time.perf_counter()
                    run.preview(early)
        # A worker whose run still has jobs to send goes on to them without waiting: a later
        # request leaving late costs more than a first look drawn late.
        queued = run is not None and run.queued()
        if run is not None and not queued:
            run.wait_first_looks(FIRST_LOOKS_WAIT_S)
        with nullcontext() if queued else self._saving:
            if not made:
                thumbs = _thumbnails(result)
            try:
                for index, image in enumerate(result.images):
                    stored = self.image_store.save(
                        image_id(outcome.job.id, index),
                        image.data,
                        {**params, "index": index},
                        thumb=thumbs[index] if thumbs is not None else None,
                    )
                    outcome.stored.append(stored)
            except Exception as exc:
                log.exception("could not save an image")
                outcome.storage_error = f"Image not saved to disk: {exc}"

    def _params(self, outcome: Outcome) -> dict[str, Any]:
        """What is embedded in each saved file so it can be reproduced from the file alone."""
        req = outcome.job.request
        result = outcome.result
        return {
            "app": "FLUX Ultra Studio",
            "id": outcome.job.id,
            "model": req.model,
            **req.to_params(),
            "seed": result.seed if result else None,
            "seed_requested": req.seed,
            "backend": self.backend,
            "created_at": datetime.now(UTC).isoformat(),
        }

    def _log(self, outcome: Outcome) -> str:
        """One complete row at once (input refused before sending)."""
        return self.log_store.append(
            {**self._request_row(outcome.job), **self._result_fields(outcome)}
        )

    def _request_row(self, job: Job) -> dict[str, Any]:
        """Every request parameter, as the row records it before anything is known."""
        req = job.request
        seed_requested = req.seed if isinstance(req.seed, int) else None
        return {
            "id": job.id,
            "session_id": self.session_id,
            "made_by": self.made_by,
            "base_url": self.client.base_url,
            "request_key": request_key(self.backend, self.client.base_url, req),
            "parent_id": job.parent_id,
            "lineage": job.lineage,
            "group_id": job.group_id,
            "group_label": job.label,
            "backend": self.backend,
            "model": req.model,
            "prompt": req.prompt if isinstance(req.prompt, str) else str(req.prompt),
            "seed_requested": seed_requested,
            "aspect_ratio": str(req.aspect_ratio),
            "raw": bool(req.raw) if isinstance(req.raw, bool) else None,
            "safety_tolerance": str(req.safety_tolerance),
            "output_format": str(req.output_format),
            "num_images": req.num_images if isinstance(req.num_images, int) else None,
            "enable_safety_checker": bool(req.enable_safety_checker),
        }

    def _result_fields(self, outcome: Outcome) -> dict[str, Any]:
        """How the call ended: the columns that complete the row."""
        result, error = outcome.result, outcome.error
        offline = self.backend == BackendName.OFFLINE
        row: dict[str, Any] = {"total_s": round(outcome.elapsed_s, 4)}
        if result is not None and outcome.from_row is not None:
            row.update(
                status=RowStatus.FROM_LOG.value,
                seed=result.seed,
                width=result.images[0].width if result.images else None,
                height=result.images[0].height if result.images else None,
                credits_used=0.0,
                cost_usd=0.0,
                saved_usd=outcome.from_cost,
                parent_id=outcome.from_row,
                lineage="from_log",
                image_paths=[s.path for s in outcome.stored],
                thumb_paths=[s.thumb_path for s in outcome.stored],
            )
            return row
        if result is not None:
            images = result.images
            row.update(
                status=(RowStatus.ERROR if outcome.storage_error else RowStatus.OK).value,
                # Cleared: another app process may have marked the row lost meanwhile
                # (components/sharing/leases.py), and the answer did come after all.
                error_type=None,
                error_message=None,
                seed=result.seed,
                http_status=result.http_status,
                request_id=result.request_id,
                attempts=result.attempts,
                request_s=round(result.request_s, 4),
                download_s=round(result.download_s, 4),
                width=images[0].width if images else None,
                height=images[0].height if images else None,
                nsfw=any(i.nsfw for i in images)
                if any(i.nsfw is not None for i in images)
                else None,
                credits_used=None if offline else result.credits_used,
                cost_usd=0.0 if offline else result.cost_usd,
                inference_id=result.inference_id,
                image_paths=[s.path for s in outcome.stored],
                thumb_paths=[s.thumb_path for s in outcome.stored],
            )
            if outcome.storage_error:
                row.update(error_type=ErrorType.STORAGE.value, error_message=outcome.storage_error)
            elif pending := _upload_pending(outcome):
                # The picture is safe on this app server and shows here; other replicas see it
                # once the retried upload succeeds (resources' flusher then clears this note).
                note = UPLOAD_PENDING.format(pending)
                row.update(error_type=ErrorType.STORAGE.value, error_message=note)
        else:
            secrets = (self.client.api_key,) if self.client.api_key else ()
            credits = getattr(error, "credits_used", None)
            cost = getattr(error, "cost_usd", None)
            row.update(
                status=RowStatus.ERROR.value,
                error_type=str(getattr(error, "error_type", ErrorType.ERROR)),
                error_message=redact(str(error), secrets),
                http_status=getattr(error, "status", None),
                request_id=getattr(error, "request_id", None),
                attempts=getattr(error, "attempts", None),
                request_s=round(outcome.elapsed_s, 4),
                inference_id=getattr(error, "inference_id", None),
                credits_used=None if offline else credits,
                cost_usd=(0.0 if cost is not None else None) if offline else cost,
            )
        return row
