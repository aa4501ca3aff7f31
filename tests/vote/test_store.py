"""Votes on a real SQLite file: made, read back, joined, cast once per voter and pair (also
from many threads at once), on disk before the call returns, refused when they do not fit."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from components.log.store import LogStore
from components.vote.pairs import GRID, all_pairs, next_pair, pair_key
from components.vote.store import NAME_MAX, Mode, Status, Vote, VoteError, VoteStore


def voter_id() -> str:
    return secrets.token_hex(16)


def images(n: int, rows: list[str] | None = None) -> list[tuple[str, int, str]]:
    """n images: two per log row, labelled with what they were."""
    rows = rows or [secrets.token_hex(16) for _ in range((n + 1) // 2)]
    return [(rows[k // 2], k % 2, f"seed={k}") for k in range(n)]


@pytest.fixture
def log(db_url: str):
    s = LogStore(db_url)
    yield s
    s.close()


@pytest.fixture
def store(log: LogStore) -> VoteStore:
    return VoteStore(log)


def make(
    store: VoteStore, n: int = 4, *, mode: Mode = Mode.PAIRWISE, allow_skip: bool = True, **over
) -> Vote:
    args = {
        "title": "Which lighthouse?",
        "question": "Which one looks more like dusk?",
        "mode": mode,
        "allow_skip": allow_skip,
        "images": images(n),
    }
    args.update(over)
    return store.create(**args)


def first_pair(vote: Vote) -> str:
    return all_pairs(vote.item_ids)[0]


# Making and reading votes ---------------------------------------------------------------------


def test_create_get_round_trip(store: VoteStore) -> None:
    pictures = images(5)
    made = store.create(
        title="  Which lighthouse?  ",
        question=" Which one looks more like dusk? ",
        mode=Mode.PAIRWISE,
        allow_skip=False,
        images=pictures,
        group_id="grp-1",
    )
    assert made.title == "Which lighthouse?"
    assert made.question == "Which one looks more like dusk?"
    assert (made.mode, made.allow_skip, made.status, made.group_id) == (
        Mode.PAIRWISE,
        False,
        Status.OPEN,
        "grp-1",
    )
    assert len(made.id) == 32 and int(made.id, 16) >= 0
    assert made.created_at.tzinfo is not None
    assert [(i.row_id, i.image_index, i.label) for i in made.items] == pictures
    assert [i.position for i in made.items] == list(range(5))
    got = store.get(made.id)
    assert got == made
    assert store.get("no-such-vote") is None


def test_item_ids_are_random_and_tell_nothing(store: VoteStore) -> None:
    rows = [secrets.token_hex(16) for _ in range(6)]
    pictures = images(12, rows)
    one = store.create(
        title="t", question="q", mode=Mode.PAIRWISE, allow_skip=True, images=pictures
    )
    two = store.create(
        title="t", question="q", mode=Mode.PAIRWISE, allow_skip=True, images=pictures
    )
    ids = one.item_ids
    assert len(set(ids)) == 12
    assert not set(ids) & set(two.item_ids)  # the same images, other ids
    for item in one.items:
        assert "|" not in item.item and item.item not in (GRID, "tie", "skip")
        assert item.row_id not in item.item and item.item not in item.row_id
        assert item.label not in item.item and str(item.image_index) != item.item
    assert one.item(ids[3]) == one.items[3]
    assert one.item("nope") is None


def test_duplicate_images_count_once(store: VoteStore) -> None:
    pictures = images(3)
    vote = make(store, images=pictures + [pictures[0], pictures[1]])
    assert [(i.row_id, i.image_index) for i in vote.items] == [(r, k) for r, k, _ in pictures]


@pytest.mark.parametrize("n", [0, 1, 13, 20])
def test_create_refuses_the_wrong_number_of_images(store: VoteStore, n: int) -> None:
    with pytest.raises(VoteError, match="2 to 12"):
        make(store, n)
    assert store.recent() == []


def test_create_refuses_one_image_given_twice(store: VoteStore) -> None:
    one = images(1)
    with pytest.raises(VoteError):
        make(store, images=one + one)


@pytest.mark.parametrize(("title", "question"), [("", "q?"), ("   ", "q?"), ("t", ""), ("t", " ")])
def test_create_needs_title_and_question(store: VoteStore, title: str, question: str) -> None:
    with pytest.raises(VoteError, match="title and a question"):
        make(store, title=title, question=question)
    assert store.recent() == []


def test_limits_on_12_images_and_long_texts(store: VoteStore) -> None:
    vote = make(store, 12, title="T" * 500, question="Q" * 500)
    assert len(vote.items) == 12
    assert vote.title == "T" * 120 and vote.question == "Q" * 200


def test_recent_and_for_rows(store: VoteStore) -> None:
    rows = [secrets.token_hex(16) for _ in range(4)]
    first = make(store, images=[(rows[0], 0, "a"), (rows[1], 0, "b")])
    time.sleep(0.002)
    second = make(store, images=[(rows[1], 1, "c"), (rows[2], 0, "d")])
    assert [v.id for v in store.recent()] == [second.id, first.id]
    assert [v.id for v in store.recent(limit=1)] == [second.id]
    assert [v.id for v in store.for_rows([rows[0]])] == [first.id]
    assert [v.id for v in store.for_rows([rows[1]])] == [second.id, first.id]
    assert [v.id for v in store.for_rows([rows[2], rows[0], rows[2]])] == [second.id, first.id]
    assert store.for_rows([rows[3]]) == []
    assert store.for_rows([]) == []


def test_set_status(store: VoteStore) -> None:
    vote = make(store)
    store.set_status(vote.id, Status.CLOSED)
    assert store.get(vote.id).status == Status.CLOSED
    store.set_status(vote.id, Status.REVEALED)
    assert store.get(vote.id).status == Status.REVEALED


# Joining ----------------------------------------------------------------------------------------


def test_join_twice_keeps_one_voter_and_the_later_name(store: VoteStore) -> None:
    vote = make(store)
    me = voter_id()
    store.join(vote.id, me, "Ada")
    store.join(vote.id, me, "  Grace  ")
    store.join(vote.id, me)  # no name: keeps the last one given
    store.join(vote.id, me, "   ")
    voters = store.voters(vote.id)
    assert voters["voter"].tolist() == [me]
    assert voters["name"].tolist() == ["Grace"]


def test_join_trims_names_and_checks_ids(store: VoteStore) -> None:
    vote = make(store)
    me = voter_id()
    store.join(vote.id, me, "  " + "x" * 100 + "  ")
    assert store.voters(vote.id)["name"].tolist() == ["x" * NAME_MAX]
    assert NAME_MAX == 40
    anonymous = voter_id()
    store.join(vote.id, anonymous)
    names = store.voters(vote.id).set_index("voter")["name"]
    assert pd.isna(names[anonymous])
    for bad in ("", "abc", me.upper(), me[:31], me + "0", "g" * 32, "../" + me[3:]):
        with pytest.raises(VoteError):
            store.join(vote.id, bad, "x")
    assert len(store.voters(vote.id)) == 2


def test_voters_count_answers(store: VoteStore) -> None:
    vote = make(store, 4)
    other = make(store, 4)
    a, b, c = voter_id(), voter_id(), voter_id()
    for who, name in ((a, "A"), (b, "B"), (c, "C")):
        store.join(vote.id, who, name)
        time.sleep(0.001)
    pairs = all_pairs(vote.item_ids)
    for pair in pairs[:3]:
        assert store.cast(vote.id, a, pair, pair.split("|")[0])
    assert store.cast(vote.id, b, pairs[0], "skip")
    assert store.cast(other.id, c, first_pair(other), "tie")  # another vote's answer
    voters = store.voters(vote.id)
    assert voters["voter"].tolist() == [a, b, c]  # in the order they joined
    assert dict(zip(voters["voter"], voters["answers"], strict=True)) == {a: 3, b: 1, c: 0}
    assert store.voters(other.id).empty  # c answered there without joining


# Casting ---------------------------------------------------------------------------------------


def test_cast_once_per_voter_and_pair(store: VoteStore) -> None:
    vote = make(store)
    me, you = voter_id(), voter_id()
    pair = first_pair(vote)
    a, b = pair.split("|")
    assert store.cast(vote.id, me, pair, a) is True
    assert store.cast(vote.id, me, pair, b) is False  # a second answer changes nothing
    assert store.cast(vote.id, me, pair, a) is False
    assert store.cast(vote.id, me, pair, "tie") is False
    assert store.cast(vote.id, you, pair, b) is True  # another voter may
    ballots = store.ballots(vote.id)
    assert list(ballots.columns) == ["voter", "pair", "choice", "cast_at"]
    mine = ballots[ballots["voter"] == me]
    assert mine[["pair", "choice"]].values.tolist() == [[pair, a]]
    assert len(ballots) == 2


def test_cast_accepts_what_fits_a_pairwise_vote(store: VoteStore) -> None:
    vote = make(store, 4, allow_skip=True)
    me = voter_id()
    pairs = all_pairs(vote.item_ids)
    assert store.cast(vote.id, me, pairs[0], pairs[0].split("|")[1])
    assert store.cast(vote.id, me, pairs[1], "tie")
    assert store.cast(vote.id, me, pairs[2], "skip")
    assert store.ballots(vote.id)["choice"].tolist()[1:] == ["tie", "skip"]


def test_cast_refuses_what_does_not_fit(store: VoteStore) -> None:
    vote = make(store, 4, allow_skip=False)
    other = make(store, 4)
    me = voter_id()
    ids = vote.item_ids
    a, b = sorted(ids[:2])
    refused = [
        (vote.id, me, f"{a}|{b}", "skip"),  # skipping not allowed in this vote
        (vote.id, me, f"{b}|{a}", a),  # not sorted
        (vote.id, me, f"{a}|{b}", ids[2]),  # not one of the pair
        (vote.id, me, f"{a}|{b}", "both"),
        (vote.id, me, f"{a}|{a}", a),  # an image against itself
        (vote.id, me, f"{a}|{b}|{ids[2]}", a),
        (vote.id, me, a, a),
        (vote.id, me, GRID, a),  # a best-of answer in a pairwise vote
        (vote.id, me, pair_key(a, other.item_ids[0]), a),  # another vote's image
        (vote.id, me, pair_key("00000000", "ffffffff"), "00000000"),
        (vote.id, me.upper(), f"{a}|{b}", a),  # not a voter id
        (vote.id, "viewer-1", f"{a}|{b}", a),
        ("no-such-vote", me, f"{a}|{b}", a),
        (other.id, me, f"{a}|{b}", a),  # this vote's pair in another vote
    ]
    for args in refused:
        assert store.cast(*args) is False, args
    assert store.ballots(vote.id).empty and store.ballots(other.id).empty
    assert store.cast(vote.id, me, f"{a}|{b}", "tie") is True  # and then a good one lands


@pytest.mark.parametrize("status", [Status.CLOSED, Status.REVEALED])
def test_a_vote_not_open_refuses_casts(store: VoteStore, status: Status) -> None:
    vote = make(store)
    me = voter_id()
    pairs = all_pairs(vote.item_ids)
    assert store.cast(vote.id, me, pairs[0], "tie")
    store.set_status(vote.id, status)
    assert store.cast(vote.id, me, pairs[1], "tie") is False
    assert store.cast(vote.id, voter_id(), pairs[0], "tie") is False
    assert len(store.ballots(vote.id)) == 1
    store.set_status(vote.id, Status.OPEN)  # reopened: answers land again
    assert store.cast(vote.id, me, pairs[1], "tie") is True


def test_best_of_grid(store: VoteStore) -> None:
    vote = make(store, 6, mode=Mode.BEST, allow_skip=False)
    assert vote.mode == Mode.BEST
    ids = vote.item_ids
    me, you = voter_id(), voter_id()
    assert store.cast(vote.id, me, GRID, "skip") is False  # not allowed here
    assert store.cast(vote.id, me, GRID, "tie") is False  # no ties on a grid
    assert store.cast(vote.id, me, GRID, "somebody") is False
    assert store.cast(vote.id, me, pair_key(ids[0], ids[1]), ids[0]) is False  # grid only
    assert store.cast(vote.id, me, GRID, ids[4]) is True
    assert store.cast(vote.id, me, GRID, ids[2]) is False  # one pick per voter
    assert store.cast(vote.id, you, GRID, ids[2]) is True
    ballots = store.ballots(vote.id)
    assert sorted(zip(ballots["voter"], ballots["choice"], strict=True)) == sorted(
        [(me, ids[4]), (you, ids[2])]
    )
    skippable = make(store, 3, mode=Mode.BEST, allow_skip=True)
    assert store.cast(skippable.id, me, GRID, "skip") is True
    assert store.cast(skippable.id, me, GRID, skippable.item_ids[0]) is False


def test_concurrent_double_cast_lands_once(store: VoteStore) -> None:
    vote = make(store)
    me = voter_id()
    pair = first_pair(vote)
    choices = pair.split("|") * 4  # 8 threads, different answers
    start = threading.Barrier(len(choices))
    results: list[bool] = []
    errors: list[BaseException] = []

    def cast(choice: str) -> None:
        try:
            start.wait()
            results.append(store.cast(vote.id, me, pair, choice))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=cast, args=(c,)) for c in choices]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(results) == [False] * 7 + [True]
    ballots = store.ballots(vote.id)
    assert len(ballots) == 1 and ballots["choice"].iloc[0] in pair.split("|")


def test_concurrent_voters_all_land(tmp_path: Path, store: VoteStore) -> None:
    """Eight voters at once, each through its own store on the file (as separate app
    processes would be): every answer lands."""
    vote = make(store)
    pair = first_pair(vote)
    voters = [voter_id() for _ in range(8)]
    start = threading.Barrier(len(voters))
    results: dict[str, bool] = {}

    def cast(who: str) -> None:
        with LogStore(store.store.url) as own:
            start.wait()
            results[who] = VoteStore(own).cast(vote.id, who, pair, "tie")

    threads = [threading.Thread(target=cast, args=(v,)) for v in voters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == {v: True for v in voters}
    assert sorted(store.ballots(vote.id)["voter"]) == sorted(voters)


def test_answers_are_on_disk_when_cast_returns(tmp_path: Path, log: LogStore) -> None:
    store = VoteStore(log)
    vote = make(store)
    me = voter_id()
    store.join(vote.id, me, "Ada")
    pairs = all_pairs(vote.item_ids)
    for pair in pairs[:3]:
        assert store.cast(vote.id, me, pair, "tie")
        # another store on the file (another process, or the app after a restart) sees it
        with LogStore(log.url) as other:
            seen = VoteStore(other).ballots(vote.id)
            assert pair in seen["pair"].tolist()
    log.close()
    with LogStore(log.url) as restarted:
        again = VoteStore(restarted)
        assert again.get(vote.id) == vote
        assert again.ballots(vote.id)["pair"].tolist().count(pairs[0]) == 1
        assert set(again.ballots(vote.id)["pair"]) == set(pairs[:3])
        assert again.voters(vote.id)["answers"].tolist() == [3]
        assert again.cast(vote.id, me, pairs[0], "tie") is False  # still answered


def test_progress(store: VoteStore) -> None:
    vote = make(store, 4)
    me, you = voter_id(), voter_id()
    pairs = all_pairs(vote.item_ids)
    assert store.progress(vote.id, me) == (set(), {})
    store.cast(vote.id, me, pairs[0], "tie")
    store.cast(vote.id, me, pairs[1], "skip")  # skips count as done
    store.cast(vote.id, you, pairs[0], pairs[0].split("|")[0])
    store.cast(vote.id, you, pairs[5], "tie")
    mine, coverage = store.progress(vote.id, me)
    assert mine == {pairs[0], pairs[1]}
    assert coverage == {pairs[0]: 2, pairs[1]: 1, pairs[5]: 1}
    assert store.progress(vote.id, you)[0] == {pairs[0], pairs[5]}


def test_an_audience_through_the_store_covers_every_pair(store: VoteStore) -> None:
    """Seven voters take their sets through progress/next_pair/cast: all 66 pairs answered,
    evenly, and each voter's set ends at ten."""
    vote = make(store, 12)
    for _ in range(7):
        me = voter_id()
        store.join(vote.id, me)
        while True:
            done, coverage = store.progress(vote.id, me)
            pair = next_pair(vote.item_ids, me, done, coverage)
            if pair is None:
                break
            assert store.cast(vote.id, me, pair, pair.split("|")[0])
        assert len(done) == 10
    _, coverage = store.progress(vote.id, voter_id())
    counts = Counter({p: coverage.get(p, 0) for p in all_pairs(vote.item_ids)})
    assert len(counts) == 66 and min(counts.values()) >= 1
    assert max(counts.values()) - min(counts.values()) <= 1
    assert store.voters(vote.id)["answers"].tolist() == [10] * 7


def test_concurrent_joins_keep_one_voter(store: VoteStore) -> None:
    vote = make(store)
    me = voter_id()
    names = [f"name {n}" for n in range(8)]
    start = threading.Barrier(len(names))
    errors: list[BaseException] = []

    def join(name: str) -> None:
        try:
            start.wait()
            store.join(vote.id, me, name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=join, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    voters = store.voters(vote.id)
    assert voters["voter"].tolist() == [me]
    assert voters["name"].iloc[0] in names


def test_joining_a_vote_that_does_not_exist_is_refused(store: VoteStore, log: LogStore) -> None:
    with pytest.raises(VoteError):
        store.join("0" * 32, voter_id())
    with log.reader() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM vote_voters").scalar() == 0


def test_a_long_name_is_cut_without_a_trailing_blank(store: VoteStore) -> None:
    vote = make(store)
    voter = voter_id()
    store.join(vote.id, voter, "x" * 39 + " y")
    assert store.voters(vote.id)["name"][0] == "x" * 39
