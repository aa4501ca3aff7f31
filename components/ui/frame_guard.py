"""Make a deep link opened first after the server starts still get the app's frame.

Streamlit decides per process whether the app uses the legacy `pages/` folder before `app.py`
has run `st.navigation` for the first time. The very first visit to, say, /settings would then
run pages/settings.py bare: no sidebar, no banner, the wrong navigation. Each page calls
`require_frame()` first; on that one run it switches Streamlit to the declared navigation and
reruns, and because page ids come from url paths (kept equal to the file names), the rerun
lands on the same page inside the frame.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from components.ui import access

FRAME_SEEN = "_studio_frame_seen"
FRAME_RAN = "_studio_frame_ran"  # set by the frame on each run, taken by the page it runs


def mark_frame() -> None:
    """Called by app.py: this session has been through the frame (and this run did)."""
    st.session_state[FRAME_SEEN] = True
    st.session_state[FRAME_RAN] = True


def require_frame() -> None:
    # Only a session's very first run can arrive bare; later runs must not be restarted, or a
    # button click that started them would be lost with the restart.
    if PagesManager.uses_pages_directory and not st.session_state.get(FRAME_SEEN):
        PagesManager.uses_pages_directory = False
        st.rerun()
    if not st.session_state.pop(FRAME_RAN, False):
        # A page run without the frame (a test running one page file) still meets the guard,
        # so no page ever runs for a visitor who is nobody, or who was signed out since.
        access.guard()
        access.apply_limits()
