"""Fixtures the page tests share."""

from __future__ import annotations

import pytest


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A fresh data folder on the offline backend with no latency and no key."""
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "0")
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    monkeypatch.delenv("AIMLAPI_BASE_URL", raising=False)
    return tmp_path
