"""Session log figures: page reruns at 10,000 rows (AppTest) and the app's peak memory.

Run: python -m bench.session_log   (the memory figure needs Chromium and Linux's /proc)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.table import Figure, median, print_table
from components.images.store import ImageStore
from components.log.sample import fill
from components.log.store import LogStore

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from playwright.sync_api import sync_playwright  # noqa: E402

from app_process import CHROMIUM_ARGS, chromium_path, start_app  # noqa: E402
from browser import open_app, settle  # noqa: E402

ROWS = 10_000
WORDS = ("fox", "lighthouse", "ramen", "robot", "lake", "neon", "map", "astronaut", "sketch")


def make_log(folder: Path) -> None:
    log = LogStore(folder / "studio.db")
    fill(log, ImageStore(folder), rows=ROWS, with_images=100)
    log.close()


def timed(at: AppTest) -> float:
    """Seconds for one AppTest run, which must end without an exception."""
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    assert not at.exception, at.exception
    return elapsed


def rerun_figures(folder: Path) -> dict[str, float]:
    """Seconds per AppTest run of the Session log page with 10,000 rows."""
    os.environ["FLUX_STUDIO_DATA_DIR"] = str(folder)
    os.environ["FLUX_STUDIO_OFFLINE_LATENCY"] = "0"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/session_log.py")
    first = timed(at)  # cold caches: every thumbnail, count and figure computed
    at.button_group(key="log_f_status").set_value("ok")
    timed(at)

    # A new filter each time, so every run misses the caches: count, metrics and page in SQL.
    changed = []
    for word in WORDS:
        at.text_input(key="log_f_text").set_value(word)
        changed.append(timed(at))

    # Broad filters (thousands of rows each): the figures are computed from the most rows.
    at.text_input(key="log_f_text").set_value("")
    broad = []
    for status in (None, "ok"):
        for raw in (None, False):
            for backend in (None, "offline"):
                if (status, raw, backend) == (None, None, None):
                    continue  # the unfiltered view: not "a filter applied"
                at.button_group(key="log_f_status").set_value(status)
                at.button_group(key="log_f_raw").set_value(raw)
                at.button_group(key="log_f_backend").set_value(backend)
                broad.append(timed(at))

    # Same filter, a row selected: the detail view draws, the figures come from the cache.
    table = next(d for d in at.dataframe if (d.key or "").startswith("log_table_"))
    selected = []
    assert table.key is not None
    for row in range(5):
        at.session_state[table.key] = {"selection": {"rows": [row]}}
        selected.append(timed(at))

    at.session_state["log_tab"] = "Charts"
    charts = []
    for word in WORDS:
        at.text_input(key="log_f_text").set_value(word[:3])
        charts.append(timed(at))
    return {
        "first": first,
        "changed": median(changed),
        "changed_max": max(changed),
        "broad": median(broad),
        "broad_max": max(broad),
        "selected": median(selected),
        "charts": median(charts),
    }


def _peak_rss_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident memory of a process, from /proc (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


def memory_figures(tmp: Path, rows: bool) -> tuple[float, float]:
    """Peak RSS of `streamlit run` after a user opens the log, its charts, a row's details
    and a CSV export of every row."""
    if rows:
        (tmp / "data").mkdir(parents=True)
        make_log(tmp / "data")
    app = start_app(tmp)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(60_000)
            open_app(page, app.url)
            page.get_by_role("link", name="Session log").click()
            settle(page)
            if rows:
                grid = page.locator('[class*="st-key-log_table_"] [data-testid="stDataFrame"]')
                box = grid.bounding_box()
                assert box is not None
                page.mouse.click(box["x"] + 18, box["y"] + 36 + 22)
                settle(page)
            page.get_by_role("tab", name="Charts").click()
            settle(page)
            page.get_by_role("tab", name="Import & export").click()
            settle(page)
            if rows:
                with page.expect_download():
                    # The export of every row (the tab also holds the report's button).
                    page.get_by_role("button", name="Download CSV").click()
            time.sleep(1)
            browser.close()
        return _peak_rss_mb(app.proc.pid)
    finally:
        app.stop()


def main() -> None:
    if chromium_path() is None:
        sys.exit("No Chromium: install Debian's chromium or set FLUX_STUDIO_CHROMIUM.")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        make_log(tmp / "apptest")
        runs = rerun_figures(tmp / "apptest")
        peak, now = memory_figures(tmp / "mem10k", rows=True)
        base_peak, _ = memory_figures(tmp / "mem0", rows=False)
    print_table(
        "Session log at 10,000 rows",
        "python -m bench.session_log",
        [
            Figure(
                "rerun after a prompt-text filter change, 10,000 rows (AppTest, median of 9)",
                runs["changed"],
                "s",
                1.0,
                f"slowest {runs['changed_max']:.2f} s; count, figures and page from SQL",
            ),
            Figure(
                "rerun after a broad filter change, 4,000-9,000 rows match (median of 7)",
                runs["broad"],
                "s",
                1.0,
                f"slowest {runs['broad_max']:.2f} s",
            ),
            Figure(
                "rerun selecting a row with a filter applied (median of 5)",
                runs["selected"],
                "s",
                1.0,
                "detail view; figures from the cache",
            ),
            Figure(
                "rerun on the Charts tab after a filter change (median of 9)",
                runs["charts"],
                "s",
                1.0,
                "4 Altair charts",
            ),
            Figure(
                "first render, cold caches",
                runs["first"],
                "s",
                None,
                "100 thumbnails made, imports warmed",
            ),
            Figure(
                "app process peak RSS, 10,000 rows loaded",
                peak,
                "MB",
                None,
                f"now {now:.0f} MB; table, details, charts, CSV export of all rows",
            ),
            Figure(
                "app process peak RSS, empty log (same clicks)",
                base_peak,
                "MB",
                None,
                "baseline for the figure above",
            ),
        ],
    )


if __name__ == "__main__":
    main()
