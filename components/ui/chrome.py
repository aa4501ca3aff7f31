"""What every page shares: the sidebar badge (backend, balance, limits) and the offline banner."""

from __future__ import annotations

import streamlit as st

from components import config
from components.ui import balance, connection, pages, state
from components.ui.safe import md_escape


def sidebar() -> None:
    info = connection.backend()
    conf = state.settings()
    with st.sidebar:
        st.markdown("### :material/auto_awesome: FLUX Ultra Studio")
        st.caption("FLUX 1.1 [pro] Ultra on the AI/ML API")
        if info.offline:
            st.badge("Offline demo backend", icon=":material/cloud_off:", color="orange")
            if info.problem:
                st.caption(f":material/key_off: {md_escape(info.problem)}")
        else:
            st.badge("AI/ML API", icon=":material/cloud_done:", color="green")
            bal, err = balance.balance()
            if bal is not None:
                st.metric("Balance", f"${bal.current_balance:,.2f}", border=False)
            else:
                st.caption(":material/warning: Balance unavailable. Check Settings.")
        st.caption(f"Up to {conf.concurrency} requests at once · {conf.retries} retries")


def offline_banner() -> None:
    """A calm note on every page while no key is in use: nothing here costs credits."""
    info = connection.backend()
    if not info.offline:
        return
    if info.problem:
        how = md_escape(info.problem)
    else:
        how = (
            "To generate with FLUX 1.1 [pro] Ultra, add your AI/ML API key in Settings or set `"
            + config.API_KEY
            + "` before starting the app."
        )
    with st.container(border=True):
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(
            ":material/cloud_off: **Offline demo.** Images are placeholders drawn on this "
            "machine and no credits are used. " + how
        )
        right.page_link(pages.SETTINGS.path, label="Add a key", icon=":material/key:")
