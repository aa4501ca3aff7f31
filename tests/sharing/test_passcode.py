"""Passcodes: constant-time comparison, viewer codes, and the sign-in throttle on a real
SQLite file (shared between two store objects, as between two app processes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.log.store import LogStore
from components.sharing.passcode import (
    ALPHABET,
    FIRST_LOCK_S,
    FREE_TRIES,
    MAX_LOCK_S,
    SignInThrottle,
    client_key,
    matches,
    new_viewer_passcode,
    normalize_viewer_passcode,
)
from samples import Clock

CODE = re.compile(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


# --- matches --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected", "result"),
    [
        ("K7QD-M2XP", "K7QD-M2XP", True),
        ("correct horse", "correct horse", True),
        ("ünïcode", "ünïcode", True),
        ("K7QD-M2XQ", "K7QD-M2XP", False),
        ("K7QD-M2X", "K7QD-M2XP", False),
        ("k7qd-m2xp", "K7QD-M2XP", False),  # exact: normalizing is the caller's
        ("", "K7QD-M2XP", False),
        ("K7QD-M2XP", "", False),
        ("", "", False),  # no passcode set lets nobody in
        ("anything", None, False),
        ("", None, False),
    ],
)
def test_matches(typed: str, expected: str | None, result: bool) -> None:
    assert matches(typed, expected) is result


# --- viewer passcodes -----------------------------------------------------------------------


def test_new_viewer_passcodes_have_the_format_and_differ() -> None:
    codes = [new_viewer_passcode() for _ in range(200)]
    for code in codes:
        assert CODE.fullmatch(code), code
        assert not set(code) & set("01ILO")
    assert len(set(codes)) == len(codes)


def test_the_alphabet_has_no_look_alikes() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 31
    assert not set(ALPHABET) & set("01ILO")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("K7QD-M2XP", "K7QD-M2XP"),
        ("k7qdm2xp", "K7QD-M2XP"),
        (" k7 qd - m2 xp ", "K7QD-M2XP"),
        ("K-7-Q-D-M-2-X-P", "K7QD-M2XP"),
        ("k7qd", "K7QD"),  # not eight characters: returned plain, so it does not match
        ("k7qd-m2xp-9", "K7QDM2XP9"),
        ("", ""),
    ],
)
def test_normalize_viewer_passcode(typed: str, expected: str) -> None:
    assert normalize_viewer_passcode(typed) == expected


def test_a_normalized_code_matches_the_one_made() -> None:
    code = new_viewer_passcode()
    typed = code.lower().replace("-", " ")
    assert matches(normalize_viewer_passcode(typed), code)


def test_client_key_is_a_short_hash_not_the_address() -> None:
    key = client_key("203.0.113.7")
    assert re.fullmatch(r"[0-9a-f]{16}", key) and "203" not in key
    assert client_key("203.0.113.7") == key and client_key("203.0.113.8") != key
    assert client_key(None) == client_key(None) != key


# --- the throttle ---------------------------------------------------------------------------


def test_four_wrong_tries_are_free_and_the_fifth_locks_30_s(store: LogStore, clock: Clock) -> None:
    throttle = SignInThrottle(store, clock)
    who = client_key("198.51.100.1")
    assert throttle.wait_s(who) == 0.0
    assert FREE_TRIES == 5
    for _ in range(4):
        assert throttle.failed(who) == 0.0
        assert throttle.wait_s(who) == 0.0
    assert throttle.failed(who) == FIRST_LOCK_S == 30.0
    assert throttle.wait_s(who) == pytest.approx(30.0)
    clock.now += 10
    assert throttle.wait_s(who) == pytest.approx(20.0)
    clock.now += 20
    assert throttle.wait_s(who) == 0.0


def test_each_further_wrong_try_doubles_the_lock_up_to_15_minutes(
    store: LogStore, clock: Clock
) -> None:
    throttle = SignInThrottle(store, clock)
    who = client_key("198.51.100.2")
    for _ in range(4):
        throttle.failed(who)
    locks = []
    for _ in range(8):
        locks.append(throttle.failed(who))
        assert throttle.wait_s(who) == pytest.approx(locks[-1])
        clock.now += locks[-1]  # waited it out
        assert throttle.wait_s(who) == 0.0
    assert locks == [30.0, 60.0, 120.0, 240.0, 480.0, 900.0, 900.0, 900.0]
    assert MAX_LOCK_S == 900.0


def test_a_right_try_clears_the_record(store: LogStore, clock: Clock) -> None:
    throttle = SignInThrottle(store, clock)
    who = client_key("198.51.100.3")
    for _ in range(6):
        throttle.failed(who)
    assert throttle.wait_s(who) > 0
    throttle.succeeded(who)
    assert throttle.wait_s(who) == 0.0
    for _ in range(4):
        assert throttle.failed(who) == 0.0  # a fresh set of free tries
    assert throttle.failed(who) == 30.0
    throttle.succeeded(client_key("never-seen"))  # nothing to clear is fine


def test_clients_are_counted_apart(store: LogStore, clock: Clock) -> None:
    throttle = SignInThrottle(store, clock)
    one, two = client_key("198.51.100.4"), client_key("198.51.100.5")
    for _ in range(5):
        throttle.failed(one)
    assert throttle.wait_s(one) > 0 and throttle.wait_s(two) == 0.0
    assert throttle.failed(two) == 0.0


def test_two_processes_on_one_file_share_the_count(tmp_path: Path, clock: Clock) -> None:
    """A second app process (here: a second store on the same file) hands out no fresh tries."""
    with LogStore(tmp_path / "studio.db") as first, LogStore(tmp_path / "studio.db") as second:
        one, two = SignInThrottle(first, clock), SignInThrottle(second, clock)
        who = client_key("198.51.100.6")
        for throttle in (one, two, one, two):
            assert throttle.failed(who) == 0.0
        assert two.failed(who) == 30.0
        assert one.wait_s(who) == pytest.approx(30.0)
        assert one.failed(who) == 60.0
        assert two.wait_s(who) == pytest.approx(60.0)
        one.succeeded(who)
        assert two.wait_s(who) == 0.0


def test_the_count_survives_reopening_the_file(tmp_path: Path, clock: Clock) -> None:
    who = client_key("198.51.100.7")
    with LogStore(tmp_path / "studio.db") as store:
        for _ in range(5):
            SignInThrottle(store, clock).failed(who)
    with LogStore(tmp_path / "studio.db") as store:
        assert SignInThrottle(store, clock).wait_s(who) == pytest.approx(30.0)
