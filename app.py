"""FLUX Ultra Studio: the frame. Page config, navigation, sidebar and the offline banner."""

import streamlit as st

from components.ui import chrome
from components.ui.frame_guard import mark_frame

st.set_page_config(
    page_title="FLUX Ultra Studio",
    page_icon="✨",  # an emoji, not an icon font: nothing fetched from the internet
    layout="wide",
    initial_sidebar_state="expanded",
)

# url paths stay the file names (compare, session_log, settings): see components/ui/frame_guard.py.
PAGES = [
    st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/session_log.py", title="Session log", icon=":material/table_view:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/tune:"),
]

page = st.navigation(PAGES, position="sidebar")
mark_frame()
chrome.sidebar()
chrome.offline_banner()
page.run()
