"""Who a visitor is: every branch of the one pure decision, and the helpers it builds on."""

from __future__ import annotations

import re

import pytest

from components.sharing.roles import (
    PRESENTER_ID,
    Entry,
    Login,
    Role,
    Visitor,
    decide,
    is_presenter_account,
    presenter,
    viewer,
)

PRESENTERS = ("Host@Example.com", "  second@example.com  ")
NO_LOGIN = Login()
LOGIN_CONFIGURED = Login(configured=True)


def _decide(
    *,
    loopback: bool = False,
    passcode: bool = False,
    login: Login = NO_LOGIN,
    presenters: tuple[str, ...] = PRESENTERS,
    held: Visitor | None = None,
    epoch: int = 0,
) -> Visitor | Entry:
    return decide(
        loopback=loopback,
        passcode_configured=passcode,
        login=login,
        presenters=presenters,
        held=held,
        epoch=epoch,
    )


def _signed_in(email: str) -> Login:
    return Login(configured=True, logged_in=True, email=email)


# --- the helpers ----------------------------------------------------------------------------


def test_presenter_is_the_one_presenter_id() -> None:
    who = presenter("this computer")
    assert who == Visitor(Role.PRESENTER, PRESENTER_ID, "Presenter", "this computer")
    assert who.presenter and who.id == "presenter" and who.epoch == 0


def test_anonymous_viewers_get_fresh_ids_per_session() -> None:
    one, two = viewer("passcode", epoch=3), viewer("passcode", epoch=3)
    for who in (one, two):
        assert who.role == Role.VIEWER and not who.presenter
        assert re.fullmatch(r"viewer-[0-9a-f]{8}", who.id)
        assert who.label == f"Viewer {who.id[7:11]}"
        assert who.how == "passcode" and who.epoch == 3
    assert one.id != two.id


def test_an_account_viewer_id_is_stable_and_does_not_show_the_address() -> None:
    one = viewer("sign-in", account="Someone@Example.com")
    two = viewer("sign-in", account="  someone@example.COM ")
    assert one.id == two.id and re.fullmatch(r"viewer-[0-9a-f]{8}", one.id)
    assert "someone" not in one.id.casefold() and "someone" not in one.label.casefold()
    assert viewer("sign-in", account="other@example.com").id != one.id


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("host@example.com", True),
        ("HOST@EXAMPLE.COM", True),
        ("  Host@Example.com ", True),
        ("second@example.com", True),
        ("nobody@example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_presenter_account(email: str | None, expected: bool) -> None:
    assert is_presenter_account(email, PRESENTERS) is expected


def test_blank_entries_in_the_presenter_list_match_nobody() -> None:
    assert not is_presenter_account(" ", ("", "  "))
    assert not is_presenter_account("x@example.com", ())


# --- no access control configured -----------------------------------------------------------


def test_no_access_control_this_machine_is_the_presenter() -> None:
    who = _decide(loopback=True)
    assert isinstance(who, Visitor) and who.presenter and who.how == "this computer"


def test_no_access_control_anyone_else_is_refused() -> None:
    assert _decide(loopback=False) is Entry.REFUSE
    # Whatever the session held before, and whatever sign-in says when it is not configured.
    held = presenter("passcode")
    assert _decide(loopback=False, held=held) is Entry.REFUSE
    assert _decide(loopback=False, login=Login(logged_in=True, email="host@example.com")) is (
        Entry.REFUSE
    )


# --- access control configured --------------------------------------------------------------


@pytest.mark.parametrize("loopback", [True, False])
@pytest.mark.parametrize(
    ("passcode", "login"),
    [(True, NO_LOGIN), (False, LOGIN_CONFIGURED), (True, LOGIN_CONFIGURED)],
)
def test_configured_everybody_signs_in_this_machine_included(
    loopback: bool, passcode: bool, login: Login
) -> None:
    assert _decide(loopback=loopback, passcode=passcode, login=login) is Entry.SIGN_IN


def test_a_listed_account_is_the_presenter_case_insensitively() -> None:
    who = _decide(login=_signed_in("HOST@example.COM"))
    assert isinstance(who, Visitor) and who.presenter and who.how == "sign-in"
    assert who.id == PRESENTER_ID


def test_a_listed_account_is_the_presenter_even_over_a_held_viewer() -> None:
    held = viewer("viewer passcode", epoch=0)
    who = _decide(passcode=True, login=_signed_in("second@example.com"), held=held)
    assert isinstance(who, Visitor) and who.presenter


def test_another_account_is_a_viewer_with_an_id_from_the_account() -> None:
    first = _decide(login=_signed_in("guest@example.com"))
    again = _decide(login=_signed_in("Guest@Example.com"))
    assert isinstance(first, Visitor) and isinstance(again, Visitor)
    assert first.role == Role.VIEWER and first.how == "sign-in"
    assert first.id == again.id == viewer("sign-in", account="guest@example.com").id


def test_a_held_sign_in_viewer_is_kept_while_signed_in() -> None:
    held = viewer("sign-in", account="guest@example.com")
    assert _decide(login=_signed_in("guest@example.com"), held=held, epoch=7) == held


def test_a_different_account_gets_its_own_id_not_the_held_one() -> None:
    held = viewer("sign-in", account="first@example.com")
    who = _decide(login=_signed_in("second-guest@example.com"), held=held)
    assert isinstance(who, Visitor)
    assert who.id == viewer("sign-in", account="second-guest@example.com").id


def test_signed_in_without_an_email_is_not_signed_in() -> None:
    login = Login(configured=True, logged_in=True, email=None)
    assert _decide(login=login) is Entry.SIGN_IN
    held = viewer("viewer passcode", epoch=2)
    assert _decide(login=login, held=held, epoch=2) is held


def test_a_passcode_viewer_is_held_while_the_epoch_stands() -> None:
    held = viewer("viewer passcode", epoch=4)
    assert _decide(passcode=True, held=held, epoch=4) is held


def test_a_passcode_viewer_from_an_older_epoch_is_signed_out() -> None:
    held = viewer("viewer passcode", epoch=4)
    assert _decide(passcode=True, held=held, epoch=5) is Entry.SIGNED_OUT
    assert _decide(passcode=True, loopback=True, held=held, epoch=5) is Entry.SIGNED_OUT


def test_a_held_presenter_survives_a_new_viewer_passcode() -> None:
    held = presenter("passcode")
    assert _decide(passcode=True, held=held, epoch=9) is held
    assert _decide(passcode=True, login=LOGIN_CONFIGURED, held=held, epoch=9) is held


def test_a_held_sign_in_identity_ends_with_the_sign_in() -> None:
    """Signed out of the native sign-in: the identity it gave is not kept."""
    for held in (viewer("sign-in", account="guest@example.com"), presenter("sign-in")):
        assert _decide(login=LOGIN_CONFIGURED, held=held) is Entry.SIGN_IN
        assert _decide(passcode=True, login=LOGIN_CONFIGURED, held=held) is Entry.SIGN_IN
