"""A link to a page, opened first after the server starts, still gets the app's frame."""

from __future__ import annotations

from playwright.sync_api import expect

from app_process import start_app
from browser import no_exception, open_app


def test_first_visit_to_a_deep_link_gets_the_frame(page, tmp_path):
    fresh = start_app(tmp_path)  # a new server: this is its very first session
    try:
        open_app(page, fresh.url + "/settings")
        expect(page.get_by_role("heading", name="Settings")).to_be_visible()
        expect(
            page.locator("section[data-testid=stSidebar]").get_by_text("Offline demo backend")
        ).to_be_visible()
        expect(page.get_by_role("link", name="Session log")).to_be_visible()
        assert page.url.endswith("/settings")
        no_exception(page)
    finally:
        fresh.stop()
