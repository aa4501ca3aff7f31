"""Settings: key, endpoint, limits, connection check and the data folder."""

import streamlit as st

from components.ui import access, resources
from components.ui.frame_guard import require_frame
from components.ui.settings import panel as settings_panel

require_frame()
access.require_presenter("Settings")

st.title("Settings", anchor=False)

st.subheader("API key", anchor=False)
settings_panel.key_section()

st.subheader("Connection and limits", anchor=False)
settings_panel.limits_form()
settings_panel.connection_check()

st.subheader("Data folder", anchor=False)
settings_panel.data_folder(resources.all_stores())
