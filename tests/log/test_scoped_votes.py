"""Rows in a vote not yet revealed, as a viewer's scoped store sees them: hidden from every
read (their prompts would give the vote away) until the reveal; the presenter's unscoped
store always sees them; hidden_token moves when a vote starts and when it is revealed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.log.store import LogStore
from components.vote.store import Mode, Status, VoteStore

VIEWER = "viewer-x"
VOTED = ("voted-1", "voted-2")  # their images are in the vote
OTHERS = ("plain-1", "plain-2")  # rows outside any vote


def row(row_id: str, group: str, made_by: str = "presenter", **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": row_id,
        "session_id": "s1",
        "group_id": group,
        "backend": "offline",
        "prompt": f"secret prompt of {row_id}",
        "status": "ok",
        "made_by": made_by,
        "image_paths": [f"images/2026-03-10/{row_id}_0.jpg", f"images/2026-03-10/{row_id}_1.jpg"],
    }
    values.update(over)
    return values


@pytest.fixture
def log(db_url: str):
    s = LogStore(db_url)
    s.append(row("voted-1", "g-vote", created_at="2026-03-10T10:00:00+00:00"))
    s.append(row("voted-2", "g-vote", created_at="2026-03-10T10:01:00+00:00"))
    s.append(row("plain-1", "g-vote", created_at="2026-03-10T10:02:00+00:00"))
    s.append(row("plain-2", "g-other", made_by=VIEWER))
    yield s
    s.close()


@pytest.fixture
def votes(log: LogStore) -> VoteStore:
    return VoteStore(log)


@pytest.fixture
def viewer(log: LogStore) -> LogStore:
    return log.scoped(read=None, write=VIEWER)


def start_vote(votes: VoteStore, rows: tuple[str, ...] = VOTED) -> str:
    images = [(r, k, f"{r}#{k}") for r in rows for k in (0, 1)]
    vote = votes.create(
        title="Dusk", question="Which one?", mode=Mode.PAIRWISE, allow_skip=True, images=images
    )
    return vote.id


def sees(store: LogStore) -> set[str]:
    """Every row id this store lets through, by each read path."""
    by_query = set(store.query()["id"])
    assert store.count() == len(by_query)
    by_get = {r for r in (*VOTED, *OTHERS) if store.get(r) is not None}
    assert by_get == by_query
    by_filter = set(store.query(group_id="g-vote")["id"])
    assert by_filter == by_query & {"voted-1", "voted-2", "plain-1"}
    assert store.count(group_id="g-vote") == len(by_filter)
    return by_query


def test_rows_of_an_open_or_closed_vote_are_hidden_until_revealed(
    log: LogStore, votes: VoteStore, viewer: LogStore
) -> None:
    everything = {*VOTED, *OTHERS}
    assert sees(viewer) == everything  # no vote yet
    vote_id = start_vote(votes)
    assert sees(viewer) == set(OTHERS)
    for r in VOTED:
        assert viewer.get(r) is None
    assert sees(log) == everything  # the presenter sees everything, always
    votes.set_status(vote_id, Status.CLOSED)
    assert sees(viewer) == set(OTHERS)
    assert sees(log) == everything
    votes.set_status(vote_id, Status.REVEALED)
    assert sees(viewer) == everything
    assert viewer.get("voted-1")["prompt"] == "secret prompt of voted-1"
    assert sees(log) == everything


def test_groups_do_not_give_a_hidden_row_away(votes: VoteStore, viewer: LogStore) -> None:
    start_vote(votes)
    groups = viewer.groups().set_index("group_id")
    assert groups.loc["g-vote", "count"] == 1  # only plain-1 is left of that group
    assert groups.loc["g-vote", "prompt"] == "secret prompt of plain-1"
    assert all("voted" not in p for p in viewer.groups()["prompt"])
    start_vote(votes, ("plain-1",))
    assert "g-vote" not in set(viewer.groups()["group_id"])  # every row of it hidden


def test_unscoped_store_sees_voted_rows(log: LogStore, votes: VoteStore) -> None:
    start_vote(votes)
    groups = log.groups().set_index("group_id")
    assert groups.loc["g-vote", "count"] == 3
    assert groups.loc["g-vote", "prompt"] == "secret prompt of voted-1"
    assert log.get("voted-2") is not None
    assert log.hidden_token() == ""  # nothing hidden here, nothing to key caches on


def test_a_row_stays_hidden_while_any_of_its_votes_is_unrevealed(
    votes: VoteStore, viewer: LogStore
) -> None:
    first = start_vote(votes)
    second = start_vote(votes, ("voted-1", "plain-1"))
    votes.set_status(first, Status.REVEALED)
    assert sees(viewer) == {"voted-2", "plain-2"}
    votes.set_status(second, Status.REVEALED)
    assert sees(viewer) == {*VOTED, *OTHERS}


def test_a_viewer_reading_only_own_rows_is_hidden_from_too(log: LogStore, votes: VoteStore) -> None:
    mine = log.scoped(read=VIEWER, write=VIEWER)
    assert set(mine.query()["id"]) == {"plain-2"}
    start_vote(votes, ("plain-2", "voted-1"))
    assert mine.query().empty and mine.count() == 0 and mine.get("plain-2") is None


def test_hiding_can_be_turned_off(votes: VoteStore, log: LogStore) -> None:
    start_vote(votes)
    open_view = log.scoped(read=None, write=VIEWER, hide_unrevealed=False)
    assert sees(open_view) == {*VOTED, *OTHERS}
    assert open_view.hidden_token() == ""


def test_hidden_token_moves_on_start_and_reveal(
    votes: VoteStore, viewer: LogStore, tmp_path: Path
) -> None:
    before = viewer.hidden_token()
    first = start_vote(votes)
    started = viewer.hidden_token()
    assert started != before
    second = start_vote(votes, ("plain-1",))
    both = viewer.hidden_token()
    assert both not in (before, started)
    votes.set_status(first, Status.REVEALED)
    one_revealed = viewer.hidden_token()
    assert one_revealed not in (both, started)
    votes.set_status(second, Status.REVEALED)
    assert viewer.hidden_token() not in (one_revealed, both)
    # the token is the database's, not this process's: another store agrees
    with LogStore(viewer.url) as other:
        assert other.scoped(read=None, write="viewer-y").hidden_token() == viewer.hidden_token()
