"""Who a visitor is, decided in one pure function (`decide`) from what the frame knows: is
the visitor on this machine, what access control is configured, who signed in how."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from enum import StrEnum

PRESENTER_ID = "presenter"
OPEN_DOOR = "open door"  # how a viewer came in while no viewer passcode was needed


class Role(StrEnum):
    PRESENTER = "presenter"
    VIEWER = "viewer"


class Entry(StrEnum):
    """What a visitor who is nobody yet gets instead of the studio."""

    SIGN_IN = "sign_in"  # access control is configured: the sign-in page
    SIGNED_OUT = "signed_out"  # the viewer passcode changed: sign in again
    REFUSE = "refuse"  # no access control and not on this machine: part 1's refusal


@dataclass(frozen=True)
class Visitor:
    """A browser session's identity. `id` is what log rows, holds and the presence table
    record: "presenter", or a viewer's anonymous "viewer-3f2a9c1e"."""

    role: Role
    id: str
    label: str
    how: str  # "this computer", "passcode", "viewer passcode", "sign-in"
    epoch: int = 0  # the viewer passcode's generation a passcode viewer came in under

    @property
    def presenter(self) -> bool:
        return self.role == Role.PRESENTER


@dataclass(frozen=True)
class Login:
    """Streamlit's native sign-in as the frame read it (defensively: without `[auth]` in
    secrets, `st.user.is_logged_in` raises)."""

    configured: bool = False
    logged_in: bool = False
    email: str | None = None


def presenter(how: str) -> Visitor:
    return Visitor(Role.PRESENTER, PRESENTER_ID, "Presenter", how)


def viewer(how: str, epoch: int = 0, account: str | None = None) -> Visitor:
    """A viewer: anonymous, with an id that is random per browser session, or derived from a
    signed-in account (so that account keeps one budget) without recording the address."""
    if account:
        digest = hashlib.sha256(account.strip().casefold().encode()).hexdigest()[:8]
    else:
        digest = uuid.uuid4().hex[:8]
    return Visitor(Role.VIEWER, f"viewer-{digest}", f"Viewer {digest[:4]}", how, epoch)


def is_presenter_account(email: str | None, presenters: tuple[str, ...]) -> bool:
    if not email:
        return False
    wanted = email.strip().casefold()
    return any(wanted == p.strip().casefold() for p in presenters if p.strip())


def decide(
    *,
    loopback: bool,
    passcode_configured: bool,
    login: Login,
    presenters: tuple[str, ...],
    held: Visitor | None,
    epoch: int,
    door_open: bool = False,
) -> Visitor | Entry:
    """THE decision, for every rerun of every session.

    - No access control configured: this machine is the presenter (a laptop demo needs no
      setup); anyone else is refused, as before sharing existed.
    - Configured: everybody signs in, this machine included (behind a proxy on the same machine
      every visitor looks local). A native sign-in makes the listed accounts presenters and any
      other account a viewer; otherwise the identity this browser session signed in with holds,
      until the presenter changes the viewer passcode (which signs passcode viewers out).
    """
    if not (passcode_configured or login.configured):
        return presenter("this computer") if loopback else Entry.REFUSE
    if login.configured and login.logged_in and login.email:
        if is_presenter_account(login.email, presenters):
            return presenter("sign-in")
        # Derived from the account every time (never the identity held from before), so a
        # second account signing in in this tab gets its own id, rows and budget.
        return viewer("sign-in", account=login.email)
    if held is None or held.how == "sign-in":
        return Entry.SIGN_IN
    if held.role == Role.VIEWER and held.epoch != epoch:
        return Entry.SIGNED_OUT
    if held.how == OPEN_DOOR and not door_open:
        return Entry.SIGN_IN  # the presenter closed the door: a passcode is needed again
    return held
