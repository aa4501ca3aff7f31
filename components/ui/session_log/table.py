"""The Session log table: one page of rows (LIMIT/OFFSET in SQL), thumbnails, row selection.

Only the page on screen is read and drawn, so 10,000 rows cost the same as 100. The grid draws on
a canvas; everything it shows is also in the detail view and the exports.
"""

from __future__ import annotations

import hashlib
import math
from datetime import tzinfo

import pandas as pd
import streamlit as st

from components.log.store import LogFingerprint
from components.ui.session_log import data as log_data

PAGE_SIZES = (50, 100, 200)
PAGE_SIZE_KEY = "log_page_size"
STARS = {n: "★" * n + "☆" * (5 - n) for n in range(6)}

COLUMNS = {
    "thumb": st.column_config.ImageColumn("Image", width=64, pinned=True),
    "prompt": st.column_config.TextColumn(
        "Prompt", width=230, pinned=True, help="Click a cell, or select the row, to read it all"
    ),
    "seed": st.column_config.NumberColumn("Seed", format="%d", width=95),
    "aspect_ratio": st.column_config.TextColumn("Ratio", width=50),
    "raw": st.column_config.CheckboxColumn("Raw", width=40),
    "status": st.column_config.TextColumn("Status", width=55),
    "error_type": st.column_config.TextColumn("Error", width=90),
    "request_s": st.column_config.NumberColumn(
        "Request", format="%.2f s", width=70, help="Time the provider took to answer"
    ),
    "total_s": st.column_config.NumberColumn(
        "Total", format="%.2f s", width=70, help="Request, retries and image download"
    ),
    "attempts": st.column_config.NumberColumn("Tries", format="%d", width=45),
    "credits_used": st.column_config.NumberColumn("Credits", format="localized", width=75),
    "cost_usd": st.column_config.NumberColumn("Cost", format="$%.3f", width=65),
    "rating": st.column_config.TextColumn("Rating", width=80),
    "created_at": st.column_config.DatetimeColumn("Time", format="D MMM HH:mm:ss", width=125),
}


def page_bar(total: int, view: str) -> tuple[int, int]:
    """Page size and page picker; returns (limit, offset). The page resets when filters change
    because its key carries the filters' name."""
    size_col, info_col, pages_col = st.columns([2, 3, 7], vertical_alignment="center")
    size = size_col.selectbox(
        "Rows per page", PAGE_SIZES, index=1, key=PAGE_SIZE_KEY, label_visibility="collapsed",
        format_func=lambda n: f"{n} rows per page",
    )  # fmt: skip
    pages = max(1, math.ceil(total / size))
    key = f"log_page_{view}_{size}"
    if st.session_state.get(key, 1) > pages:  # rows were deleted under the current page
        st.session_state[key] = pages
    with pages_col:
        page = st.pagination(pages, key=key, max_visible_pages=7) if pages > 1 else 1
    first = (page - 1) * size
    shown = f"{first + 1:,}–{min(first + size, total):,} of {total:,}" if total else "0"
    info_col.caption(f"Rows {shown}, newest first")
    return size, first


def table_key(view: str, offset: int, limit: int, fp: LogFingerprint, rating_filter: bool) -> str:
    """The grid's widget key. A selection is a list of positions, so anything that moves rows
    (another page, other filters, a new row, a deletion) must start a fresh selection rather
    than let it point at other rows. Ratings move rows only when a rating filter is on, so
    rating the selected row keeps it selected otherwise."""
    moving: tuple[object, ...] = (fp.rows, fp.added, fp.newest)
    if rating_filter:
        moving += (fp.ratings, fp.rated)
    digest = hashlib.sha1(repr(moving).encode()).hexdigest()[:10]
    return f"log_table_{view}_{offset}_{limit}_{digest}"


def empty_note(*, filtered: bool) -> None:
    if filtered:
        st.info("No requests match these filters.", icon=":material/filter_alt:")
    else:
        st.info(
            "No requests yet: generate an image and it shows up here.",
            icon=":material/table_view:",
        )


def _table_frame(rows: pd.DataFrame, tz: tzinfo) -> pd.DataFrame:
    _, images = log_data.stores()
    root = str(images.root)
    thumbs = []
    for paths, nsfw in zip(rows["thumb_paths"], rows["nsfw"].fillna(False), strict=True):
        # Flagged images stay hidden here as on every card; the detail view can reveal them.
        ok = bool(paths) and not nsfw
        thumbs.append(log_data.thumb_url(images, root, paths[0]) if ok else None)
    frame = rows[[name for name in COLUMNS if name in rows.columns]].copy()
    frame["thumb"] = thumbs
    frame["rating"] = rows["rating"].map(lambda r: STARS.get(r, "") if pd.notna(r) else "")
    frame["created_at"] = rows["created_at"].dt.tz_convert(tz)
    return frame[list(COLUMNS)]


def log_table(rows: pd.DataFrame, key: str) -> list[str]:
    """Draw the page; returns the ids of the selected rows, in table order."""
    event = st.dataframe(
        _table_frame(rows, log_data.local_tz()),
        column_config=COLUMNS,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key=key,
        row_height=44,
        height=min(44 * max(len(rows), 3) + 40, 520),
        placeholder="–",
    )
    picked = sorted(i for i in event.selection.rows if 0 <= i < len(rows))
    return rows["id"].iloc[picked].astype(str).tolist()
