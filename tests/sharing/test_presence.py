"""Who is connected: heartbeats in the studio_visitors table of a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from components.log.schema import visitors
from components.log.store import LogStore
from components.sharing.presence import CONNECTED_WITHIN_S, Presence
from components.sharing.roles import Role, presenter, viewer
from samples import Clock

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(START.timestamp())


@pytest.fixture
def presence(store: LogStore, clock: Clock) -> Presence:
    return Presence(store, clock)


def test_a_session_seen_is_connected(presence: Presence) -> None:
    guest = viewer("viewer passcode", epoch=1)
    presence.seen(guest, "session-1")
    (one,) = presence.connected()
    assert (one.id, one.visitor, one.role, one.label) == (
        "session-1",
        guest.id,
        Role.VIEWER,
        guest.label,
    )
    assert one.since == one.last_seen == START


def test_seen_again_updates_the_same_session(presence: Presence, clock: Clock) -> None:
    guest = viewer("viewer passcode")
    presence.seen(guest, "session-1")
    clock.now += 30
    promoted = presenter("passcode")  # the same tab signed in as the presenter
    presence.seen(promoted, "session-1")
    (one,) = presence.connected()
    assert one.since == START and one.last_seen == START + timedelta(seconds=30)
    assert one.visitor == "presenter" and one.role == Role.PRESENTER and one.label == "Presenter"


def test_each_tab_is_its_own_session_listed_by_arrival(presence: Presence, clock: Clock) -> None:
    host = presenter("this computer")
    presence.seen(host, "tab-b")
    clock.now += 5
    presence.seen(viewer("passcode"), "tab-c")
    clock.now += 5
    presence.seen(host, "tab-a")
    assert [c.id for c in presence.connected()] == ["tab-b", "tab-c", "tab-a"]
    assert [c.visitor for c in presence.connected()].count("presenter") == 2


def test_connected_only_within_the_window(presence: Presence, clock: Clock) -> None:
    presence.seen(viewer("passcode"), "quiet")
    clock.now += CONNECTED_WITHIN_S
    presence.seen(viewer("passcode"), "busy")
    assert {c.id for c in presence.connected()} == {"quiet", "busy"}  # exactly the window
    clock.now += 1
    assert [c.id for c in presence.connected()] == ["busy"]
    presence.seen(viewer("passcode"), "quiet")  # back again
    assert {c.id for c in presence.connected()} == {"quiet", "busy"}


def test_gone_removes_the_session(presence: Presence) -> None:
    presence.seen(viewer("passcode"), "leaving")
    presence.seen(viewer("passcode"), "staying")
    presence.gone("leaving")
    presence.gone("never-here")
    assert [c.id for c in presence.connected()] == ["staying"]


def test_sessions_gone_for_a_day_are_forgotten(
    presence: Presence, store: LogStore, clock: Clock
) -> None:
    presence.seen(viewer("passcode"), "old")
    clock.now += 3_600
    presence.seen(viewer("passcode"), "hour-old")
    clock.now += 86_400 - 3_600 + 1  # "old" last seen a day and a second ago
    presence.seen(presenter("this computer"), "new")
    with store.reader() as conn:
        left = sorted(conn.execute(visitors.select().with_only_columns(visitors.c.id)).scalars())
    assert left == ["hour-old", "new"]
    assert [c.id for c in presence.connected()] == ["new"]


def test_two_stores_on_one_file_see_the_same_sessions(tmp_path: Path, clock: Clock) -> None:
    with LogStore(tmp_path / "shared.db") as one, LogStore(tmp_path / "shared.db") as two:
        Presence(one, clock).seen(presenter("this computer"), "here")
        Presence(two, clock).seen(viewer("passcode"), "there")
        assert {c.id for c in Presence(one, clock).connected()} == {"here", "there"}
