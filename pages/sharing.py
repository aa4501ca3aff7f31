"""Sharing: the viewer passcode, what viewers may do, the daily budgets, who is connected."""

import streamlit as st

from components.ui import access
from components.ui.frame_guard import require_frame
from components.ui.sharing import panel as sharing_panel

require_frame()
access.require_presenter("Sharing")

st.title("Sharing", anchor=False)
sharing_panel.show_flash()
sharing_panel.access_status()

viewers_col, connected_col = st.columns([3, 2], gap="large")
with viewers_col:
    st.subheader("Viewers", anchor=False)
    sharing_panel.viewer_passcode()
    sharing_panel.switches()


@st.fragment(run_every=10)
def _who() -> None:
    st.subheader("Connected now", anchor=False)
    sharing_panel.connected()


with connected_col:
    _who()

st.subheader("Budget", anchor=False)
sharing_panel.budgets()
