"""What every page shares: the sidebar (backend, who you are, the spending meter, limits) and
the offline banner."""

from __future__ import annotations

import streamlit as st

from components import config
from components.sharing.budget import usd
from components.sharing.roles import Visitor
from components.ui import access, balance, connection, pages, resources, state
from components.ui.safe import md_escape, usd_md


def sidebar() -> None:
    info = connection.backend()
    conf = state.settings()
    who = access.current()
    with st.sidebar:
        st.markdown("### :material/auto_awesome: FLUX Ultra Studio")
        st.caption("FLUX 1.1 [pro] Ultra on the AI/ML API")
        if info.offline:
            st.badge("Offline demo backend", icon=":material/cloud_off:", color="orange")
            if info.problem:
                st.caption(f":material/key_off: {md_escape(info.problem)}")
        else:
            st.badge("AI/ML API", icon=":material/cloud_done:", color="green")
        if access.access_configured():
            visitor_line(who)
        if not info.offline:
            meter(who)
        st.caption(f"Up to {conf.concurrency} requests at once · {conf.retries} retries")
        if access.access_configured():
            heartbeat()  # in the sidebar: an empty block there takes no room from the page


def visitor_line(who: Visitor) -> None:
    icon = ":material/co_present:" if who.presenter else ":material/visibility:"
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.markdown(f"{icon} **{md_escape(access.role_label(who))}**")
    right.button("Sign out", key="chrome_sign_out", on_click=access.sign_out, width="stretch")


def meter(who: Visitor) -> None:
    """Spent today, budget left and the balance: what a refused run would point at."""
    rules = resources.policy()
    used = resources.sharing().ledger.usage()
    if who.presenter:
        left = max(0.0, rules.studio_budget_usd - used.studio_usd)
        st.metric(
            "Spent today",
            usd(used.studio_usd),
            border=False,
            help=f"Everyone together, since 00:00 UTC; runs on their way count at list price. "
            f"The studio's daily budget is {usd(rules.studio_budget_usd)} (Sharing page).",
        )
    else:
        mine = used.of(who.id)
        left = max(
            0.0,
            min(rules.viewer_budget_usd - mine, rules.studio_budget_usd - used.studio_usd),
        )
        st.metric(
            "You spent today",
            usd(mine),
            border=False,
            help=f"Your daily budget is {usd(rules.viewer_budget_usd)}; the presenter sets it.",
        )
    st.caption(f"Budget left today: **{usd_md(left)}**")
    bal, err = balance.balance()
    if bal is not None:
        st.caption(f"Account balance: **{usd_md(bal.current_balance)}**")
    elif err:
        st.caption(":material/warning: Balance unavailable. Check Settings.")
    else:
        st.caption("Account balance: checking…")


@st.fragment(run_every=access.HEARTBEAT_S)
def heartbeat() -> None:
    """While a tab is open it says so, and a viewer signed out by a new passcode (or a
    presenter's switch) sees it without clicking: the whole app reruns through the guard."""
    who = state.visitor()
    if who is None:
        return
    if access.signed_out(who, resources.policy(fresh=True)):
        st.rerun(scope="app")
    access.note_presence(who)


def offline_banner() -> None:
    """A calm note on every page while no key is in use: nothing here costs credits."""
    info = connection.backend()
    if not info.offline:
        return
    presenter = access.is_presenter()
    if not presenter:
        how = "The presenter has not given this studio a key."
    elif info.problem:
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
        if presenter:  # Settings is the presenter's page: a viewer's navigation has no link to it
            right.page_link(pages.SETTINGS.path, label="Add a key", icon=":material/key:")
