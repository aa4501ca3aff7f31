"""Votes, page by page: the presenter starts one from a comparison; a vote link opens the
ballot page and nothing else; answers land in the log's database; results and the reveal.

AppTest runs no JavaScript, so the browser's voter id (kept in localStorage by a component) is
set in the session here; the browser test (tests/e2e/test_votes.py) runs the real one.
"""

from __future__ import annotations

import pytest

from apptest_utils import button, new_app, rendered
from components.api.client import FluxClient
from components.api.contract import GenerationRequest
from components.config import db_path
from components.images.store import ImageStore
from components.log.store import LogStore
from components.runner import Job, Runner
from components.ui import access, voter_id
from components.vote.pairs import GRID
from components.vote.store import Mode, Status, VoteStore

PASSCODE = "votes-presenter-passphrase"
VOTER = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def studio(tmp_path, monkeypatch, backend):
    """A shared studio with a 4-image comparison group in its log."""
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "0")
    monkeypatch.setenv("FLUX_STUDIO_PASSCODE", PASSCODE)
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    log = LogStore(db_path(tmp_path))
    runner = Runner(
        FluxClient(api_key=None, base_url=backend.base_url),
        log,
        ImageStore(tmp_path),
        backend="offline",
        session_id="s",
    )
    jobs = [
        Job(GenerationRequest(prompt="the secret campaign brief", seed=seed), group_id="g1")
        for seed in (11, 22, 33, 44)
    ]
    assert all(o.ok for o in runner.run(jobs, timeout=60))
    runner.shutdown()
    return tmp_path


def presenter():
    at = new_app()
    at.run()
    at.text_input(key=access.SIGN_IN_INPUT).input(PASSCODE)
    button(at, "Sign in").click()
    at.run()
    assert not at.exception
    return at


def start_vote(at, mode: str = "pairwise"):
    at.session_state["handoff_vote_group"] = "g1"
    at.switch_page("pages/votes.py").run()
    assert not at.exception
    at.segmented_control(key="votes_mode").set_value(mode)
    button(at, "Start the vote").click()
    at.run()
    assert not at.exception
    return at


def test_the_presenter_starts_a_vote_from_a_comparison(studio):
    at = start_vote(presenter())
    votes = VoteStore(LogStore(db_path(studio))).recent()
    assert len(votes) == 1
    vote = votes[0]
    assert vote.status == Status.OPEN and vote.group_id == "g1" and len(vote.items) == 4
    assert {i.label for i in vote.items} == {"seed 11", "seed 22", "seed 33", "seed 44"}
    text = rendered(at)
    assert f"/?vote={vote.id}" in text
    # Opened on this machine's address: no QR code a phone could not use, and the fix named.
    assert "FLUX_STUDIO_PUBLIC_URL" in text


def test_a_public_address_gives_the_link_a_qr_code(studio, monkeypatch):
    monkeypatch.setenv("FLUX_STUDIO_PUBLIC_URL", "http://192.168.1.20:8501/")
    at = start_vote(presenter())
    vote = VoteStore(LogStore(db_path(studio))).recent()[0]
    assert f"http://192.168.1.20:8501/?vote={vote.id}" in rendered(at)
    assert [i.caption for i in at.get("imgs")] or "Scan to vote" in rendered(at)


def test_without_access_control_no_vote_can_start(tmp_path, monkeypatch):
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FLUX_STUDIO_PASSCODE", raising=False)
    at = new_app()
    at.run()
    at.switch_page("pages/votes.py").run()
    assert not at.exception
    assert any("A vote needs the studio open" in w.value for w in at.warning)
    assert "Start the vote" not in [b.label for b in at.button]


def ballot(vote_id: str):
    at = new_app(vote=vote_id)
    at.session_state[voter_id.STATE] = VOTER  # what the browser's component reports
    at.run()
    assert not at.exception
    return at


def test_a_vote_link_opens_the_ballot_and_nothing_else(studio):
    store = VoteStore(LogStore(db_path(studio)))
    start_vote(presenter())
    vote = store.recent()[0]
    at = ballot(vote.id)
    assert [t.value.replace("\\", "") for t in at.title] == [vote.title]
    assert "secret" not in vote.title  # the default title names no image
    assert len(at.sidebar.children) == 0
    labels = [b.label for b in at.button]
    assert labels[:2] == ["1 · This one", "2 · This one"] and "0 · Tie" in labels
    text = rendered(at)
    row = LogStore(db_path(studio)).get(vote.items[0].row_id)
    secrets = ["secret campaign", "seed", "images/", *row["image_paths"]]
    secrets += [i.row_id for i in vote.items] + [i.label for i in vote.items]
    for secret in secrets:
        assert secret not in text, secret
    other = new_app(vote="not-a-vote")
    other.run()
    assert [t.value for t in other.title] == ["This vote link does not work"]
    assert len(other.sidebar.children) == 0


def test_answers_land_once_per_pair_and_the_set_ends(studio):
    store = VoteStore(LogStore(db_path(studio)))
    start_vote(presenter())
    vote = store.recent()[0]
    at = ballot(vote.id)
    for _ in range(6):  # 4 images: 6 pairs, all of them for this voter
        button(at, "1 · This one").click()
        at.run()
        assert not at.exception
    answers = store.ballots(vote.id)
    assert len(answers) == 6 and answers["pair"].nunique() == 6
    assert any("your votes are in" in s.value for s in at.success)
    # A replayed answer for a pair already answered changes nothing.
    first = answers.iloc[0]
    assert not store.cast(vote.id, VOTER, first["pair"], first["pair"].split("|")[1])
    assert store.ballots(vote.id).iloc[0]["choice"] == first["choice"]


def test_best_of_the_grid_takes_one_pick(studio):
    store = VoteStore(LogStore(db_path(studio)))
    start_vote(presenter(), mode="best")
    vote = store.recent()[0]
    assert vote.mode == Mode.BEST
    at = ballot(vote.id)
    assert len([b for b in at.button if b.label.endswith("This one")]) == 4
    button(at, "3 · This one").click()
    at.run()
    answers = store.ballots(vote.id)
    assert list(answers["pair"]) == [GRID] and answers["choice"][0] in vote.item_ids


def test_results_are_letters_until_the_reveal_and_viewers_see_nothing_before(studio):
    store = VoteStore(LogStore(db_path(studio)))
    at = start_vote(presenter())
    vote = store.recent()[0]
    voters = ["a" * 32, "b" * 32, "c" * 32]
    winner = vote.items[2].item
    for voter in voters:
        store.join(vote.id, voter)
        for other in vote.item_ids:
            if other != winner:
                pair = "|".join(sorted((winner, other)))
                assert store.cast(vote.id, voter, pair, winner)
    at.run()
    assert not at.exception
    text = rendered(at)
    assert "3 voters" in text and "seed 33" not in text
    # A viewer does not see the voted rows' prompts in the log before the reveal.
    viewer = new_app()
    viewer.run()
    code = viewer_code(studio)
    viewer.text_input(key=access.SIGN_IN_INPUT).input(code)
    button(viewer, "Sign in").click()
    viewer.run()
    viewer.switch_page("pages/session_log.py").run()
    assert "the secret campaign brief" not in rendered(viewer)
    button(at, "Reveal the results").click()
    at.run()
    assert not at.exception
    assert store.get(vote.id).status == Status.REVEALED
    assert "seed 33" in rendered(at)
    viewer.run()
    assert not viewer.exception


def viewer_code(folder) -> str:
    from components.sharing.policy import PolicyStore

    return PolicyStore(LogStore(db_path(folder))).load().viewer_passcode


def test_after_the_reveal_the_winner_is_refined_in_generate(studio):
    store = VoteStore(LogStore(db_path(studio)))
    at = start_vote(presenter())
    vote = store.recent()[0]
    winner = vote.items[1]
    voter = "d" * 32
    store.join(vote.id, voter)
    for other in vote.item_ids:
        if other != winner.item:
            assert store.cast(vote.id, voter, "|".join(sorted((winner.item, other))), winner.item)
    store.set_status(vote.id, Status.REVEALED)
    at.run()
    button(at, "Refine the winner (B) in Generate").click().run()
    assert not at.exception
    at.switch_page("pages/generate.py").run()  # AppTest returns to the first page after a switch
    row = LogStore(db_path(studio)).get(winner.row_id)
    assert at.number_input(key="seed").value == row["seed"]
    assert at.session_state["gen_parent"] == (winner.row_id, "vote")
