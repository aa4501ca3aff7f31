"""Fixtures the sharing tests share: a real log database in the test's folder."""

from __future__ import annotations

import pytest

from components.log.store import LogStore


@pytest.fixture
def store(db_url: str):
    s = LogStore(db_url)
    yield s
    s.close()
