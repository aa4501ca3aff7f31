"""Present it, on a laptop, a projector and a phone: four result cards whose labels are never
cut at 1440x900 or 390x844, and a keyboard-driven slideshow from the stored originals.

The screenshots in docs/ (and the README) are taken here, from the running app."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from app_process import ROOT
from browser import no_exception, open_app, settle, type_prompt, wait_for_new_images

DOCS = ROOT / "docs"
SIZES = {"1440": (1440, 900), "390": (390, 844)}
# Every button, download button and popover label inside a result card (the cards are the
# cells of a responsive grid): content wider than its box means the label is cut.
CUT_LABELS = """() => [...document.querySelectorAll(
    '[data-testid="stGridCellContent"] button')]
  .filter((b) => b.offsetParent !== null)
  .map((b) => {
    const text = b.querySelector('[data-testid="stMarkdownContainer"] p') || b;
    return { label: b.innerText.trim(), cut: text.scrollWidth > text.clientWidth + 1
      || b.scrollWidth > b.clientWidth + 1 };
  })"""


def _generate_four(page: Page, url: str, prompt: str) -> None:
    open_app(page, url + "/?num_images=4")  # the shareable link pre-fills the form
    type_prompt(page, prompt)
    page.get_by_role("button", name="Generate").click()
    wait_for_new_images(page, set(), count=4)
    settle(page)
    no_exception(page)


@pytest.mark.parametrize("size", list(SIZES))
def test_four_cards_read_whole_on_a_laptop_and_a_phone(app, browser, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        _generate_four(page, app.url, "A red kite over a green hill")
        labels = page.evaluate(CUT_LABELS)
        card_labels = [entry["label"] for entry in labels]
        for expected in ("View", "Download", "Reuse seed", "Parameters"):
            assert sum(expected in label for label in card_labels) >= 4, card_labels
        assert [entry for entry in labels if entry["cut"]] == []
        # On a phone the sidebar starts closed: the page is not covered.
        sidebar = page.locator('[data-testid="stSidebar"]')
        if size == "390":
            expect(sidebar).to_have_attribute("data-collapsed", "true")
        page.screenshot(path=str(DOCS / f"generate-{size}.png"))
    finally:
        context.close()


def test_the_slideshow_moves_with_the_keyboard(app, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        _generate_four(page, app.url, "A lighthouse at dusk, four takes")
        page.get_by_role("link", name="Session log").first.click()
        settle(page)
        page.get_by_role("button", name="Present these rows").click()
        settle(page)
        expect(page.get_by_role("heading", name="Present")).to_be_visible()
        count = page.locator(".count")
        expect(count).to_have_text(re.compile(r"^1 / \d+$"))
        total = int(count.inner_text().split("/")[1])
        assert total >= 4
        stage = page.locator(".stage img")
        expect(stage).to_have_count(1)
        first = stage.get_attribute("src")
        assert first and first.startswith("data:image/jpeg;base64,")  # the stored original
        page.keyboard.press("ArrowRight")
        expect(count).to_have_text(f"2 / {total}")
        assert stage.get_attribute("src") != first
        page.keyboard.press("Space")
        expect(count).to_have_text(f"3 / {total}")
        page.keyboard.press("ArrowLeft")
        expect(count).to_have_text(f"2 / {total}")
        caption = page.locator(".caption")
        expect(caption).to_contain_text("A lighthouse at dusk")
        page.screenshot(path=str(DOCS / "present.png"))
        page.keyboard.press("c")
        expect(caption).to_be_hidden()
        page.keyboard.press("c")
        expect(caption).to_be_visible()
        page.keyboard.press("f")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not page.evaluate("!!document.fullscreenElement"):
            page.wait_for_timeout(50)
        assert page.evaluate("!!document.fullscreenElement")
        page.keyboard.press("f")
        page.wait_for_timeout(300)
        assert not page.evaluate("!!document.fullscreenElement")
        no_exception(page)
        # The same show on a phone: the slide fits the width, and the counter is there.
        phone = browser.new_context(viewport={"width": 390, "height": 844})
        small = phone.new_page()
        small.set_default_timeout(30_000)
        open_app(small, app.url + "/session_log")
        small.get_by_role("button", name="Present these rows").click()
        settle(small)
        small_count = small.locator(".count")
        expect(small_count).to_have_text(re.compile(r"^1 / \d+$"), timeout=30_000)
        widths = small.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
        assert widths[0] <= widths[1]
        small.screenshot(path=str(DOCS / "present-390.png"))
        phone.close()
    finally:
        context.close()
