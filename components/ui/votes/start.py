"""Starting a vote: from a comparison group or 2-12 log rows (handed over by Compare or the
Session log), or a recent comparison picked here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from components.log.rows import row_dict
from components.log.schema import WITH_IMAGES
from components.ui import access, handoff, resources
from components.ui.safe import md_escape, shorten
from components.vote import labels
from components.vote.store import MAX_ITEMS, MIN_ITEMS, Mode, VoteError

PENDING = "votes_pending"  # (row ids, group id) a new vote would be over
SELECTED = "votes_pick"  # the vote shown below (the picker's key; a new vote selects itself)
FLASH = "votes_flash"
DEFAULT_QUESTION = "Which fits the brief better?"
MODES = {Mode.PAIRWISE: "Pairwise (two at a time)", Mode.BEST: "Pick the best of the grid"}


def take_handoff() -> None:
    ids = handoff.take(handoff.VOTE_ROWS)
    group = handoff.take(handoff.VOTE_GROUP)
    if ids or group:
        st.session_state[PENDING] = (list(ids or []), group)


def _images(ids: list[str], group: str | None) -> list[dict[str, Any]]:
    """The successful rows' images, in the order they were made: (row, index) each."""
    log, _ = resources.all_stores()
    frame = (
        log.query(group_id=group, status=WITH_IMAGES)
        if group
        else log.query(ids=ids, status=WITH_IMAGES)
    )
    rows = [row_dict(r) for _, r in frame.iloc[::-1].iterrows()]  # oldest first
    out = []
    for row in rows:
        for index, _path in enumerate(row.get("image_paths") or []):
            out.append({**row, "_index": index})
    return out


def _pick_recent_group() -> None:
    groups = resources.all_stores()[0].groups()
    if groups.empty:
        st.caption(
            "Start a vote from a comparison (Compare: “Start a vote”) or from 2 to 12 rows "
            "selected in the Session log."
        )
        return
    texts = {
        row["group_id"]: f"{row['count']} images · {shorten(row['prompt'] or '', 70)}"
        for _, row in groups.head(30).iterrows()
    }
    cols = st.columns([5, 1], vertical_alignment="bottom")
    chosen = cols[0].selectbox(
        "Or start one from a recent comparison",
        list(texts),
        index=None,
        format_func=lambda g: texts[g],
        key="votes_group_pick",
        placeholder="Choose a comparison",
    )
    if cols[1].button("Use it", disabled=chosen is None, key="votes_group_use"):
        st.session_state[PENDING] = ([], chosen)
        st.rerun()


def _create(images: list[dict[str, Any]], group: str | None) -> None:
    """Form callback (the presenter's, checked again here)."""
    if not access.is_presenter():
        return
    described = labels.dimensions(images)
    picked = [
        (img["id"], img["_index"], labels.label(d, f"image {n + 1}"))
        for n, (img, d) in enumerate(zip(images, described, strict=True))
    ]
    try:
        vote = resources.votes().create(
            title=st.session_state.get("votes_title") or "",
            question=st.session_state.get("votes_question") or "",
            mode=Mode(st.session_state.get("votes_mode") or Mode.PAIRWISE),
            allow_skip=bool(st.session_state.get("votes_skip")),
            images=picked,
            group_id=group,
        )
    except VoteError as exc:
        st.session_state[FLASH] = ("error", str(exc))
        return
    st.session_state.pop(PENDING, None)
    st.session_state[SELECTED] = vote.id
    st.session_state[FLASH] = ("success", f"Vote “{vote.title}” is open: share its link below.")


def start_panel() -> None:
    if not access.access_configured():
        st.warning(
            "A vote needs the studio open to your audience: set a presenter passcode "
            "(`FLUX_STUDIO_PASSCODE`) or a sign-in, start it with `--server.address 0.0.0.0`, "
            "and set `FLUX_STUDIO_PUBLIC_URL` to the address phones reach this machine by. "
            "See the README's “Sharing the studio”.",
            icon=":material/lock:",
        )
        return
    pending = st.session_state.get(PENDING)
    if pending is None:
        _pick_recent_group()
        return
    ids, group = pending
    images = _images(ids, group)
    count = len(images)
    st.markdown(f"**New vote over {count} image{'s' if count != 1 else ''}**")
    if not MIN_ITEMS <= count <= MAX_ITEMS:
        st.error(
            f"A vote takes {MIN_ITEMS} to {MAX_ITEMS} images; these rows hold {count} "
            "successful ones. Pick other rows.",
            icon=":material/error:",
        )
        st.button("Start over", on_click=lambda: st.session_state.pop(PENDING, None))
        return
    # Voters see the title: it must not give the prompt away, so the default names no image.
    default_title = f"Vote of {datetime.now(UTC):%d %b, %H:%M} UTC"
    with st.form("votes_new", border=True):
        st.text_input(
            "Title", value=default_title, key="votes_title", help="Voters see it: keep it blind"
        )
        st.text_input("Question", value=DEFAULT_QUESTION, key="votes_question")
        st.segmented_control(
            "How", list(MODES), format_func=lambda m: MODES[m], default=Mode.PAIRWISE,
            key="votes_mode", required=True,
        )  # fmt: skip
        st.checkbox("Voters may skip", value=True, key="votes_skip")
        st.form_submit_button(
            "Start the vote", type="primary", on_click=_create, args=(images, group)
        )
    st.button("Cancel", key="votes_cancel", on_click=lambda: st.session_state.pop(PENDING, None))


def show_flash() -> None:
    flash = st.session_state.pop(FLASH, None)
    if flash:
        kind, text = flash
        (st.error if kind == "error" else st.success)(md_escape(text))
