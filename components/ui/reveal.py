"""Images the provider's safety checker flagged stay hidden until the user reveals them.

One session_state key per image (its log row id and index), so a picture revealed on one page
is revealed on every page that shows it, and none of them can disagree about it.
"""

from __future__ import annotations

import streamlit as st

NOTICE = "Hidden: the provider's safety checker flagged this image as NSFW."


def _state_key(row_id: str | None, index: int) -> str:
    return f"reveal_{row_id}_{index}"


def _reveal(row_id: str | None, index: int) -> None:
    st.session_state[_state_key(row_id, index)] = True


def is_hidden(flagged: bool | None, row_id: str | None, index: int = 0) -> bool:
    """Whether a flagged image is still hidden, without drawing anything."""
    return bool(flagged) and not st.session_state.get(_state_key(row_id, index))


def hidden(
    flagged: bool | None,
    row_id: str | None,
    index: int = 0,
    *,
    compact: bool = False,
    can_reveal: bool = True,
) -> bool:
    """True while a flagged image must stay hidden; the notice and its Reveal button are drawn
    here then. `compact` suits a narrow grid cell; `can_reveal=False` leaves the button out
    where widgets would be redrawn many times a second (a polling fragment)."""
    if not is_hidden(flagged, row_id, index):
        return False
    if compact:
        st.caption(f":material/visibility_off: {NOTICE}")
    else:
        st.warning(NOTICE, icon=":material/visibility_off:")
    if can_reveal:
        st.button(
            "Reveal",
            key=f"reveal_btn_{row_id}_{index}",
            on_click=_reveal,
            args=(row_id, index),
        )
    return True
