"""Shared fixtures: real image bytes, a threaded fault server, a recording sleep."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture
def fault_server():
    """A threaded local server so slow handlers do not block the client's retries."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


class SleepRecorder:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
