"""Altair charts of the session log, built from the small frames `log_stats` prepares.

No Streamlit here: a chart is a value, so tests can check what it encodes and a notebook can show
the same chart. Each builder returns None when there is nothing to draw, so the page can say so in
words instead of showing empty axes.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from components.api.contract import ASPECT_RATIOS
from components.log.schema import RowStatus

STATUS_COLOURS = {
    RowStatus.OK.value: "#2e9f5b",
    RowStatus.ERROR.value: "#d64545",
    RowStatus.SENT.value: "#e0a030",
    "unknown": "#9aa0a6",
}
MODE_COLOURS = {"standard": "#4c78a8", "raw": "#f58518"}
HEIGHT = 260


def _scale(colours: dict[str, str], present: pd.Series) -> alt.Scale:
    """Fixed colours per value (an error is always red), listing only values present."""
    domain = [name for name in colours if name in set(present)]
    return alt.Scale(domain=domain, range=[colours[name] for name in domain])


def _time_x(moments: pd.Series) -> alt.X:
    """Days as ticks once the data spans days (Vega otherwise may tick at noons and label
    each "12 PM"); Vega's own multi-scale labels for shorter spans."""
    span = moments.max() - moments.min()
    if span >= pd.Timedelta(days=2):
        axis = alt.Axis(format="%a %d %b", tickCount="day", labelAngle=0)
        return alt.X("created_at:T", title="When", axis=axis)
    return alt.X("created_at:T", title="When")


def request_time_over_time(data: pd.DataFrame) -> alt.Chart | None:
    if data.empty:
        return None
    return (
        alt.Chart(data, height=HEIGHT)
        .mark_circle(size=28, opacity=0.65)
        .encode(
            x=_time_x(data["created_at"]),
            y=alt.Y("request_s:Q", title="Request time (s)"),
            color=alt.Color(
                "status:N", title="Status", scale=_scale(STATUS_COLOURS, data["status"])
            ),
            tooltip=[
                alt.Tooltip("created_at:T", title="When", format="%d %b %H:%M:%S"),
                alt.Tooltip("request_s:Q", title="Request (s)", format=".2f"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("error_type:N", title="Error"),
            ],
        )
    )


def request_time_by_ratio(data: pd.DataFrame) -> alt.LayerChart | alt.FacetChart | None:
    """Boxes from precomputed quartiles: whisker p05-p95, box q1-q3, white tick at the median."""
    if data.empty:
        return None
    order = [r for r in ASPECT_RATIOS if r in set(data["aspect_ratio"])]
    order += sorted(set(data["aspect_ratio"]) - set(order))
    base = alt.Chart(data, height=HEIGHT).encode(
        x=alt.X("aspect_ratio:N", title="Aspect ratio", sort=order, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("mode:N", sort=list(MODE_COLOURS)),
        color=alt.Color("mode:N", title="Mode", scale=_scale(MODE_COLOURS, data["mode"])),
        tooltip=[
            alt.Tooltip("aspect_ratio:N", title="Aspect ratio"),
            alt.Tooltip("mode:N", title="Mode"),
            alt.Tooltip("median:Q", title="Median (s)", format=".2f"),
            alt.Tooltip("q1:Q", title="25th pct (s)", format=".2f"),
            alt.Tooltip("q3:Q", title="75th pct (s)", format=".2f"),
            alt.Tooltip("p95:Q", title="95th pct (s)", format=".2f"),
            alt.Tooltip("count:Q", title="Requests"),
        ],
    )
    whisker = base.mark_rule().encode(y=alt.Y("p05:Q", title="Request time (s)"), y2="p95:Q")
    box = base.mark_bar(size=12).encode(y="q1:Q", y2="q3:Q")
    median = base.mark_tick(color="white", size=12, thickness=2).encode(y="median:Q")
    return alt.layer(whisker, box, median)


def failures_by_type(data: pd.DataFrame) -> alt.Chart | None:
    if data.empty:
        return None
    return (
        alt.Chart(data, height=HEIGHT)
        .mark_bar(color=STATUS_COLOURS[RowStatus.ERROR.value])
        .encode(
            x=alt.X("count:Q", title="Failed requests"),
            y=alt.Y("error_type:N", title="Error type", sort="-x"),
            tooltip=[
                alt.Tooltip("error_type:N", title="Error type"),
                alt.Tooltip("count:Q", title="Failed requests"),
            ],
        )
    )


def cumulative_cost(data: pd.DataFrame) -> alt.Chart | None:
    if data.empty:
        return None
    return (
        alt.Chart(data, height=HEIGHT)
        .mark_area(line=True, opacity=0.25, interpolate="step-after")
        .encode(
            x=_time_x(data["created_at"]),
            y=alt.Y("usd:Q", title="Spent (USD), cumulative"),
            tooltip=[
                alt.Tooltip("created_at:T", title="When", format="%d %b %H:%M:%S"),
                alt.Tooltip("usd:Q", title="Spent (USD)", format="$,.2f"),
                alt.Tooltip("credits:Q", title="Credits", format=",.0f"),
            ],
        )
    )
