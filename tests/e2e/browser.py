"""What every browser test does: open a page, wait for a rerun, assert no traceback."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

EXCEPTION = '[data-testid="stException"]'
RUNNING = '[data-testid="stStatusWidget"]'


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stAppViewContainer"]')
    settle(page)


def settle(page: Page, timeout: float = 20.0) -> None:
    """Wait until a script run has started (or ~1.5 s passed) and then finished."""
    status = page.locator(RUNNING)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and status.count() == 0:
        time.sleep(0.05)
    expect(status).to_have_count(0, timeout=timeout * 1000)


def no_exception(page: Page) -> None:
    expect(page.locator(EXCEPTION)).to_have_count(0)


def image_sources(page: Page, scope: str = "main") -> set[str]:
    return set(
        page.locator(f'{scope} [data-testid="stImage"] img').evaluate_all(
            "els => els.map(e => e.getAttribute('src'))"
        )
    )


def wait_for_new_images(
    page: Page, before: set[str], count: int = 1, timeout: float = 30
) -> set[str]:
    """New content means a new image src (a data: URL for a fresh picture, a /media URL after);
    old images linger in the DOM during a rerun."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = image_sources(page) - before
        if len(fresh) >= count:
            return fresh
        time.sleep(0.1)
    raise AssertionError(f"expected {count} new image(s); have {image_sources(page) - before}")


def type_prompt(page: Page, text: str) -> None:
    area = page.get_by_role("textbox", name="Prompt")
    area.fill(text)
    area.press("Tab")  # commit the value before clicking a button
    settle(page)
