"""From the log: reopen a past comparison, or pick 2-4 past images to put side by side.

Nothing here sends a request; everything shown comes from the log and the data folder.
"""

from __future__ import annotations

import base64

import pandas as pd
import streamlit as st

from components.compare.plan import MIN_PROMPTS
from components.images import letterbox
from components.runner import Status
from components.ui import resources
from components.ui.compare import run as compare_run
from components.ui.safe import shorten

RECENT = 60
TINY = 96


@st.cache_data(max_entries=512, show_spinner=False)
def _tiny(thumb_path: str | None) -> str | None:
    """A very small data URL for the table (the thumbnail itself would weigh too much)."""
    _, images = resources.stores()
    data = images.thumbnail_bytes(thumb_path) if thumb_path else None
    image = letterbox.open_image(data)
    if image is None:
        return None
    image.thumbnail((TINY, TINY))
    return "data:image/jpeg;base64," + base64.b64encode(letterbox.to_jpeg(image, 75)).decode()


def _group_text(row: pd.Series) -> str:
    when = row["created_at"].strftime("%Y-%m-%d %H:%M UTC") if pd.notna(row["created_at"]) else ""
    failed = f", {row['errors']} failed" if row["errors"] else ""
    return f"{when} · {row['count']} images{failed} · {shorten(row['prompt'] or '', 60)}"


def reopen_picker() -> None:
    groups = resources.stores()[0].groups()
    if groups.empty:
        st.caption("No comparisons in the log yet: run one in another mode.")
        return
    texts = {row["group_id"]: _group_text(row) for _, row in groups.iterrows()}
    cols = st.columns([5, 1], vertical_alignment="bottom")
    chosen = cols[0].selectbox(
        "Reopen a past comparison",
        list(texts),
        index=None,
        format_func=lambda group: texts[group],
        placeholder="Choose a comparison",
        key="cmp_group_pick",
        help="Shown exactly as it was, from the log: no new requests.",
    )
    cols[1].button(
        "Reopen",
        icon=":material/history:",
        key="cmp_reopen",
        disabled=chosen is None,
        on_click=compare_run.show_group,
        args=(chosen,),
        width="stretch",
    )


def rows_picker() -> None:
    frame = resources.stores()[0].query(status=Status.OK, limit=RECENT)
    frame = frame[frame["image_paths"].map(bool)]
    if frame.empty:
        st.caption("No images in the log yet.")
        return
    table = pd.DataFrame(
        {
            "image": [_tiny(t[0] if t else None) for t in frame["thumb_paths"]],
            "when": frame["created_at"].dt.strftime("%m-%d %H:%M:%S"),
            "prompt": frame["prompt"],
            "seed": frame["seed"],
            "ratio": frame["aspect_ratio"],
            "raw": frame["raw"],
            "rating": frame["rating"],
        }
    )
    picked = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="cmp_log_table",
        row_height=56,
        height=320,
        column_config={
            "image": st.column_config.ImageColumn("Image", width="small"),
            "prompt": st.column_config.TextColumn("Prompt", width="large"),
            "seed": st.column_config.NumberColumn("Seed", format="%d"),
        },
    )
    rows = list(picked.selection.rows) if picked else []
    ids = [frame.iloc[i]["id"] for i in rows]
    cols = st.columns([2, 5], vertical_alignment="center")
    cols[0].button(
        "Show side by side",
        type="primary",
        icon=":material/view_column:",
        key="cmp_show_picked",
        disabled=not MIN_PROMPTS <= len(ids) <= compare_run.MAX_PICKED,
        on_click=compare_run.show_ids,
        args=(ids,),
        width="stretch",
    )
    cols[1].caption(f"{len(ids)} selected · pick 2 to 4 rows. No new request is sent.")


def picker() -> None:
    reopen_picker()
    # Spacing matters: the table's hover toolbar sits above it and would cover a button.
    st.markdown("**Or put 2 to 4 past images side by side**")
    rows_picker()
