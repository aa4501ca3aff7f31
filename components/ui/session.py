"""Per-process resources and per-browser-session state, set up once and shared by every page.

Process-wide (st.cache_resource): the offline backend and the stores, never mutated per user.
Per session (st.session_state): the settings, a key typed in Settings, and the runner built
from them. The key is only ever held in memory here.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import streamlit as st

from components.api.client import DEFAULT_BASE_URL, Balance, FluxClient
from components.api.errors import FluxError
from components.config import data_dir, db_path
from components.images.store import ImageStore
from components.log.store import LogStore
from components.offline.process import OfflineBackendProcess
from components.runner import Runner

KEY_STATE = "_studio_api_key"  # leading underscore: never bound to a widget or the URL
SETTINGS_STATE = "_studio_settings"
RUNNER_STATE = "_studio_runner"
SESSION_ID_STATE = "_studio_session_id"
LATENCY_HEADER = "X-Flux-Studio-Latency"


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class StudioSettings:
    base_url: str = field(
        default_factory=lambda: os.environ.get("AIMLAPI_BASE_URL", "").strip() or DEFAULT_BASE_URL
    )
    timeout: float = 120.0
    retries: int = 2
    concurrency: int = field(default_factory=lambda: int(_env_float("FLUX_STUDIO_CONCURRENCY", 4)))
    offline_latency: float = field(
        default_factory=lambda: _env_float("FLUX_STUDIO_OFFLINE_LATENCY", 1.5)
    )
    force_offline: bool = False


@dataclass(frozen=True)
class Backend:
    name: str  # "offline" or "aimlapi"
    base_url: str
    key_source: str  # where the key came from, for display; never the key

    @property
    def offline(self) -> bool:
        return self.name == "offline"

    @property
    def label(self) -> str:
        return "Offline demo" if self.offline else "AI/ML API"


@st.cache_resource(show_spinner=False)
def offline_backend() -> OfflineBackendProcess:
    """One offline server per app process, run as a child process so drawing previews never
    holds up the page scripts; each session picks its latency by request header."""
    backend = OfflineBackendProcess(latency=_env_float("FLUX_STUDIO_OFFLINE_LATENCY", 1.5))
    backend.start()
    return backend


@st.cache_resource(show_spinner=False)
def _stores(folder: str) -> tuple[LogStore, ImageStore]:
    root = Path(folder)
    return LogStore(db_path(root)), ImageStore(root)


def stores() -> tuple[LogStore, ImageStore]:
    return _stores(str(data_dir()))


def session_id() -> str:
    if SESSION_ID_STATE not in st.session_state:
        st.session_state[SESSION_ID_STATE] = uuid.uuid4().hex
    return st.session_state[SESSION_ID_STATE]


def settings() -> StudioSettings:
    if SETTINGS_STATE not in st.session_state:
        st.session_state[SETTINGS_STATE] = StudioSettings()
    return st.session_state[SETTINGS_STATE]


def update_settings(**changes) -> None:
    st.session_state[SETTINGS_STATE] = replace(settings(), **changes)


def _secret_key() -> str | None:
    try:
        value = st.secrets.get("AIMLAPI_API_KEY")
    except Exception:  # no secrets file is the normal case
        return None
    return str(value).strip() or None if value else None


def api_key() -> tuple[str | None, str]:
    """The key in use and where it came from: this session, the environment or secrets."""
    typed = st.session_state.get(KEY_STATE)
    if typed:
        return typed, "this browser session"
    env = os.environ.get("AIMLAPI_API_KEY", "").strip()
    if env:
        return env, "the AIMLAPI_API_KEY environment variable"
    secret = _secret_key()
    if secret:
        return secret, ".streamlit/secrets.toml"
    return None, "none"


def set_session_key(key: str | None) -> None:
    if key:
        st.session_state[KEY_STATE] = key.strip()
    else:
        st.session_state.pop(KEY_STATE, None)


def masked(key: str | None) -> str:
    return f"••••{key[-4:]}" if key and len(key) >= 8 else "••••"


def backend() -> Backend:
    key, source = api_key()
    conf = settings()
    if key and not conf.force_offline:
        return Backend("aimlapi", conf.base_url.rstrip("/"), source)
    return Backend("offline", offline_backend().base_url, source)


def make_client(conf: StudioSettings | None = None) -> FluxClient:
    conf = conf or settings()
    info = backend()
    key, _ = api_key()
    headers = {LATENCY_HEADER: f"{conf.offline_latency:g}"} if info.offline else {}
    return FluxClient(
        api_key=None if info.offline else key,
        base_url=info.base_url,
        timeout=conf.timeout,
        max_retries=conf.retries,
        extra_headers=headers,
    )


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def runner() -> Runner:
    """This session's runner, rebuilt when the backend, key or limits change."""
    conf, info = settings(), backend()
    key, _ = api_key()
    signature = _fingerprint(info.name, info.base_url, key, conf)
    current = st.session_state.get(RUNNER_STATE)
    if current is None or current[0] != signature:
        log_store, image_store = stores()
        fresh = Runner(
            make_client(conf),
            log_store,
            image_store,
            backend=info.name,
            session_id=session_id(),
            concurrency=conf.concurrency,
        )
        if current is not None:
            current[1].shutdown()  # running jobs finish and are logged; nothing is cut short
        st.session_state[RUNNER_STATE] = (signature, fresh)
        current = st.session_state[RUNNER_STATE]
    return current[1]


@st.cache_data(ttl=60, show_spinner=False, max_entries=16)
def _cached_balance(_client: FluxClient, fingerprint: str) -> tuple[Balance | None, str | None]:
    try:
        return _client.balance(), None
    except FluxError as exc:
        return None, exc.message


def balance(fresh: bool = False) -> tuple[Balance | None, str | None]:
    """The account balance, cached for a minute so the sidebar does not call on every rerun."""
    info = backend()
    key, _ = api_key()
    client = make_client()
    if fresh:
        _cached_balance.clear()
    return _cached_balance(client, _fingerprint(info.base_url, key, settings().retries))
