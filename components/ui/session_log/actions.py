"""What a user does with selected log rows: reuse one in Generate, compare a few, delete some.

Leaving the page goes through `handoff` (st.switch_page is called when a button returns True,
never inside a callback). Deleting takes two clicks: the first names what will go, the second
removes the rows and then their image files.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from components.log.rows import file_paths, rerun_request, row_dict, usable_seed
from components.ui import access, handoff, resources
from components.ui.session_log import data as log_data

PENDING_DELETE = "log_delete_pending"  # ids waiting for the confirming click
FLASH = "log_flash"  # a message for the next run (the page reruns after a deletion)
COMPARE_MIN, COMPARE_MAX = 2, 4
VOTE_MIN, VOTE_MAX = 2, 12


def flash(message: str) -> None:
    st.session_state[FLASH] = message


def show_flash() -> None:
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")


def row_actions(row: dict[str, Any]) -> None:
    """Reuse one row: everything, only its seed, or the comparison it belonged to."""
    seed = usable_seed(row)
    cols = st.container(horizontal=True, wrap=True, gap="small")  # labels stay whole
    if cols.button(
        "Re-run in Generate",
        type="primary",
        icon=":material/replay:",
        key="log_rerun",
        help="Open Generate with this prompt, seed and every parameter filled in; "
        "one click on Generate sends it",
    ):
        handoff.to_generate(rerun_request(row), parent=(str(row["id"]), "re-run"))
    reuse = cols.button(
        "Reuse seed",
        icon=":material/casino:",
        key="log_seed",
        disabled=seed is None,
        help="Only the seed goes to Generate; the form keeps the rest"
        if seed
        else "No seed was reported for this request",
    )
    if reuse and seed is not None:
        handoff.to_generate_seed(seed, parent=(str(row["id"]), "seed"))
    group = row.get("group_id")
    request = rerun_request(row)
    if cols.button(
        "Vary",
        icon=":material/shuffle:",
        key="log_vary",
        help="The same prompt and settings with 4 new seeds, sent at once in Compare",
    ):
        handoff.to_vary(replace(request, seed=None, num_images=1), str(row["id"]))
    if cols.button(
        "Refine",
        icon=":material/edit:",
        key="log_refine",
        disabled=seed is None,
        help="The same seed and settings in Generate, the prompt ready to edit",
    ):
        handoff.to_generate(request, parent=(str(row["id"]), "refine"))
    if cols.button(
        "Open comparison group",
        icon=":material/compare:",
        key="log_group",
        disabled=not group,
        help="Show the group this request was sent with, side by side"
        if group
        else "This request was not part of a comparison",
    ):
        handoff.to_compare(group_id=group)


def _ask_delete(ids: list[str]) -> None:
    if access.is_presenter():
        st.session_state[PENDING_DELETE] = list(ids)


def _cancel_delete() -> None:
    st.session_state.pop(PENDING_DELETE, None)


def selection_bar(ids: list[str]) -> None:
    """Compare and delete for any selection (ids, so a shifted page cannot change the target)."""
    count = len(ids)
    info, compare, vote, delete = st.columns([3, 3, 3, 3], vertical_alignment="center")
    info.caption(f"{count} row{'s' if count != 1 else ''} selected")
    fits = COMPARE_MIN <= count <= COMPARE_MAX
    if compare.button(
        f"Compare {count} side by side" if fits else "Compare side by side",
        icon=":material/view_column:",
        key="log_compare",
        width="stretch",
        disabled=not fits,
        help=f"Select {COMPARE_MIN} to {COMPARE_MAX} rows to compare them",
    ):
        handoff.to_compare(ids=ids)
    presenter = access.is_presenter()
    if presenter and vote.button(
        "Start a vote…",
        icon=":material/how_to_vote:",
        key="log_vote",
        width="stretch",
        disabled=not VOTE_MIN <= count <= VOTE_MAX,
        help=f"Select {VOTE_MIN} to {VOTE_MAX} rows: your audience votes on their images, blind",
    ):
        handoff.to_votes(ids=ids)
    delete.button(
        f"Delete {count} row{'s' if count != 1 else ''}…",
        icon=":material/delete:",
        key="log_delete",
        width="stretch",
        on_click=_ask_delete,
        args=(ids,),
        disabled=not presenter,
        help=None if presenter else "Deleting rows is the presenter's",
    )


def delete_confirmation() -> bool:
    """The second click. Returns True while a deletion waits, so the page can hold other
    actions back. Rows go first, then their files: a crash in between leaves stray files (which
    cost disk), never rows pointing at nothing. Only files no remaining row names are removed:
    an imported row may name another row's original, and that one is kept."""
    ids = st.session_state.get(PENDING_DELETE)
    if not ids:
        return False
    if not access.is_presenter():  # signed out since the first click, say
        _cancel_delete()
        return False
    log, images = log_data.stores()
    rows = log.query(ids=tuple(ids), columns=["id", "image_paths", "thumb_paths"])
    files = len({p for p in rows["image_paths"].explode().dropna()})
    with st.container(border=True):
        st.warning(
            f"Delete {len(rows)} row(s) and their {files} image file(s)? Files another row "
            "still uses are kept. This cannot be undone.",
            icon=":material/delete_forever:",
        )
        yes, no, _ = st.columns([2, 2, 6])
        if yes.button("Delete for good", type="primary", key="log_delete_yes", width="stretch"):
            # What they cost stays counted today first: deleting never gives a budget back.
            resources.sharing().ledger.keep_spending(
                [row_dict(r) for _, r in log.query(ids=tuple(ids)).iterrows()]
            )
            gone = log.delete(list(ids))
            named = file_paths(gone)
            unused = log.unused_paths(named)
            removed = images.delete(unused)
            kept = len(named) - len(unused)
            note = f"; kept {kept} file(s) other rows still use" if kept else ""
            _cancel_delete()
            flash(
                f"Deleted {len(gone)} row(s) and {removed} file(s) (originals and thumbnails)"
                f"{note}."
            )
            st.rerun()
        no.button("Cancel", key="log_delete_no", on_click=_cancel_delete, width="stretch")
    return True


def selected_rows(page: pd.DataFrame, ids: list[str]) -> list[dict[str, Any]]:
    chosen = page[page["id"].isin(ids)]
    return [row_dict(r) for _, r in chosen.iterrows()]


PRESENT_CAP = 200


def present_button(log: Any, filt: Any, total: int) -> None:
    """The rows the filters show, as a slideshow on the Present page (newest first)."""
    if st.button(
        "Present these rows",
        icon=":material/slideshow:",
        key="log_present",
        disabled=total == 0,
        help=f"A full-screen slideshow of the images of the rows shown (up to {PRESENT_CAP})",
    ):
        ids = log.query(filt, columns=["id"], limit=PRESENT_CAP)["id"]
        handoff.to_present(ids=[str(i) for i in ids])
