"""Compare shows each cell when its own result lands, not when the batch ends: the page waits
for the run at its very end, so a slow cell never holds the fast ones back, a star given while
the run goes on is kept, and Cancel (a plain button, outside any fragment) stops what has not
started. Against a local stand-in provider whose answer time depends on the seed."""

from __future__ import annotations

import time

import counting_provider
import pandas as pd
import pytest
from playwright.sync_api import Page, expect
from test_compare_flow import GRID, RESULTS, fill, open_compare

from browser import no_exception, settle
from components.log.store import LogStore
from conftest import start_app

KEY = "test-key-streaming-0000"
SLOW_FROM = 1000  # seeds from here wait (seed - 1000) / 100 s: 1600 waits 6 s
PENDING = f'{GRID} img[alt="pending"]'


@pytest.fixture(scope="module")
def slow_app(tmp_path_factory):
    server = counting_provider.start(
        lambda seed: (seed - SLOW_FROM) / 100 if seed >= SLOW_FROM else 0.1
    )
    app = start_app(
        tmp_path_factory.mktemp("slow"),
        AIMLAPI_API_KEY=KEY,
        AIMLAPI_BASE_URL=server.url_for("/"),
        FLUX_STUDIO_CONCURRENCY="4",
        FLUX_STUDIO_REUSE="0",
        # A closed tab's session (and its waiting script run) ends at once, not after 120 s.
        STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL="1",
    )
    app.in_flight = server.flight
    yield app
    app.stop()
    counting_provider.stop(server)


def _setup(page: Page, url: str, seeds: str) -> None:
    open_compare(page, url)
    fill(page, "Prompt", "A paper boat on a puddle")
    page.get_by_role("radio", name="My list").click()
    settle(page)
    fill(page, "Seed list", seeds)


def _rows(app) -> list[dict]:
    return LogStore(app.data_dir / "studio.db").query().to_dict("records")


def test_fast_cells_show_while_the_slow_one_is_pending(slow_app, page):
    _setup(page, slow_app.url, f"11, 12, 13, {SLOW_FROM + 600}")
    page.get_by_role("button", name="Run comparison").click()
    # Three results while the fourth still waits: each cell is drawn when it lands.
    expect(page.locator(RESULTS)).to_have_count(3, timeout=5_000)
    expect(page.locator(PENDING)).to_have_count(1)
    assert len(_rows(slow_app)) == 4  # the slow one is at the provider ("sent")
    # It waits in its own cell's box, where its picture will replace the placeholder.
    slow = page.locator(".st-key-cmp_cell_0_3")
    expect(slow.locator('img[alt="pending"]')).to_have_count(1)
    expect(slow.get_by_text("waiting for its result")).to_be_visible()
    # The slow cell lands too, and the judging view follows.
    expect(slow.locator('img[alt^="result"]')).to_be_visible(timeout=15_000)
    expect(page.locator(RESULTS)).to_have_count(4, timeout=15_000)
    expect(page.get_by_role("button", name="Contact sheet (PNG)")).to_be_visible(timeout=10_000)
    expect(page.locator(PENDING)).to_have_count(0)
    no_exception(page)


def test_a_star_given_mid_run_is_kept_and_the_late_cell_still_appears(slow_app, page):
    _setup(page, slow_app.url, f"21, 22, 23, {SLOW_FROM + 700}")
    page.get_by_role("button", name="Run comparison").click()
    first = page.locator(".st-key-cmp_cell_0_0")
    expect(first.locator('img[alt^="result"]')).to_be_visible(timeout=5_000)
    expect(page.locator(PENDING)).to_have_count(1)
    # Four stars, while the slow cell is still at the provider.
    first.get_by_role("radio", name="4 out of 5 stars").click()
    deadline = time.monotonic() + 5
    while not any(r.get("seed") == 21 and r.get("rating") == 4 for r in _rows(slow_app)):
        assert time.monotonic() < deadline, "the star given mid-run was not saved"
        time.sleep(0.1)
    expect(page.locator(PENDING)).to_have_count(1)  # the run goes on after the click
    expect(page.locator(RESULTS)).to_have_count(4, timeout=15_000)
    expect(page.get_by_role("button", name="Contact sheet (PNG)")).to_be_visible(timeout=10_000)
    settle(page)
    ratings = {r["seed"]: r.get("rating") for r in _rows(slow_app) if r["seed"] in (21, 22)}
    assert ratings[21] == 4 and pd.isna(ratings[22])
    # The judging view, drawn from the log once the run ended, shows the star too.
    chosen = first.get_by_role("radio", name="4 out of 5 stars")
    expect(chosen).to_have_attribute("aria-checked", "true")
    no_exception(page)


def test_cancel_mid_run_stops_what_has_not_started(slow_app, page):
    seeds = [SLOW_FROM + 300 + i for i in range(8)]  # 3 s each, four at a time
    _setup(page, slow_app.url, ", ".join(map(str, seeds)))
    before = slow_app.in_flight["sent"]
    page.get_by_role("button", name="Run comparison").click()
    deadline = time.monotonic() + 5
    while slow_app.in_flight["now"] < 4:
        assert time.monotonic() < deadline, "four requests never reached the provider"
        time.sleep(0.05)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("cancelled before it started").first).to_be_visible(timeout=3_000)
    expect(page.locator(RESULTS)).to_have_count(4, timeout=10_000)  # the four sent finish
    settle(page)
    assert slow_app.in_flight["sent"] - before == 4 and slow_app.in_flight["most"] <= 4
    rows = [r for r in _rows(slow_app) if r["seed"] in seeds]
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    expect(page.get_by_text("not run (cancelled)")).to_have_count(4)
    no_exception(page)


def test_closing_the_tab_mid_run_loses_nothing(slow_app, browser):
    """The page waits for the cells in its script run; the runner's threads do the work. A tab
    closed while two cells are still at the provider: all four are still stored and logged."""
    seeds = [31, 32, SLOW_FROM + 250, SLOW_FROM + 260]  # two answer at once, two in 2.5 s
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    _setup(tab, slow_app.url, ", ".join(map(str, seeds)))
    tab.get_by_role("button", name="Run comparison").click()
    expect(tab.locator(RESULTS)).to_have_count(2, timeout=5_000)
    expect(tab.locator(PENDING)).to_have_count(2)
    assert slow_app.in_flight["now"] >= 2  # the slow two are at the provider
    context.close()  # the session ends a second later (its TTL): its script run goes with it
    deadline = time.monotonic() + 15
    while True:
        rows = [r for r in _rows(slow_app) if r["seed"] in seeds]
        if len(rows) == 4 and {r["status"] for r in rows} == {"ok"}:
            break
        assert time.monotonic() < deadline, f"after the tab closed: {rows}"
        time.sleep(0.2)
    for row in rows:
        for rel in list(row["image_paths"]) + list(row["thumb_paths"]):
            assert (slow_app.data_dir / rel).is_file()
    assert "Traceback" not in slow_app.log_path.read_text()
