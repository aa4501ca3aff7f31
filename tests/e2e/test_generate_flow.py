"""A new user with no key: open, type, generate, see, download, reuse the seed."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image

from browser import (
    image_sources,
    no_exception,
    open_app,
    settle,
    type_prompt,
    wait_for_new_images,
)
from components.images.store import read_params


def test_new_user_generates_downloads_and_reuses_the_seed(app, page):
    open_app(page, app.url)
    page.get_by_text("Offline demo.").wait_for()
    type_prompt(page, "A lighthouse in a storm, oil painting")
    page.get_by_role("button", name="Generate").click()
    wait_for_new_images(page, set(), count=1)
    settle(page)
    no_exception(page)
    caption = page.get_by_text(re.compile(r"^seed \d+ · \d+\.\d s")).first.inner_text()
    seed = int(re.match(r"seed (\d+)", caption).group(1))

    with page.expect_download() as info:
        page.locator('[data-testid="stDownloadButton"] button').first.click()
    data = Path(info.value.path()).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (2752, 1536) and img.format == "JPEG"
    params = read_params(data)
    assert params["seed"] == seed and params["prompt"] == "A lighthouse in a storm, oil painting"

    page.get_by_role("button", name="Reuse seed").first.click()
    settle(page)
    assert page.get_by_role("spinbutton", name="Seed").input_value() == str(seed)
    assert f"seed={seed}" in page.url
    no_exception(page)


def test_form_and_results_survive_a_page_switch(app, page):
    open_app(page, app.url)
    type_prompt(page, "A paper boat on a puddle")
    page.get_by_role("spinbutton", name="Seed").fill("4242")
    page.get_by_role("spinbutton", name="Seed").press("Enter")
    settle(page)
    page.get_by_role("button", name="Generate").click()
    shown = wait_for_new_images(page, set(), count=1)
    settle(page)
    page.get_by_role("link", name="Settings").first.click()
    page.get_by_text("Data folder").wait_for()
    settle(page)
    page.get_by_role("link", name="Generate").first.click()
    settle(page)
    assert page.get_by_role("textbox", name="Prompt").input_value() == "A paper boat on a puddle"
    assert page.get_by_role("spinbutton", name="Seed").input_value() == "4242"
    page.get_by_text(re.compile(r"^seed 4242 · \d+\.\d s")).first.wait_for()
    assert len(image_sources(page)) >= len(shown)
    no_exception(page)
