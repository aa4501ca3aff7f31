"""The last prompts sent, two keystrokes away: a searchable list (newest first, from the log)
under the prompt box of Generate and Compare. Picking one fills the box; nothing is sent."""

from __future__ import annotations

import streamlit as st

from components.ui import resources
from components.ui.safe import shorten

LIMIT = 50


def _use(picker_key: str, prompt_key: str) -> None:
    chosen = st.session_state.get(picker_key)
    if chosen:
        st.session_state[prompt_key] = chosen
    st.session_state[picker_key] = None  # ready for the next pick


def recent_prompts(prompt_key: str, picker_key: str) -> None:
    log, _ = resources.stores()
    prompts = log.recent_prompts(LIMIT)
    if not prompts:
        return
    st.selectbox(
        "Recent prompts",
        prompts,
        index=None,
        key=picker_key,
        placeholder="Recent prompts: type to search",
        format_func=lambda p: shorten(p, 110),
        on_change=_use,
        args=(picker_key, prompt_key),
        label_visibility="collapsed",
        help="The last prompts sent from this studio, newest first",
    )
