"""Ctrl+Enter in the prompt generates, as the button's hint promises."""

from __future__ import annotations

from browser import no_exception, open_app, settle, wait_for_new_images
from components.log.store import LogStore


def test_ctrl_enter_in_the_prompt_generates(app, page):
    open_app(page, app.url)
    area = page.get_by_role("textbox", name="Prompt")
    area.fill("A red kite over green dunes")
    # The live count comes from the same in-page script that handles the shortcut: once it
    # counts what was typed, the shortcut is armed.
    page.get_by_text("27 / 4,000 characters").wait_for()
    area.press("Control+Enter")
    wait_for_new_images(page, set(), count=1)
    settle(page)
    assert area.input_value() == "A red kite over green dunes"
    page.get_by_text("A red kite over green dunes").first.wait_for()
    page.wait_for_timeout(1000)
    rows = LogStore(app.data_dir / "studio.db").query()
    assert len(rows) == 1  # one keystroke, one request: never a double submit
    assert rows.iloc[0]["prompt"] == "A red kite over green dunes"
    no_exception(page)
