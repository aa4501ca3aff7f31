"""Who may use the studio: today, only someone on this machine.

The studio holds the team's key and spends its credits, and it has no access control yet
(presenter and viewer roles arrive in the next issue). `.streamlit/config.toml` binds the server
to localhost, but a flag or STREAMLIT_SERVER_ADDRESS overrides that, so the frame also refuses
every visitor who is not on loopback while no access control is configured. The decision is
`allowed` (pure, tested directly); `guard` applies it before any page runs.

Streamlit reports a loopback visitor's address as None (`st.context.ip_address`: 127.0.0.1 and
::1 become None); any other loopback address (127.0.0.0/8, ::1, IPv4-mapped) counts as local
too. The address is the connection's peer: behind a reverse proxy on this machine every visitor
looks local unless the proxy forwards the client's address, so put no proxy in front of the
studio until access control exists.
"""

from __future__ import annotations

import ipaddress

import streamlit as st

from components.api.client import is_loopback_host

REFUSED_TITLE = "This studio is only open on the computer it runs on"


def is_loopback(ip: str | None) -> bool:
    """True for a visitor on this machine. None is what Streamlit reports for loopback."""
    if ip is None:
        return True
    address = ip.strip().split("%", 1)[0]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False  # an address we cannot read is not known to be local (nor is a name)
    return is_loopback_host(address)


def allowed(ip: str | None) -> bool:
    """THE decision. Loopback with no access control configured is the presenter; no access
    control exists yet (the presenter/viewer roles arrive with the next issue), so every other
    visitor is refused. Access control will add its own grants here."""
    return is_loopback(ip)


def visitor_ip() -> str | None:
    """The visitor's address as Streamlit reports it: a string, or None on loopback. Outside a
    served session (AppTest's stand-in runtime) it is no string at all: no network visitor."""
    ip = st.context.ip_address
    return ip if isinstance(ip, str) else None


def _refusal_page() -> None:
    st.title(REFUSED_TITLE, anchor=False)
    st.error(
        "This FLUX Ultra Studio holds an API key that spends real credits, and it has no "
        "sign-in yet, so it only answers the computer it runs on.",
        icon=":material/lock:",
    )
    st.markdown(
        "**To use it:** run the studio on your own machine (`streamlit run app.py`) with your "
        "own key, and open it there.\n\n"
        "**To show it to others:** present from the computer that runs it (share your screen), "
        "or wait for the presenter/viewer roles, which arrive with the next version."
    )


def guard() -> None:
    """Called by the frame before any page: a visitor who may not use the studio sees why
    and how to share it safely, and nothing else runs (no key, no log, no page)."""
    if allowed(visitor_ip()):
        return
    # A navigation of its own, hidden: the studio's pages are not even listed.
    refused = st.Page(_refusal_page, title="Not available", default=True)
    st.navigation([refused], position="hidden").run()
    st.stop()
