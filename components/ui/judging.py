"""Stars and notes, written to the log the moment they change, from Compare and the Session log.

The log is their only store, so both pages show the same judgement of an image.
"""

from __future__ import annotations

import streamlit as st

from components.ui import resources

NOT_YOURS = "Only the presenter, or the viewer who made it, can rate or annotate this image."


def set_rating(row_id: str, rating: int | None) -> None:
    # A viewer's store changes only the viewer's own rows (LogStore.scoped): False otherwise.
    if not resources.stores()[0].update(row_id, rating=rating):
        st.toast(NOT_YOURS, icon=":material/lock:")


def save_stars(row_id: str, key: str) -> None:
    """on_change of an st.feedback("stars") widget: it counts from 0, ratings from 1."""
    stars = st.session_state.get(key)
    set_rating(row_id, None if stars is None else int(stars) + 1)


def save_note(row_id: str, key: str) -> None:
    """on_change of a note input: surrounding blanks dropped, an empty note stored as none."""
    text = (st.session_state.get(key) or "").strip()
    if resources.stores()[0].update(row_id, note=text or None):
        st.toast("Note saved", icon=":material/check:")
    else:
        st.toast(NOT_YOURS, icon=":material/lock:")
