"""The Session log's figures and charts for the filtered rows."""

from __future__ import annotations

import streamlit as st

from components.log import charts as log_charts
from components.log.stats import LogMetrics, Overview


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _count(value: float) -> str:
    """Compact above a million so the figure fits its column (credits run to billions)."""
    for size, suffix in ((1e9, " B"), (1e6, " M")):
        if abs(value) >= size:
            return f"{value / size:,.1f}{suffix}"
    return f"{value:,.0f}"


def metrics_row(m: LogMetrics) -> None:
    cols = st.columns(7)
    cols[0].metric("Generations", f"{m.generations:,}", help="Requests sent, success or failure")
    cols[1].metric("Images", f"{m.images:,}", help="Images delivered by successful requests")
    cols[2].metric(
        "Success rate",
        "–" if m.success_rate is None else f"{m.success_rate:.1%}",
        help=f"{m.ok:,} succeeded, {m.errors:,} failed",
    )
    cols[3].metric("Median request", _seconds(m.median_request_s), help="Successful requests")
    cols[4].metric("95th pct request", _seconds(m.p95_request_s), help="Successful requests")
    cols[5].metric(
        "Credits", _count(m.credits), help=f"{m.credits:,.0f}, as reported by the provider"
    )
    usd_help = "Offline demo requests cost nothing."
    if m.unpriced:
        usd_help += f" {m.unpriced:,} successful request(s) had no reported cost."
    if m.from_log:
        usd_help += (
            f" {m.from_log:,} request(s) were answered from the log (same settings and seed as "
            f"an earlier one): nothing sent, ${m.saved_usd:,.2f} saved."
        )
    cols[6].metric(
        "Spent (USD)",
        f"${m.usd:,.2f}",
        help=usd_help,
        delta=f"${m.saved_usd:,.2f} saved" if m.saved_usd else None,
        delta_color="off",
    )


def _chart(title: str, chart, empty: str, caption: str | None = None) -> None:
    with st.container(border=True):
        st.markdown(f"**{title}**")
        if chart is None:
            st.caption(empty)
            return
        st.altair_chart(chart, width="stretch")
        if caption:
            st.caption(caption)


def charts(view: Overview) -> None:
    total = view.metrics.generations
    left, right = st.columns(2)
    with left:
        _chart(
            "Request time over time",
            log_charts.request_time_over_time(view.timeline),
            "No timed requests match the filters.",
            f"A random sample of {len(view.timeline):,} of {total:,} requests."
            if view.sampled
            else None,
        )
        _chart(
            "Failures by error type",
            log_charts.failures_by_type(view.failures),
            "No failures in these rows.",
        )
    with right:
        _chart(
            "Request time by aspect ratio and mode",
            log_charts.request_time_by_ratio(view.by_ratio),
            "No successful requests match the filters.",
            "Bar: middle half of requests; line: 5th to 95th percentile; tick: median.",
        )
        _chart(
            "Cumulative cost",
            log_charts.cumulative_cost(view.cost),
            "Nothing to add up.",
        )
