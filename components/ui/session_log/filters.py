"""The Session log's filter bar: widgets in, one LogFilter out (applied in SQL, never in pandas).

Every widget has a `log_f_` key so the filters survive a trip to another page and back, and so
"Clear filters" can reset them all at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo

import pandas as pd
import streamlit as st

from components.api.contract import ASPECT_RATIOS
from components.log.schema import BackendName, RowStatus
from components.log.store import LogFilter, LogFingerprint, LogStore
from components.ui import state
from components.ui.safe import shorten
from components.ui.session_log import data as log_data

PREFIX = "log_f_"
# Every RowStatus, in plain words: "sent" is a request written before it left whose answer never
# came back (a crash or a lost connection), so it may have been billed.
STATUS = {
    RowStatus.OK: "Succeeded",
    RowStatus.ERROR: "Failed",
    RowStatus.SENT: "Sent, no answer (may be billed)",
    RowStatus.FROM_LOG: "From the log (no credits)",
}
SCOPE = {"all": "All", "mine": "This session"}
WHEN = {
    "any": "Any time",
    "1h": "Last hour",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "dates": "Pick dates…",
}
SPANS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
SPANS["30d"] = timedelta(days=30)
MODE = {False: "Standard", True: "Raw"}
BACKENDS = {BackendName.OFFLINE: "Offline demo", BackendName.AIMLAPI: "AI/ML API"}
RATINGS = {0: "Any rating", 1: "★ or more", 2: "★★ or more", 3: "★★★ or more"}
RATINGS |= {4: "★★★★ or more", 5: "★★★★★"}


def time_window(
    when: str, now: datetime, dates: tuple[date, ...] | None, tz: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """(since, until) for a preset or a picked day range; picked days are the user's local
    days (a day in Tokyo is not a UTC day), the last one included whole."""
    if when in SPANS:
        return now - SPANS[when], None
    if when != "dates" or not dates:
        return None, None
    first = datetime.combine(dates[0], time(), tz)
    last = datetime.combine(dates[-1], time(), tz) + timedelta(days=1, microseconds=-1)
    return first, last


def _group_label(groups: pd.DataFrame, tz: tzinfo) -> Callable[[str], str]:
    labels: dict[str, str] = {}
    for gid, created, prompt, count in zip(
        groups["group_id"], groups["created_at"], groups["prompt"], groups["count"], strict=True
    ):
        when = pd.Timestamp(created).astimezone(tz)
        text = prompt if isinstance(prompt, str) else ""
        labels[str(gid)] = f"{when:%d %b %H:%M} · {shorten(text, 40)} · {count} requests"
    return lambda gid: labels.get(gid, str(gid)) if gid else "Any group"


FAMILY = f"{PREFIX}family"  # a row id: show only it and its descendants


def show_family(row_id: str) -> None:
    st.session_state[FAMILY] = row_id


def _family_ids(log: LogStore) -> tuple[str, ...] | None:
    """The rows of "this row and its descendants", with a way back (None: no such filter)."""
    root = st.session_state.get(FAMILY)
    if not root:
        return None
    _, descendants = log.lineage(str(root), columns=("id",))
    ids = (str(root), *(str(d["id"]) for d in descendants))
    chip = st.container(horizontal=True, vertical_alignment="center", gap="small")
    chip.caption(
        f":material/family_history: Only row `{root}` and its {len(ids) - 1} descendant(s)"
    )
    chip.button(
        "Show every row", icon=":material/close:", key="log_family_off",
        on_click=lambda: st.session_state.pop(FAMILY, None),
    )  # fmt: skip
    return ids


def clear() -> None:
    for key in [k for k in st.session_state if str(k).startswith(PREFIX)]:
        del st.session_state[key]


def active(filt: LogFilter) -> bool:
    return filt != LogFilter()


def view_key() -> str:
    """Names the filter settings, not the filter: "last hour" keeps its key as time passes, so
    a table selection is not dropped every minute."""
    state = sorted(
        (str(k), repr(v)) for k, v in st.session_state.items() if str(k).startswith(PREFIX)
    )
    return hashlib.sha1(repr(state).encode()).hexdigest()[:12]


def filter_bar(log: LogStore, fp: LogFingerprint) -> LogFilter:
    tz = log_data.local_tz()
    with st.container(border=True):
        # Three rows; Status gets the widest slot, its third label ("sent") is the longest.
        top = st.columns([3, 8, 3], vertical_alignment="bottom")
        text = top[0].text_input(
            "Prompt contains",
            key=f"{PREFIX}text",
            placeholder="e.g. lighthouse",
            icon=":material/search:",
        )
        status = top[1].segmented_control(
            "Status",
            list(STATUS),
            format_func=lambda k: STATUS[k],
            key=f"{PREFIX}status",
            help="Sent, no answer: the request was logged before it left and no answer came "
            "back (the app stopped or the connection broke). The provider may have billed it.",
        )
        when = top[2].selectbox(
            "When", list(WHEN), format_func=lambda k: WHEN[k], key=f"{PREFIX}when"
        )
        dates = None
        if when == "dates":
            today = datetime.now(tz).date()
            dates = top[2].date_input(
                "Days", value=(today - timedelta(days=6), today), key=f"{PREFIX}dates"
            )
        middle = st.columns([3, 3, 4, 3], vertical_alignment="bottom")
        ratios = middle[0].multiselect(
            "Aspect ratio", ASPECT_RATIOS, key=f"{PREFIX}ratios", placeholder="Any"
        )
        raw = middle[1].segmented_control(
            "Mode", list(MODE), format_func=lambda k: MODE[k], key=f"{PREFIX}raw"
        )
        backend = middle[2].segmented_control(
            "Backend", list(BACKENDS), format_func=lambda k: BACKENDS[k], key=f"{PREFIX}backend"
        )
        scope = middle[3].segmented_control(
            "Browser sessions",
            list(SCOPE),
            format_func=lambda k: SCOPE[k],
            default="all",
            required=True,
            key=f"{PREFIX}scope",
            help="This session: only what was generated in this browser tab's session.",
        )
        mine = state.session_id() if scope == "mine" else None
        found = log_data.groups(log, log_data.cache_key(log), mine, fp)
        group_col, rating_col, clear_col = st.columns([8, 3, 3], vertical_alignment="bottom")
        group = group_col.selectbox(
            "Comparison group",
            ["", *found["group_id"].tolist()],  # "" not None: no pointless clear button
            format_func=_group_label(found, tz),
            key=f"{PREFIX}group",
            help="Requests sent together from Compare, newest group first.",
        )
        rating = rating_col.selectbox(
            "Rating", list(RATINGS), format_func=lambda k: RATINGS[k], key=f"{PREFIX}rating"
        )
        clear_col.button(
            "Clear filters", icon=":material/filter_alt_off:", on_click=clear, width="stretch"
        )
    # Whole minutes: "last hour" stays one cacheable filter for a minute, not one per rerun.
    now = datetime.now(tz).replace(second=0, microsecond=0)
    since, until = time_window(when, now, tuple(dates or ()), tz)
    family = _family_ids(log)
    return LogFilter(
        ids=family,
        text=text.strip() or None,
        status=status,
        since=since,
        until=until,
        aspect_ratios=tuple(ratios) or None,
        raw=raw,
        backend=backend,
        session_id=mine,
        group_id=group or None,
        min_rating=rating or None,
    )
