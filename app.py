"""FLUX Ultra Studio: the frame. Page config, who may use it, navigation, sidebar and the
offline banner."""

import streamlit as st

from components.ui import access, chrome, heap, pages, resources
from components.ui.frame_guard import mark_frame

st.set_page_config(
    page_title="FLUX Ultra Studio",
    page_icon="✨",  # an emoji, not an icon font: nothing fetched from the internet
    layout="wide",
    initial_sidebar_state="auto",  # open on a laptop, closed on a phone (it would cover the page)
)
access.guard()  # before any page, store or key: who this session is, or the sign-in page
resources.require_stores()
access.apply_limits()  # the presenter's studio-wide limits, for this run

page = st.navigation(
    [
        st.Page(p.path, title=p.title, icon=p.icon, default=p.default)
        for p in pages.for_role(access.is_presenter())
    ],
    position="sidebar",
)
mark_frame()
chrome.sidebar()
chrome.offline_banner()
page.run()
heap.settle()  # after the page is drawn, rarely: see components/ui/heap.py
