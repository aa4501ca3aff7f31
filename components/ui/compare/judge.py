"""Judging: stars and a note per cell, a winner per row, all written to the log at once.

The log is the only store: a winner is simply the one 5-star cell of its row. Picking a winner
gives it 5 stars and lowers any other 5-star cell of that row to 4, so stars and winners never
disagree, and the Session log shows both as ratings.
"""

from __future__ import annotations

import streamlit as st

from components.compare.sheet import CellStatus, Sheet, SheetCell
from components.ui import judging
from components.ui.image_card import CardImage, full_size
from components.ui.safe import md_escape

WINNER_RATING = 5
NOTE_MAX_CHARS = 500


def _card(cell: SheetCell) -> CardImage:
    """The full-size dialog's card: every parameter plus what this cell is and how it did."""
    params = {
        "cell": cell.label,
        **cell.params,
        "seed": cell.seed,
        "seconds": None if cell.seconds is None else round(cell.seconds, 2),
        "rating": cell.rating,
        "note": cell.note,
        "id": cell.row_id,
    }
    return CardImage(
        key=f"cmp_{cell.row_id}",
        row_id=cell.row_id or "",
        index=0,
        params=params,
        seed=cell.seed,
        width=cell.width,
        height=cell.height,
        seconds=cell.seconds,
        nsfw=cell.nsfw,
        path=cell.image_path,
        thumb_path=cell.thumb_path,
        data=cell.data,
    )


def cell_controls(cell: SheetCell) -> None:
    """View (full size + parameters), stars and a note, each saved the moment it changes."""
    star_key, note_key = f"cmp_star_{cell.row_id}", f"cmp_note_{cell.row_id}"
    # The log is the truth: widgets start from it on every run (a winner pick elsewhere in
    # the row may just have changed this cell's stars).
    st.session_state[star_key] = cell.rating - 1 if cell.rating else None
    st.session_state[note_key] = cell.note or ""
    if cell.has_image:  # a failed cell has nothing to look at or rate, but may get a note
        st.feedback(
            "stars", key=star_key, on_change=judging.save_stars, args=(cell.row_id, star_key)
        )
    cols = st.columns([1, 3], vertical_alignment="center", gap="small")
    if cell.has_image and cols[0].button(
        "",
        icon=":material/zoom_in:",
        key=f"cmp_view_{cell.row_id}",
        help="Full size with all parameters",
    ):
        full_size(_card(cell))
    # Stars and the note stay on their own lines: cells are narrow in a wide grid.
    cols[1 if cell.has_image else 0].text_input(
        "Note",
        key=note_key,
        max_chars=NOTE_MAX_CHARS,
        placeholder="Add a note…",
        label_visibility="collapsed",
        on_change=judging.save_note,
        args=(cell.row_id, note_key),
    )


def _winner_of(cells: list[SheetCell]) -> int | None:
    top = [c.col for c in cells if c.rating == WINNER_RATING]
    return top[0] if len(top) == 1 else None


def _pick_winner(row_cells: list[tuple[int, str, int | None]], key: str) -> None:
    chosen = st.session_state.get(key)
    for col, row_id, rating in row_cells:
        if col == chosen:
            judging.set_rating(row_id, WINNER_RATING)
        elif rating == WINNER_RATING:
            judging.set_rating(row_id, WINNER_RATING - 1)


def winner_picker(sheet: Sheet, grid_row: int, view_key: str) -> None:
    cells = [
        c
        for (r, _), c in sorted(sheet.cells.items())
        if r == grid_row and c.status == CellStatus.OK and c.row_id
    ]
    if len(cells) < 2:
        return
    key = f"cmp_win_{view_key}_{grid_row}"
    st.session_state[key] = _winner_of(cells)
    row_name = sheet.y_labels[grid_row] if sheet.two_d else None
    label = f"Winner · {md_escape(row_name)}" if row_name else "Winner"
    st.pills(
        label,
        [c.col for c in cells],
        format_func=lambda col: md_escape(sheet.x_labels[col]),
        key=key,
        on_change=_pick_winner,
        args=([(c.col, c.row_id, c.rating) for c in cells], key),
        help="The winner gets 5 stars; another 5-star cell in the same row drops to 4.",
    )
