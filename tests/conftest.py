"""Shared fixtures: real image bytes, a threaded fault server, a recording sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from samples import threaded_server


@pytest.fixture
def fault_server() -> Iterator[HTTPServer]:
    yield from threaded_server()


class SleepRecorder:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()
