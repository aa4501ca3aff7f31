"""Figures and chart data for a set of log rows: how many, how fast, how much, what failed.

Plain pandas, no Streamlit, so the numbers stakeholders see can be tested (and reproduced in a
notebook) without a page. Everything here reads the narrow frame `LogStore.query(...,
columns=STATS_COLUMNS)` returns; 10,000 rows take a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from components.api.contract import ASPECT_RATIOS
from components.log.rows import plain
from components.log.schema import RowStatus

STATS_COLUMNS: tuple[str, ...] = (
    "created_at",
    "status",
    "error_type",
    "aspect_ratio",
    "raw",
    "num_images",
    "request_s",
    "credits_used",
    "cost_usd",
    "saved_usd",
)
# Charts draw every point up to this many; above it they draw a sample, because a
# browser chart of 10,000 marks costs more to ship and draw than it tells.
MAX_POINTS = 2_000
MODE_LABELS = {True: "raw", False: "standard"}


@dataclass(frozen=True)
class LogMetrics:
    """The headline figures for the rows on screen (None where there is nothing to measure)."""

    generations: int
    images: int
    ok: int
    errors: int
    success_rate: float | None
    median_request_s: float | None
    p95_request_s: float | None
    credits: float
    usd: float
    unpriced: int  # successful online rows whose cost the provider did not report
    from_log: int = 0  # answered from an earlier identical request: nothing was sent
    saved_usd: float = 0.0  # what those would have cost


def _is(df: pd.DataFrame, status: RowStatus) -> pd.Series:
    return (df["status"] == status.value).fillna(False).astype(bool)


def _ok(df: pd.DataFrame) -> pd.Series:
    return _is(df, RowStatus.OK)


def _maybe(value: float) -> float | None:
    return plain(value)


def compute_metrics(df: pd.DataFrame) -> LogMetrics:
    """Request times are of successful requests only: a validation error refused in 0 s or a
    2-minute timeout says nothing about how fast the model is."""
    ok = _ok(df)
    # A "sent" row is still in flight (or lost its answer): not a failure, and not counted in
    # the success rate until it ends.
    # A row answered from the log sent nothing: neither a success nor a failure of a request,
    # and no request time.
    reused = _is(df, RowStatus.FROM_LOG)
    ended = ~_is(df, RowStatus.SENT) & ~reused
    times = df.loc[ok, "request_s"].dropna().to_numpy(dtype="float64")
    images = df.loc[ok, "num_images"].fillna(1).astype("int64").sum() if len(df) else 0
    cost = df["cost_usd"].to_numpy(dtype="float64")
    return LogMetrics(
        generations=len(df),
        images=int(images),
        ok=int(ok.sum()),
        errors=int((ended & ~ok).sum()),
        success_rate=float(ok.sum() / ended.sum()) if ended.any() else None,
        median_request_s=_maybe(float(np.median(times))) if times.size else None,
        p95_request_s=_maybe(float(np.percentile(times, 95))) if times.size else None,
        credits=float(np.nansum(df["credits_used"].to_numpy(dtype="float64"))),
        usd=float(np.nansum(cost)),
        unpriced=int((ok & np.isnan(cost)).sum()),
        from_log=int(reused.sum()),
        saved_usd=float(np.nansum(df["saved_usd"].to_numpy(dtype="float64")))
        if "saved_usd" in df
        else 0.0,
    )


def _sample(df: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """A fixed-seed random sample in the original order: the same picture on every rerun, and
    no aliasing with periodic patterns (every k-th row of a batch that fails every 10th
    request would show all failures or none)."""
    if len(df) <= max_points:
        return df
    return df.sample(n=max_points, random_state=0).sort_index()


def timeline(df: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Request time of each request over time, oldest first, with its status."""
    data = df.loc[df["request_s"].notna(), ["created_at", "request_s", "status", "error_type"]]
    data = data.sort_values("created_at", kind="stable").reset_index(drop=True)
    data = _sample(data, max_points).copy()
    data["status"] = data["status"].fillna("unknown").astype(str)
    data["error_type"] = data["error_type"].fillna("").astype(str)
    return data.reset_index(drop=True)


def request_time_by_ratio(df: pd.DataFrame) -> pd.DataFrame:
    """Box-plot figures per aspect ratio and mode, computed here so the chart ships a few
    dozen numbers instead of every request."""
    ok = _ok(df) & df["request_s"].notna()
    data = df.loc[ok, ["aspect_ratio", "raw", "request_s"]].copy()
    data["mode"] = data["raw"].map(MODE_LABELS).fillna("standard").astype(str)
    data["aspect_ratio"] = data["aspect_ratio"].fillna("?").astype(str)
    names = ["p05", "q1", "median", "q3", "p95"]
    if data.empty:
        return pd.DataFrame(columns=["aspect_ratio", "mode", *names, "count"])
    grouped = data.groupby(["aspect_ratio", "mode"], observed=True)["request_s"]
    figures = grouped.quantile(np.array([0.05, 0.25, 0.5, 0.75, 0.95])).unstack()
    figures.columns = names
    figures["count"] = grouped.size()
    figures = figures.reset_index()
    order = {ratio: n for n, ratio in enumerate(ASPECT_RATIOS)}
    figures["order"] = figures["aspect_ratio"].map(order).fillna(len(order))
    figures = figures.sort_values(["order", "mode"]).drop(columns="order")
    return figures.reset_index(drop=True)


def failures_by_type(df: pd.DataFrame) -> pd.DataFrame:
    """How many requests failed, per error type, most frequent first."""
    failed = df.loc[~_ok(df), "error_type"].fillna("unknown").astype(str)
    counts = failed.value_counts().rename_axis("error_type").reset_index(name="count")
    return counts.sort_values(["count", "error_type"], ascending=[False, True], kind="stable")


def cumulative_cost(df: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Running total of USD spent over time (the last point is always the exact total)."""
    data = df[["created_at", "cost_usd", "credits_used"]].sort_values("created_at", kind="stable")
    data = pd.DataFrame(
        {
            "created_at": data["created_at"].reset_index(drop=True),
            "usd": np.nancumsum(data["cost_usd"].to_numpy(dtype="float64")),
            "credits": np.nancumsum(data["credits_used"].to_numpy(dtype="float64")),
        }
    )
    if len(data) > max_points:
        sampled = _sample(data, max_points - 1)
        data = pd.concat([sampled, data.iloc[[-1]]])
        data = data[~data.index.duplicated()]
    return data.reset_index(drop=True)


@dataclass(frozen=True)
class Overview:
    """Everything the figures and charts need, small enough to cache per filter."""

    metrics: LogMetrics
    timeline: pd.DataFrame
    by_ratio: pd.DataFrame
    failures: pd.DataFrame
    cost: pd.DataFrame
    sampled: bool  # the timeline shows a sample, not every request


def overview(df: pd.DataFrame, max_points: int = MAX_POINTS) -> Overview:
    return Overview(
        metrics=compute_metrics(df),
        timeline=timeline(df, max_points),
        by_ratio=request_time_by_ratio(df),
        failures=failures_by_type(df),
        cost=cumulative_cost(df, max_points),
        sampled=int(df["request_s"].notna().sum()) > max_points,
    )
