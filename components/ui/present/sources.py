"""What to present: a comparison group, the starred images, the rows the Session log's filter
shows (handed over), or a vote's ranking. Every source reads through the session's scoped
stores, so a viewer presents only what they may see."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.log.rows import row_dict
from components.log.schema import WITH_IMAGES
from components.ui import handoff, resources, vote_results
from components.ui.present.slideshow import Picture
from components.ui.safe import shorten
from components.vote.store import Status

STARRED_MIN = 4
ROWS_CAP = 200


def _facts(row: dict[str, Any]) -> str:
    parts = []
    if row.get("seed") is not None:
        parts.append(f"seed {row['seed']}")
    if row.get("aspect_ratio"):
        parts.append(str(row["aspect_ratio"]))
    if row.get("total_s") is not None:
        parts.append(f"{float(row['total_s']):.1f} s")
    cost = row.get("cost_usd")
    if row.get("backend") == "offline":
        parts.append("offline demo")
    elif cost is not None and not pd.isna(cost):
        parts.append(f"${float(cost):.3f}")
    if row.get("rating"):
        parts.append("★" * int(row["rating"]))
    return " · ".join(parts)


def pictures_of(frame: pd.DataFrame) -> list[Picture]:
    out = []
    for _, series in frame.iterrows():
        row = row_dict(series)
        for path in row.get("image_paths") or []:
            out.append(Picture(path, shorten(row.get("prompt") or "", 200), _facts(row)))
    return out


def from_group(group_id: str) -> list[Picture]:
    log, _ = resources.stores()
    frame = log.query(group_id=group_id, status=WITH_IMAGES)
    return pictures_of(frame.iloc[::-1])  # in the order they were made


def starred() -> list[Picture]:
    log, _ = resources.stores()
    return pictures_of(log.query(status=WITH_IMAGES, min_rating=STARRED_MIN, limit=ROWS_CAP))


def from_rows(ids: list[str]) -> list[Picture]:
    log, _ = resources.stores()
    frame = log.query(ids=ids, status=WITH_IMAGES)
    order = {row_id: n for n, row_id in enumerate(ids)}
    frame = frame.assign(_at=frame["id"].map(order)).sort_values("_at")
    return pictures_of(frame)


def from_vote(vote_id: str) -> list[Picture]:
    """Best first; what each image was only once revealed (a slide is on the big screen)."""
    vote = resources.votes().get(vote_id)
    if vote is None or not vote_results.visible(vote):
        return []
    s = vote_results.scored(vote)
    by_item = {i.item: i for i in vote.items}
    out = []
    for rank, scored in enumerate(s.result.items, start=1):
        info = by_item[scored.item]
        paths = s.rows.get(info.row_id, {}).get("image_paths") or []
        if info.image_index >= len(paths):
            continue
        what = info.label if vote.status == Status.REVEALED else f"Image {s.letters[info.item]}"
        rate = "" if scored.win_rate is None else f" · won {100 * scored.win_rate:.0f}%"
        out.append(
            Picture(
                paths[info.image_index], f"#{rank} · {what}", f"score {scored.score:+.2f}{rate}"
            )
        )
    return out


def take_handoff() -> None:
    """Rows handed over by the Session log (its current filter) or Compare (a group)."""
    if (ids := handoff.take(handoff.PRESENT_ROWS)) is not None:
        st.session_state["present_source"] = "rows"
        st.session_state["present_rows"] = list(ids)[:ROWS_CAP]
    if (group := handoff.take(handoff.PRESENT_GROUP)) is not None:
        st.session_state["present_source"] = "group"
        st.session_state["present_group"] = group


SOURCES = {
    "group": "A comparison",
    "starred": f"Starred ({STARRED_MIN}★ and up)",
    "rows": "Rows from the Session log",
    "vote": "A vote's ranking",
}


def _label(texts: dict[str, str]):
    return lambda key: texts.get(key, key)


def _group_picker() -> list[Picture]:
    groups = resources.stores()[0].groups()
    if groups.empty:
        st.info("No comparison in the log yet: run one in Compare.", icon=":material/info:")
        return []
    texts = {
        str(g): shorten(f"{n} images · {p or ''}", 90)
        for g, n, p in zip(groups["group_id"], groups["count"], groups["prompt"], strict=True)
    }
    if st.session_state.get("present_group") not in texts:
        st.session_state["present_group"] = next(iter(texts))
    group = st.selectbox("Comparison", list(texts), format_func=_label(texts), key="present_group")
    return from_group(str(group))


def _vote_picker() -> list[Picture]:
    found = [v for v in resources.votes().recent() if vote_results.visible(v)]
    if not found:
        st.info("No vote to show yet.", icon=":material/info:")
        return []
    titles = {v.id: f"{v.title} · {v.status.value}" for v in found}
    vote_id = st.selectbox("Vote", list(titles), format_func=_label(titles), key="present_vote")
    return from_vote(str(vote_id))


def picker() -> tuple[list[Picture], bool]:
    """The source controls; returns the pictures and whether slides hold two each."""
    bar = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    with bar:
        # Pills wrap on a phone, where a segmented control would scroll its first choice away.
        source = st.pills(
            "Show", list(SOURCES), format_func=_label(SOURCES), default="group",
            required=True, key="present_source", wrap=True,
        )  # fmt: skip
        pairs = st.toggle("Two per slide", key="present_pairs")
    if source == "group":
        return _group_picker(), bool(pairs)
    if source == "starred":
        found = starred()
        if not found:
            st.info(
                f"No image rated {STARRED_MIN}★ or more yet: rate images in Compare or the "
                "Session log.",
                icon=":material/info:",
            )
        return found, bool(pairs)
    if source == "rows":
        ids = st.session_state.get("present_rows") or []
        if not ids:
            st.info(
                "Open the Session log, filter it, and click “Present these rows”.",
                icon=":material/info:",
            )
        return from_rows(ids), bool(pairs)
    return _vote_picker(), bool(pairs)
