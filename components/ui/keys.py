"""Where the API key comes from, decided in one function; the key lives in memory only."""

from __future__ import annotations

import streamlit as st

from components import config

KEY_STATE = "_studio_api_key"  # leading underscore: never bound to a widget or the URL


def api_key() -> tuple[str | None, str]:
    """The key in use and where it came from: this session, the environment or secrets."""
    typed = st.session_state.get(KEY_STATE)
    if typed:
        return typed, "this browser session"
    key, source = config.api_key()
    if source == "environment":
        return key, f"the {config.API_KEY} environment variable"
    if source == "secrets":
        return key, ".streamlit/secrets.toml"
    return None, "none"


def set_session_key(key: str | None) -> None:
    if key:
        st.session_state[KEY_STATE] = key.strip()
    else:
        st.session_state.pop(KEY_STATE, None)


def masked(key: str | None) -> str:
    return f"••••{key[-4:]}" if key and len(key) >= 8 else "••••"
