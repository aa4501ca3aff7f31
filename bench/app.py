"""App figures: cold start, click-to-image in the browser, bytes for a 4-image grid.

Run: python -m bench.app   (needs Chromium; FLUX_STUDIO_CHROMIUM may point at one)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.table import Figure, median, print_table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))

from playwright.sync_api import sync_playwright  # noqa: E402

from app_process import CHROMIUM_ARGS, chromium_path, start_app  # noqa: E402
from browser import image_sources, open_app, settle, type_prompt  # noqa: E402


def cold_starts(tmp: Path, rounds: int = 3) -> float:
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        app = start_app(tmp / f"cold{i}")
        times.append(time.perf_counter() - started)
        app.stop()
    return median(times)


def _wait_new_image(page, before: set[str], count: int) -> None:
    deadline = time.monotonic() + 30
    while len(image_sources(page) - before) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("image did not appear")
        time.sleep(0.01)
    # Visible means decoded and painted, not just in the DOM.
    page.wait_for_function(
        "srcs => [...document.querySelectorAll('main [data-testid=stImage] img')]"
        ".filter(i => !srcs.includes(i.getAttribute('src')))"
        ".every(i => i.complete && i.naturalWidth > 0)",
        arg=list(before),
    )


def click_to_image(page, url: str, rounds: int = 5) -> float:
    open_app(page, url)
    type_prompt(page, "A glass greenhouse in the rain")
    times = []
    for _ in range(rounds):
        before = image_sources(page)
        started = time.perf_counter()
        page.get_by_role("button", name="Generate").click()
        _wait_new_image(page, before, 1)
        times.append(time.perf_counter() - started)
        settle(page)
    return median(times)


def grid_bytes(page, url: str) -> tuple[float, int]:
    """Everything the browser receives after the click until the 4 cards are shown:
    HTTP bodies (media, scripts) and websocket frames (the page deltas)."""
    received: list[int] = []
    counting = {"on": False}

    def frame(payload) -> None:
        if counting["on"]:
            received.append(len(payload))

    page.on("websocket", lambda ws: ws.on("framereceived", frame))

    def response(r: Any) -> None:
        if counting["on"]:
            received.append(_body_size(r))

    page.on("response", response)
    open_app(page, url + "/?num_images=4")
    type_prompt(page, "Four lanterns over a lake")
    before = image_sources(page)
    counting["on"] = True
    page.get_by_role("button", name="Generate").click()
    _wait_new_image(page, before, 4)
    settle(page)
    counting["on"] = False
    return sum(received) / 1e6, len(received)


def _body_size(response) -> int:
    try:
        return len(response.body())
    except Exception:  # redirects and aborted requests have no body
        return 0


def browser_figures(browser: Any, url: str, rounds: int = 5) -> tuple[float, float, int]:
    """Click -> image (median of `rounds`), then the 4-image grid's megabytes and responses,
    each in a page of its own."""
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.set_default_timeout(30_000)
    click = click_to_image(page, url, rounds)
    page.close()
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    megabytes, responses = grid_bytes(page, url)
    page.close()
    return click, megabytes, responses


def main() -> None:
    path = chromium_path()
    if path is None:
        sys.exit("No Chromium: install Debian's chromium or set FLUX_STUDIO_CHROMIUM.")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cold = cold_starts(tmp)
        app = start_app(tmp / "warm")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
                click, megabytes, responses = browser_figures(browser, app.url)
                browser.close()
        finally:
            app.stop()
    print_table(
        "App in the browser",
        "python -m bench.app",
        [
            Figure("cold start to healthy /_stcore/health (median of 3)", cold, "s", 5),
            Figure(
                "click Generate to image visible, offline latency 0 (median of 5)",
                click,
                "s",
                1.5,
            ),
            Figure(
                "bytes received to show a 4-image grid",
                megabytes,
                "MB",
                1.5,
                f"{responses} responses and websocket frames; thumbnails, not originals",
            ),
        ],
    )


if __name__ == "__main__":
    main()
