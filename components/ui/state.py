"""This browser session's settings and id, kept in `st.session_state` (never on disk)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import streamlit as st

from components import config
from components.sharing.roles import Visitor

SETTINGS_STATE = "_studio_settings"
SESSION_ID_STATE = "_studio_session_id"
VISITOR_STATE = "_studio_visitor"  # set by the frame's guard on every run (ui/access.py)


@dataclass(frozen=True)
class StudioSettings:
    """What Settings changes for this session; defaults come from the config module."""

    base_url: str = field(default_factory=config.base_url)
    timeout: float = config.DEFAULT_TIMEOUT_S
    retries: int = config.DEFAULT_RETRIES
    concurrency: int = field(default_factory=config.concurrency)
    offline_latency: float = field(default_factory=config.offline_latency)
    force_offline: bool = False


def session_id() -> str:
    if SESSION_ID_STATE not in st.session_state:
        st.session_state[SESSION_ID_STATE] = uuid.uuid4().hex
    return st.session_state[SESSION_ID_STATE]


def visitor() -> Visitor | None:
    """Who this session is, as the frame decided on this run (None before the guard ran)."""
    who = st.session_state.get(VISITOR_STATE)
    return who if isinstance(who, Visitor) else None


def settings() -> StudioSettings:
    if SETTINGS_STATE not in st.session_state:
        st.session_state[SETTINGS_STATE] = StudioSettings()
    return st.session_state[SETTINGS_STATE]


def update_settings(**changes: Any) -> None:
    st.session_state[SETTINGS_STATE] = replace(settings(), **changes)


def apply_studio_limits(timeout: float, retries: int, concurrency: int, presenter: bool) -> None:
    """Called by the frame on every run: the limits are the presenter's studio-wide ones
    (in the database); a viewer's session also keeps the configured base URL and defaults,
    whatever it held before (a presenter who signed out in this tab, say)."""
    current = settings()
    base = current if presenter else StudioSettings()
    fresh = replace(
        base, timeout=float(timeout), retries=int(retries), concurrency=int(concurrency)
    )
    if fresh != current:
        st.session_state[SETTINGS_STATE] = fresh
