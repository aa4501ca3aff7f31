"""Where a key can come from: typed in this browser session, or the studio-wide one (the
environment or secrets). Which key is actually sent, and where, is decided in one place:
`connection.decide`. Keys live in memory only."""

from __future__ import annotations

import streamlit as st

from components import config
from components.ui import state

KEY_STATE = "_studio_api_key"  # leading underscore: never bound to a widget or the URL
SESSION_SOURCE = "this browser session"


def typed_key() -> str | None:
    """The key typed in Settings for this browser session, if any. Only a presenter's: a
    viewer (say, in a tab where the presenter signed out) never sends a typed key."""
    who = state.visitor()
    if who is not None and not who.presenter:
        return None
    return st.session_state.get(KEY_STATE) or None


def studio_key() -> tuple[str | None, str]:
    """The studio-wide key and where it came from (for display); only ever sent to the base
    URL configured with it."""
    key, source = config.api_key()
    if source == "environment":
        return key, f"the {config.API_KEY} environment variable"
    if source == "secrets":
        return key, ".streamlit/secrets.toml"
    return None, "none"


def api_key() -> tuple[str | None, str]:
    """The key this session has at hand (typed first, then the studio's), for cache
    fingerprints only: `connection.endpoint()` says which key may go to which base URL."""
    typed = typed_key()
    if typed:
        return typed, SESSION_SOURCE
    return studio_key()


def usable(key: str) -> bool:
    """A key goes into an HTTP header: printable ASCII only. A zero-width space or a curly
    quote pasted along with it would make every request (and so every page) fail."""
    return bool(key) and key.isascii() and key.isprintable() and " " not in key


def set_session_key(key: str | None) -> bool:
    """Keep a typed key for this session (False, and nothing kept, if it cannot be used)."""
    if key and key.strip():
        if not usable(key.strip()):
            return False
        st.session_state[KEY_STATE] = key.strip()
    else:
        st.session_state.pop(KEY_STATE, None)
    return True


def masked(key: str | None) -> str:
    return f"••••{key[-4:]}" if key and len(key) >= 8 else "••••"
