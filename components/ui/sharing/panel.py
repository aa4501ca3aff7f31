"""Sharing sections. Every change goes to the database (`PolicyStore`), so it applies to every
session at once, and every callback checks the presenter again: a page a viewer cannot reach is
not the only lock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from components import config
from components.sharing.policy import BUDGET_MAX_USD
from components.sharing.roles import Role
from components.ui import access, resources
from components.ui.safe import md_escape, usd_md

FLASH = "sharing_flash"
SWITCHES = {
    "viewers_may_generate": (
        "Viewers may generate and compare",
        "Off: viewers look only. Applies to their very next click.",
    ),
    "viewers_may_export": (
        "Viewers may export the log and comparisons",
        "Downloads of the log (CSV, Parquet, JSON) and comparison ZIPs.",
    ),
    "viewers_need_passcode": (
        "Viewers need the viewer passcode",
        "Off: anyone who reaches the studio's address comes in as a viewer (the presenter "
        "still signs in). A new passcode signs everyone out either way.",
    ),
    "viewers_see_own_rows_only": (
        "Viewers see only their own rows",
        "Off: viewers see every row of the log (prompts included). On: only what they made.",
    ),
}


def _flash(text: str) -> None:
    st.session_state[FLASH] = text


def show_flash() -> None:
    if text := st.session_state.pop(FLASH, None):
        st.success(md_escape(text), icon=":material/check:")


def _save(**changes: Any) -> bool:
    if not access.is_presenter():
        return False
    resources.sharing().policies.save(**changes)
    resources.policy(fresh=True)
    return True


def _switch(name: str) -> None:
    value = bool(st.session_state.get(f"sharing_{name}"))
    if _save(**{name: value}):
        _flash(f"{SWITCHES[name][0]}: {'on' if value else 'off'}.")


def access_status() -> None:
    """Is the studio open beyond this machine, and how to open it."""
    if access.access_configured():
        ways = []
        if config.passcode():
            ways.append(f"the presenter passcode (`{config.PASSCODE}`)")
        if config.auth_configured():
            listed = len(config.presenters())
            ways.append(f"sign-in with an account ({listed} listed as presenter)")
        st.success(
            "Open to others: viewers come in with the viewer passcode below; the presenter "
            f"with {' or '.join(ways)}.",
            icon=":material/lock_open:",
        )
    else:
        st.info(
            "Only this computer can open the studio now. To share it, set a presenter passcode "
            "and open it to the network:",
            icon=":material/lock:",
        )
        st.code(
            "export FLUX_STUDIO_PASSCODE='a long passphrase only you know'\n"
            "streamlit run app.py --server.address 0.0.0.0",
            language="bash",
        )


def _rotate() -> None:
    if not access.is_presenter():
        return
    fresh = resources.sharing().policies.rotate_viewer_passcode()
    resources.policy(fresh=True)
    _flash(f"New viewer passcode {fresh.viewer_passcode}: every viewer was signed out.")


def viewer_passcode() -> None:
    rules = resources.policy()
    st.markdown("**Viewer passcode**: say it or show it to your audience.")
    st.code(rules.viewer_passcode, language=None)
    st.button(
        "New passcode (signs every viewer out)",
        icon=":material/autorenew:",
        on_click=_rotate,
        key="sharing_rotate",
    )
    if link := share_link(st.context.url or ""):
        st.caption(
            "Link to share (an address such as localhost or 127.0.0.1 only works on this "
            "computer: share the address others reach it by):"
        )
        st.code(link, language=None)


def share_link(url: str) -> str:
    """The studio's root from the address the presenter has open (no page, no query)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}/"


def switches() -> None:
    rules = resources.policy()
    for name, (label, help_text) in SWITCHES.items():
        st.toggle(
            label,
            value=bool(getattr(rules, name)),
            key=f"sharing_{name}",
            help=help_text,
            on_change=_switch,
            args=(name,),
        )


def _save_budgets() -> None:
    try:
        done = _save(
            studio_budget_usd=float(st.session_state["sharing_studio_budget"]),
            viewer_budget_usd=float(st.session_state["sharing_viewer_budget"]),
        )
    except ValueError as exc:
        st.session_state["sharing_budget_error"] = str(exc)
        return
    if done:
        _flash("Budgets saved: they apply to the next run anyone starts.")


def budgets() -> None:
    rules = resources.policy()
    used = resources.sharing().ledger.usage()
    with st.form("sharing_budgets", border=True):
        cols = st.columns(2)
        cols[0].number_input(
            "Studio budget per day (USD)",
            0.0,
            BUDGET_MAX_USD,
            float(rules.studio_budget_usd),
            step=1.0,
            key="sharing_studio_budget",
            help="Everyone together, presenter included, since 00:00 UTC.",
        )
        cols[1].number_input(
            "Each viewer's budget per day (USD)",
            0.0,
            BUDGET_MAX_USD,
            float(rules.viewer_budget_usd),
            step=0.5,
            key="sharing_viewer_budget",
            help="A viewer who reloads comes back as a new viewer, so the studio budget is "
            "what caps viewers together.",
        )
        st.form_submit_button("Save budgets", type="primary", on_click=_save_budgets)
    if problem := st.session_state.pop("sharing_budget_error", None):
        st.error(md_escape(problem), icon=":material/error:")
    st.caption(
        f"Spent or on its way today: **{usd_md(used.studio_usd)}** of "
        f"{usd_md(rules.studio_budget_usd)}. Each run is checked before it is sent: "
        "reported costs, list price where none was reported, and runs still on their way."
    )


def _ago(moment: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    if seconds < 90:
        return f"{seconds} s ago"
    return f"{seconds // 60} min ago"


def connected() -> None:
    """Who has a tab open (seen within the last minute and a half), and what each spent."""
    share = resources.sharing()
    here = share.presence.connected()
    used = share.ledger.usage()
    if not here:
        st.caption("Nobody else is connected.")
        return
    frame = pd.DataFrame(
        {
            "who": [p.label for p in here],
            "role": [str(p.role) for p in here],
            "since": [p.since.astimezone(UTC).strftime("%H:%M UTC") for p in here],
            "last seen": [_ago(p.last_seen) for p in here],
            "spent today": [used.of(p.visitor) for p in here],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "spent today": st.column_config.NumberColumn(format="$%.2f"),
        },
        key="sharing_connected",
    )
    viewers = sum(1 for p in here if p.role == Role.VIEWER)
    st.caption(f"{len(here)} tab(s) open, {viewers} of them viewers'.")
