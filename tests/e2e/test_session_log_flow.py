"""A user generates twice, finds both requests in the Session log, and re-runs one."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from browser import (
    image_sources,
    no_exception,
    open_app,
    settle,
    type_prompt,
    wait_for_new_images,
)

PROMPTS = ["A red fox in fresh snow, 35mm photo", "A lighthouse at dusk, oil painting"]
# The latest result's card ("seed 12 · 0.4 s") or a picture in the strip of earlier ones.
SEED_CAPTION = re.compile(r"^seed (\d+)(?: · \d+\.\d s)?$")


def seeds_on_page(page: Page) -> list[int]:
    captions = page.get_by_text(SEED_CAPTION).all_inner_texts()
    return [int(SEED_CAPTION.match(c).group(1)) for c in captions]


def generate(page: Page, prompt: str) -> None:
    type_prompt(page, prompt)
    before = image_sources(page)
    page.get_by_role("button", name="Generate").click()
    wait_for_new_images(page, before, count=1)
    settle(page)
    no_exception(page)


def select_first_row(page: Page) -> None:
    """The grid is a canvas: click the selection box of its first row (below the header)."""
    grid = page.locator('[class*="st-key-log_table_"] [data-testid="stDataFrame"]')
    grid.wait_for()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 36 + 22)
    settle(page)


def test_generate_twice_then_find_both_and_rerun_one(app, page):
    open_app(page, app.url)
    page.get_by_text("Offline demo.").wait_for()
    for prompt in PROMPTS:
        generate(page, prompt)
    seeds = seeds_on_page(page)
    assert len(set(seeds)) == 2

    page.get_by_role("link", name="Session log").click()
    settle(page)
    no_exception(page)
    generations = page.locator('[data-testid="stMetric"]').filter(has_text="Generations")
    expect(generations).to_contain_text("2")
    expect(page.get_by_text("Rows 1–2 of 2, newest first")).to_be_visible()

    # Both rows with their seeds and times, read through the page's own CSV export.
    page.get_by_role("tab", name="Import & export").click()
    settle(page)
    with page.expect_download() as info:
        page.locator('[data-testid="stDownloadButton"] button').filter(
            has_text="Download CSV"
        ).click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert info.value.suggested_filename.endswith(".csv")
    assert [r["prompt"] for r in rows] == PROMPTS[::-1]  # newest first
    assert {int(r["seed"]) for r in rows} == set(seeds)
    assert all(float(r["request_s"]) > 0 and float(r["total_s"]) > 0 for r in rows)
    no_exception(page)

    # The newest row in detail, then back to Generate with everything filled in.
    page.get_by_role("tab", name="Table").click()
    settle(page)
    select_first_row(page)
    expect(page.get_by_text("1 row selected")).to_be_visible()
    newest = next(r for r in rows if r["prompt"] == PROMPTS[1])
    summary = page.get_by_text(re.compile(rf"^seed {newest['seed']} · 16:9 · request [\d.]+ s"))
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(re.compile(r"total [\d.]+ s"))
    no_exception(page)

    page.get_by_role("button", name="Re-run in Generate").click()
    settle(page)
    prompt_box = page.get_by_role("textbox", name="Prompt")
    expect(prompt_box).to_have_value(PROMPTS[1])
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value(newest["seed"])
    no_exception(page)
    page.get_by_role("button", name="Generate").click()
    # The same seed and prompt draw the same picture, so the new result's card and the first
    # run's picture in the strip of earlier results both name that seed.
    expect(page.get_by_text(re.compile(rf"^seed {newest['seed']} · \d+\.\d s$"))).to_have_count(
        1, timeout=30_000
    )
    expect(page.get_by_text(f"seed {newest['seed']}", exact=True)).to_have_count(1)
    settle(page)
    no_exception(page)
