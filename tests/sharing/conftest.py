"""Fixtures the sharing tests share: a real log database in the test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.log.store import LogStore


@pytest.fixture
def store(tmp_path: Path):
    s = LogStore(tmp_path / "studio.db")
    yield s
    s.close()
