"""A row's family: what it was made from (ancestors) and what was made from it (descendants),
as a small tree with thumbnails; pick one to see what changed against its parent."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.ui.diff_view import what_changed
from components.ui.safe import shorten
from components.ui.session_log import data as log_data
from components.ui.session_log import filters as log_filters

HOW = {
    "re-run": "re-run",
    "seed": "reused seed",
    "vary": "vary",
    "refine": "refine",
    "from_log": "from the log",
    "preset": "from a preset",
    "vote": "from a vote winner",
}
COLUMNS = ("id", "parent_id", "lineage", "created_at", "prompt", "seed", "seed_requested",
           "aspect_ratio", "raw", "num_images", "output_format", "safety_tolerance",
           "enable_safety_checker", "model", "thumb_paths", "status")  # fmt: skip


def _line(row: dict[str, Any], depth: int, here: bool) -> dict[str, Any]:
    _, images = log_data.stores()
    thumbs = row.get("thumb_paths") or []
    thumb = log_data.thumb_url(images, str(images.root), thumbs[0]) if thumbs else None
    how = HOW.get(str(row.get("lineage") or ""), row.get("lineage") or "")
    indent = "\u2003" * max(0, depth)  # an em space per generation: the tree's shape
    mark = "● " if here else "└ " if depth else ""
    seed = row.get("seed") if row.get("seed") is not None else row.get("seed_requested")
    return {
        "image": thumb,
        "row": f"{indent}{mark}{shorten(row.get('prompt') or '', 70)}",
        "how": how,
        "seed": None if seed is None else str(seed),
        "id": row["id"],
    }


def family(row: dict[str, Any]) -> None:
    log, _ = log_data.stores()
    ancestors, descendants = log.lineage(str(row["id"]), columns=COLUMNS)
    if not ancestors and not descendants:
        return
    chain = list(reversed(ancestors))
    lines = [_line(a, n, False) for n, a in enumerate(chain)]
    top = len(chain)
    lines.append(_line(row, top, True))
    lines += [_line(d, top + int(d["_depth"]), False) for d in descendants]
    with st.expander(
        f":material/family_history: Family: {len(ancestors)} ancestor(s), "
        f"{len(descendants)} descendant(s)",
        expanded=False,
    ):
        frame = pd.DataFrame(lines)
        picked = st.dataframe(
            frame[["image", "row", "how", "seed"]],
            hide_index=True,
            width="stretch",
            key=f"log_family_{row['id']}",
            on_select="rerun",
            selection_mode="single-row",
            column_config={
                "image": st.column_config.ImageColumn("", width="small"),
                "row": st.column_config.TextColumn("prompt", width="large"),
            },
        )
        chosen = picked.selection.rows if picked else []
        if chosen:
            member = ([*chain, row, *descendants])[chosen[0]]
            parent_id = member.get("parent_id")
            parent = next(
                (r for r in [*chain, row, *descendants] if r["id"] == parent_id), None
            ) or (log.get(str(parent_id)) if parent_id else None)
            if parent is None:
                st.caption("This one has no parent in the log: nothing to compare it with.")
            else:
                what_changed([parent, member], key=f"log_family_diff_{member['id']}")
        if descendants:
            st.button(
                "Show this row and its descendants",
                icon=":material/filter_alt:",
                key=f"log_family_filter_{row['id']}",
                on_click=log_filters.show_family,
                args=(str(row["id"]),),
            )
