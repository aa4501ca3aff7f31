"""The offline backend as the app runs it: a child process that ends with its parent."""

from __future__ import annotations

import time

import requests

from components.offline.process import OfflineBackendProcess


def test_child_process_serves_the_contract_and_stops():
    backend = OfflineBackendProcess(latency=0)
    url = backend.start()
    try:
        assert requests.get(url + "/v2/billing", timeout=5).json()["currency"] == "USD"
        answer = requests.post(
            url + "/v1/images/generations",
            json={"model": "flux-pro/v1.1-ultra", "prompt": "a kite", "seed": 5},
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["seed"] == 5
    finally:
        proc = backend._proc
        backend.stop()
    assert proc.poll() is not None


def test_child_exits_when_its_parent_goes_away():
    """Closing the stdin pipe is what the parent's death does to the child."""
    backend = OfflineBackendProcess(latency=0)
    backend.start()
    proc = backend._proc
    proc.stdin.close()
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() == 0
