"""The voter's page, a vote link's one and only page: no sidebar, no navigation, nothing of
the studio but the vote's title, its question and clean copies of its images. What a voter sees
and does: two images (or the grid), big buttons with keys, and thanks.

Nothing about an image reaches the browser but its pixels: a clean copy (re-encoded, nothing
embedded) served under a content hash; widget keys are fixed words, never item or row ids; the
item ids ride in this session's state on the server."""

from __future__ import annotations

import streamlit as st

from components.images.store import clean_copy
from components.ui import resources
from components.ui import voter_id as voter_ids
from components.ui.safe import md_escape
from components.ui.voter_id import voter_id
from components.vote.pairs import GRID, next_pair, quota, shuffled, sides
from components.vote.store import SKIP, TIE, Mode, Status, Vote

JOINED = "ballot_joined"  # the vote this session has joined (once per vote)
NAME = "ballot_name"
CURRENT = "ballot_current"  # (vote id, pair) shown now: what the buttons answer
MAX_SIDE = 1280

_STYLE = """
<style>
/* Large tap targets: a phone in portrait is the usual device here. */
[class*="st-key-ballot_pick"] button { min-height: 3.6rem; font-size: 1.15rem; }
</style>
"""


@st.cache_data(max_entries=96, show_spinner=False)
def _picture(vote_id: str, item: str) -> bytes | None:
    """The voter's copy of one image, made once per process (keyed by vote and item only)."""
    vote = resources.votes().get(vote_id)
    found = vote.item(item) if vote else None
    if found is None:
        return None
    log, images = resources.all_stores()
    row = log.get(found.row_id)
    paths = (row or {}).get("image_paths") or []
    if found.image_index >= len(paths):
        return None
    data = images.read_bytes(paths[found.image_index])
    try:
        return clean_copy(data, MAX_SIDE) if data else None
    except (OSError, ValueError):
        return None


def _show(vote: Vote, item: str) -> None:
    data = _picture(vote.id, item)
    if data is None:
        st.warning("This image is not available.", icon=":material/broken_image:")
    else:
        st.image(data, width="stretch")


def _cast(choice: str) -> None:
    """Button callback: answers the pair shown when the button was drawn (kept server-side)."""
    current = st.session_state.get(CURRENT)
    voter = st.session_state.get(voter_ids.STATE)
    if not current or not voter:
        return
    vote_id, pair, options = current
    if choice in ("left", "right"):
        choice = options[0] if choice == "left" else options[1]
    elif choice.startswith("pick_"):
        index = int(choice.removeprefix("pick_"))
        choice = options[index] if 0 <= index < len(options) else ""
    resources.votes().cast(vote_id, voter, pair, choice)  # a second answer changes nothing


def _save_name(vote_id: str, voter: str) -> None:
    resources.votes().join(vote_id, voter, st.session_state.get(NAME))


def page(vote_id: str) -> None:
    st.html(_STYLE)
    vote = resources.votes().get(vote_id)
    if vote is None:
        st.title("This vote link does not work", anchor=False)
        st.caption("Ask the presenter for the link again.")
        return
    st.title(md_escape(vote.title), anchor=False)
    st.markdown(f"**{md_escape(vote.question)}**")
    if vote.status != Status.OPEN:
        st.info("This vote is closed. Thank you for taking part.", icon=":material/how_to_vote:")
        return
    voter = voter_id()
    if voter is None:
        st.caption("Joining the vote…")
        return
    store = resources.votes()
    if st.session_state.get(JOINED) != vote.id:
        store.join(vote.id, voter)
        st.session_state[JOINED] = vote.id
    mine, coverage = store.progress(vote.id, voter)
    if vote.mode == Mode.BEST:
        _best_of_grid(vote, voter, mine)
    else:
        _pairwise(vote, voter, mine, coverage)
    st.text_input(
        "Your name (optional)",
        key=NAME,
        max_chars=40,
        on_change=_save_name,
        args=(vote.id, voter),
        help="Shown to the presenter beside your answers; leave it empty to stay anonymous.",
    )


def _thanks() -> None:
    st.success("Done: your votes are in. Thank you!", icon=":material/check_circle:")


def _pairwise(vote: Vote, voter: str, mine: set[str], coverage: dict[str, int]) -> None:
    pair = next_pair(vote.item_ids, voter, mine, coverage)
    if pair is None:
        st.session_state.pop(CURRENT, None)
        _thanks()
        return
    left, right = sides(voter, pair)
    st.session_state[CURRENT] = (vote.id, pair, (left, right))
    st.caption(f"Pair {len(mine) + 1} of {quota(vote.item_ids)} · keys: 1, 2, 0 tie, S skip")
    columns = st.columns(2, gap="small")
    for number, (column, side, item) in enumerate(
        zip(columns, ("left", "right"), (left, right), strict=True), 1
    ):
        with column:
            _show(vote, item)
            st.button(
                f"{number} · This one",
                key=f"ballot_pick_{side}",
                shortcut=str(number),
                on_click=_cast,
                args=(side,),
                type="primary",
                width="stretch",
            )
    tie, skip = st.columns(2, gap="small")
    tie.button(
        "0 · Tie", key="ballot_pick_tie", shortcut="0", on_click=_cast, args=(TIE,), width="stretch"
    )
    if vote.allow_skip:
        skip.button(
            "S · Skip",
            key="ballot_pick_skip",
            shortcut="s",
            on_click=_cast,
            args=(SKIP,),
            width="stretch",
        )


def _best_of_grid(vote: Vote, voter: str, mine: set[str]) -> None:
    if GRID in mine:
        st.session_state.pop(CURRENT, None)
        _thanks()
        return
    order = shuffled(voter, vote.item_ids)
    st.session_state[CURRENT] = (vote.id, GRID, tuple(order))
    st.caption("Pick the best one" + (" · keys 1 to 9" if len(order) > 1 else ""))
    grid = st.columns(2, gap="small")
    for index, item in enumerate(order):
        with grid[index % 2]:
            _show(vote, item)
            st.button(
                f"{index + 1} · This one" if index < 9 else "This one",
                key=f"ballot_pick_{index}",
                shortcut=str(index + 1) if index < 9 else None,
                on_click=_cast,
                args=(f"pick_{index}",),
                type="primary",
                width="stretch",
            )
    if vote.allow_skip:
        st.button("S · Skip", key="ballot_pick_skip", shortcut="s", on_click=_cast, args=(SKIP,))
