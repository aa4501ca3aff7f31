"""Which backend this session talks to, and the client configured for it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from components.api.client import FluxClient
from components.api.contract import LATENCY_HEADER
from components.ui import keys, resources, state


class BackendName(StrEnum):
    """Stored in every log row's `backend` column."""

    OFFLINE = "offline"
    AIMLAPI = "aimlapi"


@dataclass(frozen=True)
class Backend:
    name: BackendName
    base_url: str
    key_source: str  # where the key came from, for display; never the key

    @property
    def offline(self) -> bool:
        return self.name == BackendName.OFFLINE

    @property
    def label(self) -> str:
        return "Offline demo" if self.offline else "AI/ML API"


def backend() -> Backend:
    key, source = keys.api_key()
    conf = state.settings()
    if key and not conf.force_offline:
        return Backend(BackendName.AIMLAPI, conf.base_url.rstrip("/"), source)
    return Backend(BackendName.OFFLINE, resources.offline_backend().base_url, source)


def make_client(conf: state.StudioSettings | None = None) -> FluxClient:
    conf = conf or state.settings()
    info = backend()
    key, _ = keys.api_key()
    headers = {LATENCY_HEADER: f"{conf.offline_latency:g}"} if info.offline else {}
    return FluxClient(
        api_key=None if info.offline else key,
        base_url=info.base_url,
        timeout=conf.timeout,
        max_retries=conf.retries,
        extra_headers=headers,
    )


def fingerprint(*parts: object) -> str:
    """A short hash of what a cached object depends on (the key among them, never shown)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]
