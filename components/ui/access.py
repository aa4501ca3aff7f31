"""Who may use the studio, and as what: the frame's guard, the sign-in page and the checks
that actions make on the server side (never only a hidden button).

- No access control configured (no passcode, no `[auth]`): this machine is the presenter and
  every other visitor is refused, with how to share safely.
- A passcode (FLUX_STUDIO_PASSCODE) or Streamlit's native sign-in configured: everybody signs
  in, this machine included (behind a reverse proxy on this machine every visitor looks local).
  The presenter's passcode or a listed account makes the presenter; the viewer passcode (made
  by the studio, shown and changed on the Sharing page) or any other account makes a viewer.

The decision is `roles.decide` (pure, tested directly); `guard` applies it before any page runs,
on every run, so a changed viewer passcode signs viewers out on their next click (and within a
heartbeat's interval when they only watch).

Streamlit reports a loopback visitor's address as None (`st.context.ip_address`: 127.0.0.1 and
::1 become None); any other loopback address (127.0.0.0/8, ::1, IPv4-mapped) counts as local
too. The address is the connection's peer.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from components import config
from components.api.client import is_loopback_host
from components.sharing import roles
from components.sharing.passcode import (
    FREE_TRIES,
    client_key,
    matches,
    normalize_viewer_passcode,
)
from components.sharing.policy import Policy
from components.sharing.presence import SEEN_EVERY_S
from components.sharing.roles import Entry, Login, Role, Visitor
from components.ui import keys, resources, state
from components.ui import pages as studio_pages

REFUSED_TITLE = "This studio is only open on the computer it runs on"
SEEN_STATE = "_studio_seen_at"
VOTE_PARAM = "vote"  # ?vote=<id>: a vote link
HEARTBEAT_S = 20.0
SIGN_IN_FORM = "access_sign_in"
SIGN_IN_INPUT = "access_passcode"
SIGN_IN_FLASH = "access_flash"
SIGNED_OUT_NOTE = (
    "The presenter changed the viewer passcode, which signs every viewer out. Ask them for "
    "the new one."
)


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


def visitor_ip() -> str | None:
    """The visitor's address as Streamlit reports it: a string, or None on loopback. Outside a
    served session (AppTest's stand-in runtime) it is no string at all: no network visitor."""
    ip = st.context.ip_address
    return ip if isinstance(ip, str) else None


def access_configured() -> bool:
    return bool(config.passcode()) or config.auth_configured()


def login_state() -> Login:
    """Streamlit's sign-in, read defensively: without `[auth]`, `st.user.is_logged_in`
    raises; a half-configured `[auth]` must not take the studio down either."""
    if not config.auth_configured():
        return Login()
    try:
        logged_in = bool(st.user.is_logged_in)
        email = st.user.get("email") if logged_in else None
    except Exception:
        return Login(configured=True)
    return Login(True, logged_in, str(email) if email else None)


def current() -> Visitor:
    """This session's visitor (the guard has run: a page never runs without one)."""
    who = state.visitor()
    if who is None:  # pragma: no cover - the frame runs the guard before every page
        st.stop()
    return who


def is_presenter() -> bool:
    who = state.visitor()
    return who is not None and who.presenter


def require_presenter(what: str) -> None:
    """Stop a page or an action that is the presenter's (checked on the server on every run,
    so a viewer who reaches the page by its address finds nothing to use)."""
    if not is_presenter():
        st.info(f"{what} is the presenter's.", icon=":material/lock:")
        st.stop()


def signed_out(who: Visitor | None, rules: Policy) -> bool:
    """A passcode viewer whose passcode was changed since (or who came in through a door now
    closed): callbacks run before the frame's guard, so every action that spends or hands out
    data asks this itself."""
    if who is None or who.presenter or who.how == "sign-in":
        return False
    return who.epoch != rules.epoch or (who.how == roles.OPEN_DOOR and rules.viewers_need_passcode)


def may_generate() -> str | None:
    """None if this session may send requests now, else why not (read fresh: the presenter's
    switch and a new viewer passcode apply to the very next click)."""
    if is_presenter():
        return None
    rules = resources.policy(fresh=True)
    if signed_out(state.visitor(), rules):
        return SIGNED_OUT_NOTE
    if not rules.viewers_may_generate:
        return "The presenter has not opened generating to viewers. You can look around."
    return None


def may_export() -> bool:
    rules = resources.policy(fresh=True)
    if signed_out(state.visitor(), rules):
        return False
    return is_presenter() or rules.viewers_may_export


def export_check() -> Callable[[], bool]:
    """For a download built when clicked (in another thread, maybe minutes after the button
    was drawn): asks the database again whether this visitor may still export."""
    who = state.visitor()
    policies = resources.sharing().policies

    def allowed() -> bool:
        if who is None or who.presenter:
            return True
        rules = policies.load()
        return rules.viewers_may_export and not signed_out(who, rules)

    return allowed


def guard() -> None:
    """Called by the frame before any page: decide who this session is, or show the sign-in or
    refusal page and stop (no key, no log, no page runs for a visitor who is nobody yet)."""
    loopback = is_loopback(visitor_ip())
    if (vote_id := st.query_params.get(VOTE_PARAM)) and (loopback or access_configured()):
        # A vote link grants that vote's page and nothing else: no sidebar, no navigation, at
        # any address. (With no access control, only this machine may use one.)
        resources.require_stores()
        st.session_state.pop(state.VISITOR_STATE, None)
        from components.ui import ballot  # the voter's page: imported only for a vote link

        _only_page(lambda: ballot.page(vote_id), "Vote")
        st.stop()
    if not access_configured():
        # Decided without opening the log: a refused visitor learns nothing about the studio.
        decision = roles.decide(
            loopback=loopback,
            passcode_configured=False,
            login=Login(),
            presenters=(),
            held=None,
            epoch=0,
        )
    else:
        resources.require_stores()
        decision = roles.decide(
            loopback=loopback,
            passcode_configured=bool(config.passcode()),
            login=login_state(),
            presenters=config.presenters(),
            held=state.visitor(),
            epoch=(rules := resources.policy(fresh=True)).epoch,
            door_open=not rules.viewers_need_passcode,
        )
    if isinstance(decision, Entry):
        st.session_state.pop(state.VISITOR_STATE, None)
        _entry_page(decision)
        st.stop()
    st.session_state[state.VISITOR_STATE] = decision
    if access_configured():
        note_presence(decision)


def note_presence(who: Visitor, force: bool = False) -> None:
    """The heartbeat: at most one write per SEEN_EVERY_S per session."""
    last = st.session_state.get(SEEN_STATE, 0.0)
    if force or time.monotonic() - last >= SEEN_EVERY_S:
        st.session_state[SEEN_STATE] = time.monotonic()
        resources.sharing().presence.seen(who, state.session_id())


def apply_limits() -> None:
    """The presenter's studio-wide limits for this run (and the process-wide provider gate)."""
    rules = resources.policy()
    state.apply_studio_limits(rules.timeout_s, rules.retries, rules.concurrency, is_presenter())
    resources.provider_gate().resize(rules.concurrency)


def sign_out() -> None:
    who = state.visitor()
    if who is not None and access_configured():
        resources.sharing().presence.gone(state.session_id())
    # The typed key goes too: whoever signs in next in this tab must not send it.
    for key in (state.VISITOR_STATE, SEEN_STATE, keys.KEY_STATE):
        st.session_state.pop(key, None)
    if who is not None and who.how == "sign-in":
        st.logout()  # ends the account's session cookie too


def _entry_page(entry: Entry) -> None:
    # A navigation of its own, hidden: the studio's pages are not even listed.
    page = _refusal_page if entry == Entry.REFUSE else _sign_in_page
    if entry == Entry.SIGNED_OUT:
        st.session_state[SIGN_IN_FLASH] = SIGNED_OUT_NOTE
    _only_page(page, "Not available" if entry == Entry.REFUSE else "Sign in")


def _only_page(page: Callable[[], None], title: str) -> None:
    """Run `page` as the whole app, at every studio address: a shared deep link
    (/session_log) shows it instead of "page not found", and still points where it pointed
    once the visitor is in. The navigation is hidden: nothing else is even listed."""
    deep = [
        st.Page(page, title=title, url_path=Path(info.path).stem)
        for info in studio_pages.ALL
        if not info.default
    ]
    home = st.Page(page, title=title, default=True)
    st.navigation([home, *deep], position="hidden").run()


def _refusal_page() -> None:
    st.title(REFUSED_TITLE, anchor=False)
    st.error(
        "This FLUX Ultra Studio holds an API key that spends real credits, and no sign-in is "
        "set up, so it only answers the computer it runs on.",
        icon=":material/lock:",
    )
    st.markdown(
        "**To use it:** run the studio on your own machine (`streamlit run app.py`) with your "
        "own key, and open it there.\n\n"
        f"**To show it to others:** the presenter sets a passcode (`{config.PASSCODE}`) or a "
        "sign-in, then viewers come in with the viewer passcode shown on the Sharing page. "
        "See the README's “Sharing the studio”."
    )


def _try_passcode() -> None:
    """Form callback: the typed passcode is read once and cleared from the session."""
    typed = (st.session_state.get(SIGN_IN_INPUT) or "").strip()
    st.session_state[SIGN_IN_INPUT] = ""
    if not typed:
        return
    share = resources.sharing()
    client = client_key(visitor_ip())
    wait = share.throttle.wait_s(client)
    if wait > 0:
        st.session_state[SIGN_IN_FLASH] = f"Too many wrong tries: wait {wait:.0f} s."
        return
    rules = resources.policy(fresh=True)
    who: Visitor | None = None
    if matches(typed, config.passcode()):
        who = roles.presenter("passcode")
    elif matches(normalize_viewer_passcode(typed), rules.viewer_passcode):
        who = roles.viewer("viewer passcode", epoch=rules.epoch)
    if who is None:
        locked = share.throttle.failed(client)
        st.session_state[SIGN_IN_FLASH] = (
            f"Wrong passcode. Too many wrong tries: wait {locked:.0f} s."
            if locked
            else f"Wrong passcode. After {FREE_TRIES} wrong tries you wait before the next."
        )
        return
    share.throttle.succeeded(client)
    st.session_state[state.VISITOR_STATE] = who
    note_presence(who, force=True)


def _enter_as_viewer() -> None:
    """The presenter has opened the door: no passcode for viewers (checked again here)."""
    rules = resources.policy(fresh=True)
    if rules.viewers_need_passcode:
        st.session_state[SIGN_IN_FLASH] = "Viewers need the viewer passcode now."
        return
    who = roles.viewer(roles.OPEN_DOOR, epoch=rules.epoch)
    st.session_state[state.VISITOR_STATE] = who
    note_presence(who, force=True)


def _sign_in_page() -> None:
    st.title(":material/lock: FLUX Ultra Studio", anchor=False)
    st.caption("This studio is shared by its presenter. Sign in to come in.")
    if flash := st.session_state.pop(SIGN_IN_FLASH, None):
        st.warning(flash, icon=":material/key_off:")
    if not resources.policy().viewers_need_passcode:
        st.button(
            "Continue as a viewer",
            type="primary",
            icon=":material/visibility:",
            on_click=_enter_as_viewer,
        )
    login = login_state()
    with st.form(SIGN_IN_FORM, border=True):
        st.text_input(
            "Passcode",
            type="password",
            key=SIGN_IN_INPUT,
            autocomplete="off",
            placeholder="The viewer passcode the presenter gave you",
        )
        st.form_submit_button(
            "Sign in", type="primary", on_click=_try_passcode, icon=":material/login:"
        )
    if login.configured and st.button(
        "Sign in with your account", icon=":material/account_circle:"
    ):
        st.login()  # in the script body, as Streamlit documents it (it redirects the browser)
    st.caption(
        "Viewers look at the studio's images and log, and generate if the presenter allows "
        "it, within a daily budget. Your sign-in lasts for this browser tab."
    )


def role_label(who: Visitor) -> str:
    return "Presenter" if who.role == Role.PRESENTER else who.label
