"""A finished comparison: title, what every cell shares, the optional wipe, the grid with its
judging controls, and the two exports."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from components.compare.export import contact_sheet, export_zip
from components.compare.plan import Plan
from components.compare.sheet import (
    MODE_TITLES,
    Sheet,
    common_text,
    fill_headers,
    sheet_from_rows,
)
from components.log.rows import row_dict
from components.ui import access, handoff, resources, vote_results
from components.ui.compare import grid as compare_grid
from components.ui.compare import wipe as compare_wipe
from components.ui.compare.run import View
from components.ui.diff_view import what_changed
from components.ui.report_download import report_button
from components.ui.safe import md_escape, shorten


def _downloads(sheet: Sheet, rows: list[dict]) -> None:
    if not access.may_export():
        st.caption(":material/lock: Downloads are the presenter's here.")
        return
    _, images = resources.stores()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    allowed = access.export_check()
    refused = b"Exporting was turned off by the presenter before this file was made.\n"
    # A wrapping row: each label stays whole however narrow the space.
    row = st.container(horizontal=True, wrap=True, gap="small")
    # Built only when clicked: a ZIP of originals is megabytes the page should not carry.
    row.download_button(
        "Contact sheet (PNG)",
        data=lambda: contact_sheet(sheet, images) if allowed() else refused,
        file_name=f"compare-{stamp}.png",
        mime="image/png",
        icon=":material/grid_on:",
        on_click="ignore",
        key="cmp_dl_sheet",
        width="content",
        help="The grid with its headers, seeds, times and ratings in one image",
    )
    row.download_button(
        "ZIP: originals + metadata",
        data=lambda: export_zip(sheet, images) if allowed() else refused,
        file_name=f"compare-{stamp}.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
        on_click="ignore",
        key="cmp_dl_zip",
        width="content",
        help="Original files (parameters embedded), metadata.json, metadata.csv and the "
        "contact sheet",
    )
    with row:
        report_button(
            rows,
            title=f"Comparison · {shorten(sheet.title, 80)}",
            subtitle=f"{len(rows)} requests",
            kind="comparison",
            key="cmp_dl_report",
        )


def render(sheet: Sheet, view_key: str, *, reopened: bool, rows: list[dict] | None = None) -> None:
    mode = MODE_TITLES.get(sheet.mode, sheet.mode)
    head, exports = st.columns([3, 2], vertical_alignment="bottom")
    with head:
        st.subheader(md_escape(f"{mode} · {shorten(sheet.title, 90)}"), anchor=False)
        facts = [common_text(sheet)]
        if reopened:
            facts.append("from the log: no new requests")
        st.caption(md_escape(" · ".join(f for f in facts if f)))
    with exports:
        _downloads(sheet, rows or [])
    pictures = sheet.images()
    pair = len(pictures) == 2 and all(c.image_path for c in pictures)
    if pair and st.toggle(
        "Wipe overlay", key="cmp_wipe", help="Stack the two images and drag a handle between them"
    ):
        compare_wipe.wipe(pictures[0], pictures[1], sheet.box_aspect())
    compare_grid.render(sheet, live=False, key=view_key)


def show(view: View | None, plan: Plan | None = None) -> None:
    """The current view from the log: a group as it was laid out, or hand-picked rows."""
    if view is None:
        st.caption(
            "Results appear here, cell by cell as they arrive. Every run is kept in the "
            "Session log as one group and can be reopened from “From the log”."
        )
        return
    log = resources.stores()[0]
    by_group = view.group_id is not None
    frame = log.query(group_id=view.group_id) if by_group else log.query(ids=list(view.ids))
    if frame.empty:
        st.info("This comparison is no longer in the log.", icon=":material/info:")
        return
    sheet = sheet_from_rows(frame, order=None if by_group else view.ids)
    if plan is not None:
        fill_headers(sheet, plan.x_labels, plan.y_labels)
    rows = [row_dict(r) for _, r in frame.iterrows()]
    if 2 <= len(rows) <= 4 and len({r.get("prompt") for r in rows}) > 1:
        # Prompts that differ: the words that changed, not the same prompt over and over.
        ordered = sorted(rows, key=lambda r: str(r.get("created_at")))
        what_changed(ordered, key="cmp")
    render(sheet, view.key, reopened=view.from_log, rows=rows)
    ids = [str(i) for i in frame["id"]]
    row = st.container(horizontal=True, gap="small")
    if row.button("Present", icon=":material/slideshow:", key="cmp_present"):
        handoff.to_present(group_id=view.group_id) if by_group else handoff.to_present(ids=ids)
    if access.is_presenter() and row.button(
        "Start a vote on these images…",
        icon=":material/how_to_vote:",
        key="cmp_start_vote",
        help="Your audience votes on their phones, blind; you reveal the results",
    ):
        handoff.to_votes(group_id=view.group_id) if by_group else handoff.to_votes(ids=ids)
    vote_results.summary_for_rows(ids, key="cmp_vote")
