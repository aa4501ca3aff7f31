"""Fixtures the page tests share."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def _thaw_after():
    """app.py freezes the heap (components/ui/heap.py) in this, the test process: thaw it after
    each page test, so what earlier tests left in cycles is still collected."""
    yield
    gc.unfreeze()


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A fresh data folder on the offline backend with no latency and no key."""
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "0")
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    monkeypatch.delenv("AIMLAPI_BASE_URL", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def backend():
    """The offline backend's server, for rows made for real before a page test."""
    from components.offline.server import OfflineBackend

    with OfflineBackend(latency=0) as server:
        yield server


@pytest.fixture
def made(data, backend):
    """make(jobs) -> (log, outcomes): the jobs run for real on the offline backend, one after
    the other (their order is the order asked), into the test's data folder."""
    from components.api.client import FluxClient
    from components.config import db_path
    from components.images.store import ImageStore
    from components.log.store import LogStore
    from components.runner import Runner

    def make(jobs):
        log = LogStore(db_path(data))
        client = FluxClient(api_key=None, base_url=backend.base_url)
        runner = Runner(client, log, ImageStore(data), backend="offline", session_id="s",
                        concurrency=1)  # fmt: skip
        outcomes = runner.run(jobs, timeout=60)
        runner.shutdown()
        assert len(outcomes) == len(jobs) and all(o.ok for o in outcomes)
        return log, outcomes

    return make


@pytest.fixture
def lands_after_each_look(monkeypatch):
    """A run that lands right after the page looks at it: each read of `Run.finished` that
    says "still in flight" returns only once the run has in fact finished. Landing between
    two looks (the button, then the results) is a timing race no real backend produces on
    demand; this makes it happen every time."""
    from components.runner import Run

    real = Run.finished

    def finished(self) -> bool:
        value = real.fget(self)
        if not value:
            self.wait(30)
        return value

    monkeypatch.setattr(Run, "finished", property(finished))
