"""One user's experiments, in Chromium: generate a seeded image, Vary it (4 new seeds in
Compare), Refine it (same seed, an edited prompt), fill the form from a preset with a variable,
then find the first image's whole family in the Session log and filter the log to it. Every step
is checked in the log database as well as on screen: each new row names the row it was made from
and how. (A seeded repeat served from the log is tests/e2e/test_never_pay_twice.py.)"""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect

from browser import EXCEPTION, image_sources, no_exception, open_app, settle, type_prompt
from components.log.store import LogStore

PROMPT = "a paper lighthouse on a desk"
REFINED = "a paper lighthouse on a desk, at night"
TEMPLATE = "a {subject} on a desk"
SEED = 4242
GENERATE = ".st-key-gen_submit button"  # the form's Generate button (param_form.SUBMIT_KEY)
COMPARE_RESULTS = '[class*="st-key-cmp_grid_"] img[alt^="result"]'
TABLE = '[class*="st-key-log_table_"] [data-testid="stDataFrame"]'
HEADER_H, ROW_H = 36, 44  # the log grid's header and row heights (table.py: row_height=44)
COLUMNS = ["id", "parent_id", "lineage", "prompt", "seed", "group_id", "status", "created_at"]


def log_rows(app) -> list[dict[str, Any]]:
    """Every row of the app's log, newest first."""
    frame = LogStore(app.data_dir / "studio.db").query(columns=COLUMNS)
    return [
        {k: (None if _missing(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _missing(value: Any) -> bool:
    try:
        return bool(value != value) or value is None  # NaN, NaT and pandas' NA
    except TypeError:
        return True  # pd.NA refuses a truth value


def wait_for_rows(app, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The log once it holds `count` finished rows (the runner writes each when it lands)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = log_rows(app)
        if len(rows) >= count and all(r["status"] not in (None, "sent") for r in rows):
            return rows
        assert time.monotonic() < deadline, f"expected {count} rows, have {rows}"
        time.sleep(0.1)


def wait_until(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def no_traceback(page: Page) -> None:
    """no_exception, and when there is one, its text in the failure."""
    shown = page.locator(EXCEPTION)
    if shown.count():
        raise AssertionError("traceback on the page:\n" + "\n".join(shown.all_inner_texts()))
    no_exception(page)


def generate(page: Page) -> None:
    button = page.locator(GENERATE)
    expect(button).to_be_enabled()
    before = image_sources(page)
    button.click()
    wait_until(lambda: len(image_sources(page) - before) >= 1, "no new image after Generate")
    settle(page)
    no_traceback(page)


def card_menu(page: Page, option: str) -> None:
    """The first result card's "More" menu, then one of its options."""
    page.locator("main").get_by_role("button", name="More").first.click()
    page.get_by_role("menuitem", name=option).click()
    settle(page)
    no_traceback(page)


def to_page(page: Page, name: str) -> None:
    page.get_by_role("link", name=name).first.click()
    settle(page)
    no_traceback(page)


def select_row(page: Page, position: int) -> None:
    """The log grid is a canvas: click the selection box of the row at `position` (0: top)."""
    grid = page.locator(TABLE)
    grid.wait_for()
    grid.scroll_into_view_if_needed()  # below the metrics: the lower rows start off screen
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + HEADER_H + ROW_H * position + ROW_H / 2)
    settle(page)
    no_traceback(page)


def test_generate_vary_refine_apply_a_preset_then_the_family_tree(app, page):
    # 1. One seeded image.
    open_app(page, app.url)
    page.get_by_text("Offline demo.").wait_for()
    type_prompt(page, PROMPT)
    seed_box = page.get_by_role("spinbutton", name="Seed")
    seed_box.fill(str(SEED))
    seed_box.press("Tab")  # commit before clicking Generate
    settle(page)
    generate(page)
    [first] = wait_for_rows(app, 1)
    assert (first["prompt"], first["seed"], first["status"]) == (PROMPT, SEED, "ok")
    assert first["parent_id"] is None and first["lineage"] is None

    # 2. Vary: Compare sends 4 new seeds of it at once, each a child of the first image.
    card_menu(page, "Vary: 4 new seeds")
    expect(page.get_by_role("heading", name="Compare")).to_be_visible()
    wait_until(lambda: page.locator(COMPARE_RESULTS).count() >= 4, "Vary drew no 4 cells")
    settle(page)
    no_traceback(page)
    rows = wait_for_rows(app, 5)
    varied = [r for r in rows if r["id"] != first["id"]]
    assert len(varied) == 4, rows
    assert {r["lineage"] for r in varied} == {"vary"}
    assert {r["parent_id"] for r in varied} == {first["id"]}
    assert {r["status"] for r in varied} == {"ok"}
    assert {r["prompt"] for r in varied} == {PROMPT}
    assert len({r["seed"] for r in varied}) == 4 and SEED not in {r["seed"] for r in varied}
    assert len({r["group_id"] for r in varied}) == 1 and varied[0]["group_id"]
    expect(page.locator(COMPARE_RESULTS)).to_have_count(4)

    # 3. Refine the first image: same seed and settings in the form, the prompt to edit.
    to_page(page, "Generate")
    card_menu(page, "Refine: same seed, edit the prompt")
    expect(page.get_by_role("heading", name="Generate")).to_be_visible()
    expect(page.get_by_role("textbox", name="Prompt")).to_have_value(PROMPT)
    expect(page.get_by_role("spinbutton", name="Seed")).to_have_value(str(SEED))
    type_prompt(page, REFINED)
    generate(page)
    rows = wait_for_rows(app, 6)
    refined = rows[0]
    assert refined["prompt"] == REFINED and refined["seed"] == SEED
    assert (refined["parent_id"], refined["lineage"]) == (first["id"], "refine")

    # 4. A preset with a variable: save the form as one, fill the variable, apply, generate.
    to_page(page, "Generate")
    type_prompt(page, TEMPLATE)
    presets = page.locator('[data-testid="stExpander"]').filter(
        has=page.get_by_text("Presets", exact=True)
    )
    if not presets.get_by_role("button", name="Save preset").is_visible():
        presets.get_by_text("Presets", exact=True).click()  # the panel starts closed
    name = presets.get_by_role("textbox", name="Save the form as a preset")
    name.fill("Desk")
    name.press("Tab")
    settle(page)
    presets.get_by_role("button", name="Save preset").click()
    settle(page)
    no_traceback(page)
    expect(presets.get_by_text("Saved as “Desk”.")).to_be_visible()
    expect(presets.get_by_role("combobox", name="Preset")).to_be_visible()
    subject = presets.get_by_role("textbox", name="{subject}")
    subject.fill("paper boat")
    subject.press("Tab")
    settle(page)
    presets.get_by_role("button", name="Apply").click()
    settle(page)
    no_traceback(page)
    expect(page.get_by_role("textbox", name="Prompt")).to_have_value("a paper boat on a desk")
    generate(page)
    rows = wait_for_rows(app, 7)
    assert rows[0]["prompt"] == "a paper boat on a desk"
    assert rows[0]["seed"] == SEED  # the preset kept the seed that was in the form
    assert (rows[0]["parent_id"], rows[0]["lineage"]) == (None, "preset")

    # 5. The Session log: the first image (the oldest of 7) and its family of 6; the preset's
    # row (no parent) is not in it.
    to_page(page, "Session log")
    expect(page.get_by_text("Rows 1–7 of 7, newest first")).to_be_visible()
    select_row(page, 6)
    expect(page.get_by_text("1 row selected")).to_be_visible()
    family = page.locator('[data-testid="stExpander"] summary').filter(has_text="Family:")
    expect(family).to_contain_text("Family: 0 ancestor(s), 5 descendant(s)")
    family.click()
    settle(page)
    no_traceback(page)
    tree = page.locator(f'.st-key-log_family_{first["id"]} [data-testid="stDataFrame"]')
    expect(tree).to_be_visible()
    show = page.get_by_role("button", name="Show this row and its descendants")
    expect(show).to_be_visible()
    show.click()
    settle(page)
    no_traceback(page)
    only = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Only row")
    expect(only).to_contain_text(f"Only row {first['id']} and its 5 descendant(s)")
    expect(page.get_by_role("button", name="Show every row")).to_be_visible()
    expect(page.get_by_text("Rows 1–6 of 6, newest first")).to_be_visible()
