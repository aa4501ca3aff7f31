"""How one page hands work to another: a session_state key, then st.switch_page.

Kept in one place so the Session log, Compare and Generate agree on the names.
"""

from __future__ import annotations

import streamlit as st

from components.api.contract import GenerationRequest
from components.ui import pages

COMPARE_IDS = "handoff_compare_ids"  # list of log row ids to show side by side
COMPARE_GROUP = "handoff_compare_group"  # a group_id to reopen exactly as it was
GENERATE_REQUEST = "handoff_generate_request"  # a GenerationRequest to pre-fill
GENERATE_AUTORUN = "handoff_generate_autorun"  # True: send it at once ("one click")
GENERATE_SEED = "handoff_generate_seed"  # only the seed, the rest of the form untouched
PARENT = "handoff_parent"  # (row id, how): what the next generation is made from
VARY = "handoff_vary"  # (request, row id): Compare sends N new seeds of it at once
VOTE_ROWS = "handoff_vote_rows"  # log row ids whose images a new vote is over
VOTE_GROUP = "handoff_vote_group"  # the comparison group a new vote comes from
PRESENT_ROWS = "handoff_present_rows"  # log row ids to present (the Session log's filter)
PRESENT_GROUP = "handoff_present_group"  # a comparison group to present


def _go(path: str) -> None:
    """Switch pages with an empty query instead of clearing it: from a page whose widgets are
    bound to the address (Generate's prompt and seed), Streamlit refuses to clear it."""
    st.switch_page(path, query_params={})


def to_generate(
    request: GenerationRequest, *, run_now: bool = False, parent: tuple[str, str] | None = None
) -> None:
    st.session_state[GENERATE_REQUEST] = request
    st.session_state[GENERATE_AUTORUN] = run_now
    if parent:
        st.session_state[PARENT] = parent
    _go(pages.GENERATE.path)


def to_generate_seed(seed: int, parent: tuple[str, str] | None = None) -> None:
    st.session_state[GENERATE_SEED] = int(seed)
    if parent:
        st.session_state[PARENT] = parent
    _go(pages.GENERATE.path)


def to_vary(request: GenerationRequest, row_id: str | None, seeds: list[int] | None = None) -> None:
    """Compare sends the same prompt and settings with new seeds (or these seeds: a preset's
    seed list) at once, linked to the row they vary (or made "from a preset")."""
    st.session_state[VARY] = (request, row_id, seeds)
    _go(pages.COMPARE.path)


def to_compare(*, ids: list[str] | None = None, group_id: str | None = None) -> None:
    if ids:
        st.session_state[COMPARE_IDS] = list(ids)
    if group_id:
        st.session_state[COMPARE_GROUP] = group_id
    _go(pages.COMPARE.path)


def to_votes(*, ids: list[str] | None = None, group_id: str | None = None) -> None:
    """Start a vote on the Votes page over these rows' images (or a comparison group's)."""
    if ids:
        st.session_state[VOTE_ROWS] = list(ids)
    if group_id:
        st.session_state[VOTE_GROUP] = group_id
    _go(pages.VOTES.path)


def to_present(*, ids: list[str] | None = None, group_id: str | None = None) -> None:
    """Open the Present page on these rows (or this comparison group)."""
    if ids is not None:
        st.session_state[PRESENT_ROWS] = list(ids)
    if group_id:
        st.session_state[PRESENT_GROUP] = group_id
    _go(pages.PRESENT.path)


def take(key: str, default=None):
    """Read a hand-off once: it is consumed so a later rerun does not repeat it."""
    return st.session_state.pop(key, default)
