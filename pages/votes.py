"""Votes: start a blind vote on a comparison's images, share its link, watch it, reveal it."""

import streamlit as st

from components.ui import access, resources
from components.ui.frame_guard import require_frame
from components.ui.votes import board as votes_board
from components.ui.votes import start as votes_start

require_frame()
access.require_presenter("Votes")
votes_start.take_handoff()

st.title("Votes", anchor=False)
st.caption(
    "Your audience votes on their phones, blind: they see only the images, two at a time or "
    "the whole grid, never a prompt or a seed, until you reveal the results."
)
votes_start.show_flash()
with st.container(border=True):
    votes_start.start_panel()

recent = resources.votes().recent()
if recent:
    titles = {v.id: f"{v.title} · {v.status.value}" for v in recent}
    if st.session_state.get(votes_start.SELECTED) not in titles:
        st.session_state[votes_start.SELECTED] = recent[0].id
    picked = st.selectbox(
        "Vote", list(titles), format_func=lambda v: titles[v], key=votes_start.SELECTED
    )
    vote = resources.votes().get(picked)
    if vote is not None:
        votes_board.heading(vote)
        votes_board.share(vote)
        votes_board.live(vote.id)
        votes_board.winner_actions(vote)
        votes_board.downloads(vote)
