"""Figures and chart data for the Session log, checked against hand-computed values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from components.log import charts as log_charts
from components.log import stats as log_stats
from components.log.sample import fill
from components.log.store import LogStore

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def frame(rows: list[dict]) -> pd.DataFrame:
    """A frame shaped like LogStore.query(columns=STATS_COLUMNS) returns."""
    base = {
        "status": "ok",
        "error_type": None,
        "aspect_ratio": "16:9",
        "raw": False,
        "num_images": 1,
        "request_s": 1.0,
        "credits_used": None,
        "cost_usd": 0.0,
    }
    full = [{"created_at": T0 + timedelta(minutes=n), **base, **r} for n, r in enumerate(rows)]
    df = pd.DataFrame(full, columns=list(log_stats.STATS_COLUMNS))
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    for name, dtype in {
        "status": "string",
        "error_type": "string",
        "aspect_ratio": "string",
        "raw": "boolean",
        "num_images": "Int64",
        "request_s": "float64",
        "credits_used": "float64",
        "cost_usd": "float64",
    }.items():
        df[name] = df[name].astype(dtype)
    return df


def test_metrics_count_time_and_money():
    df = frame(
        [
            {"request_s": 2.0, "num_images": 2, "credits_used": 240_000, "cost_usd": 0.12},
            {"request_s": 4.0, "credits_used": 120_000, "cost_usd": 0.06},
            {"request_s": 6.0},
            {"status": "error", "error_type": "timeout", "request_s": 120.0, "cost_usd": None},
        ]
    )
    m = log_stats.compute_metrics(df)
    assert (m.generations, m.images, m.ok, m.errors) == (4, 4, 3, 1)
    assert m.success_rate == pytest.approx(0.75)
    # Successful requests only: the 120 s timeout does not drag the median up.
    assert m.median_request_s == pytest.approx(4.0)
    assert m.p95_request_s == pytest.approx(np.percentile([2.0, 4.0, 6.0], 95))
    assert m.credits == pytest.approx(360_000)
    assert m.usd == pytest.approx(0.18)
    assert m.unpriced == 0


def test_metrics_of_nothing_are_blank_not_zero():
    m = log_stats.compute_metrics(frame([]))
    assert m.generations == 0 and m.success_rate is None
    assert m.median_request_s is None and m.p95_request_s is None
    assert m.usd == 0.0


def test_unreported_cost_is_counted_not_guessed():
    m = log_stats.compute_metrics(frame([{"cost_usd": None}, {"cost_usd": 0.06}]))
    assert m.usd == pytest.approx(0.06) and m.unpriced == 1


def test_request_time_by_ratio_gives_box_figures_in_contract_order():
    rows = [{"aspect_ratio": "1:1", "request_s": float(s)} for s in range(1, 101)]
    rows += [{"aspect_ratio": "21:9", "raw": True, "request_s": 9.0}]
    rows += [{"aspect_ratio": "21:9", "status": "error", "request_s": 500.0}]
    out = log_stats.request_time_by_ratio(frame(rows))
    assert out[["aspect_ratio", "mode"]].values.tolist() == [["21:9", "raw"], ["1:1", "standard"]]
    square = out.iloc[1]
    assert square["median"] == pytest.approx(50.5) and square["count"] == 100
    assert square["p05"] < square["q1"] < square["median"] < square["q3"] < square["p95"]
    assert out.iloc[0]["p95"] == 9.0  # the failed 500 s request is not in it


def test_failures_by_type_most_frequent_first():
    rows = [{"status": "error", "error_type": t} for t in ["timeout", "server", "timeout"]]
    rows += [{"status": "error", "error_type": None}, {"status": "ok"}]
    out = log_stats.failures_by_type(frame(rows))
    assert out.values.tolist() == [["timeout", 2], ["server", 1], ["unknown", 1]]


def test_cumulative_cost_is_sampled_but_ends_on_the_exact_total():
    rows = [{"cost_usd": 0.06} for _ in range(5000)]
    out = log_stats.cumulative_cost(frame(rows), max_points=500)
    assert len(out) <= 500
    assert out["usd"].iloc[-1] == pytest.approx(300.0)
    assert out["usd"].is_monotonic_increasing
    assert out["created_at"].is_monotonic_increasing


def test_timeline_sample_keeps_time_order_and_the_failure_share():
    rows = [{"status": "error" if n % 10 == 0 else "ok"} for n in range(10_000)]
    newest_first = frame(rows).iloc[::-1]  # the order LogStore.query returns
    out = log_stats.timeline(newest_first, max_points=2000)
    assert len(out) == 2000
    assert out["created_at"].is_monotonic_increasing
    assert (out["status"] == "error").mean() == pytest.approx(0.1, abs=0.02)


def test_overview_of_a_sample_log(tmp_path):
    log = LogStore(tmp_path / "studio.db")
    fill(log, rows=3000)
    view = log_stats.overview(log.query(columns=log_stats.STATS_COLUMNS))
    assert view.metrics.generations == 3000
    assert view.sampled and len(view.timeline) <= log_stats.MAX_POINTS
    assert view.failures["count"].sum() == view.metrics.errors


@pytest.mark.parametrize(
    "builder, data_of",
    [
        (log_charts.request_time_over_time, lambda v: v.timeline),
        (log_charts.request_time_by_ratio, lambda v: v.by_ratio),
        (log_charts.failures_by_type, lambda v: v.failures),
        (log_charts.cumulative_cost, lambda v: v.cost),
    ],
)
def test_charts_build_valid_specs_and_none_when_empty(builder, data_of):
    rows = [{"request_s": 1.0 + n % 7, "cost_usd": 0.06} for n in range(40)]
    rows += [{"status": "error", "error_type": "rate_limit"}]
    view = log_stats.overview(frame(rows))
    spec = builder(data_of(view)).to_dict()  # validates against the Vega-Lite schema
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert builder(data_of(log_stats.overview(frame([])))) is None


def test_status_colours_are_fixed():
    view = log_stats.overview(frame([{"status": "error", "error_type": "server"}, {}]))
    spec = log_charts.request_time_over_time(view.timeline).to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "ok": log_charts.STATUS_COLOURS["ok"],
        "error": log_charts.STATUS_COLOURS["error"],
    }
