"""Compare figures: an 8-cell grid in the browser, from the click to the last cell visible.

The app runs on the offline backend with 1.0 s latency per request. At concurrency 8 all eight
cells are in flight together, so the grid should fill in about one latency (target ≤ 1.5 s);
one after another (concurrency 1) it takes eight.

Run: python -m bench.compare   (needs Chromium; FLUX_STUDIO_CHROMIUM may point at one)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.table import Figure, median, print_table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from app_process import CHROMIUM_ARGS, chromium_path, start_app  # noqa: E402
from browser import open_app, settle  # noqa: E402

LATENCY = "1.0"
CELLS = 8
ROUNDS = 11

# Runs in the page on every animation frame. Each comparison's grid is a container keyed by
# its group id (class st-key-cmp_grid_<id>); the run under test is the grid whose key was not
# on the page before the click, so the previous run's results, which linger a moment, never
# count. Done: every cell of that grid holds a decoded result image and nothing is waiting.
_WATCH = """
cells => {
  const key = el => el.className.match(/st-key-cmp_grid_[\\w-]+/)[0];
  const grid = [...document.querySelectorAll('[class*="st-key-cmp_grid_"]')]
    .find(el => !window.__old.includes(key(el)));
  if (!grid) return false;
  const waiting = grid.querySelectorAll('img[alt="pending"]').length;
  const shown = [...grid.querySelectorAll('img[alt^="result"]')]
    .filter(img => img.complete && img.naturalWidth > 0).length;
  if (shown > 0 && window.__first === undefined) window.__first = performance.now();
  if (shown >= cells && waiting === 0) { window.__last = performance.now(); return true; }
  return false;
}
"""


def setup_grid(page: Page, url: str, seed: int | None) -> None:
    """Grid mode: four aspect ratios (X) by raw off/on (Y), one shared seed: 8 cells."""
    open_app(page, url)
    page.get_by_role("link", name="Compare").click()
    settle(page)
    page.get_by_role("radio", name="Grid").click()
    settle(page)
    prompt = page.get_by_role("textbox", name="Prompt (a template)")
    prompt.fill("A lighthouse on a cliff at dusk")
    prompt.press("Tab")
    settle(page)
    for ratio in ("9:16", "21:9"):
        page.get_by_role("combobox", name="X aspect ratios").click()
        page.get_by_role("option", name=ratio, exact=True).click()
        page.keyboard.press("Escape")
        settle(page)
    page.get_by_role("combobox", name="Y axis (rows)").click()
    page.get_by_role("option", name="raw mode", exact=True).click()
    settle(page)
    if seed is not None:
        box = page.get_by_role("spinbutton", name="Seed for every cell")
        box.fill(str(seed))
        box.press("Tab")
        settle(page)
    page.get_by_text(f"{CELLS} images · offline demo").wait_for()


def one_run(page: Page) -> tuple[float, float]:
    """Seconds from the click to the first and to the last cell visible."""
    page.evaluate(
        "() => { window.__first = undefined;"
        " window.__old = [...document.querySelectorAll('[class*=\"st-key-cmp_grid_\"]')]"
        "   .map(el => el.className.match(/st-key-cmp_grid_[\\w-]+/)[0]);"
        " window.__last = undefined; window.__t0 = undefined;"
        " document.addEventListener('pointerdown', () => { window.__t0 = performance.now() },"
        " {capture: true, once: true}); }"
    )
    page.get_by_role("button", name="Run comparison").click()
    page.wait_for_function(_WATCH, arg=CELLS, polling="raf", timeout=60_000)
    first, last = page.evaluate("() => [window.__first - window.__t0, window.__last - window.__t0]")
    # The judging view follows the complete grid a moment later; wait for it before the
    # next round, as a person would.
    page.get_by_role("button", name="Contact sheet (PNG)").wait_for()
    settle(page)
    return first / 1000, last / 1000


def measure(concurrency: int, rounds: int, seed: int | None) -> list[tuple[float, float]]:
    """With a seed every round asks for the same pictures, which the offline backend has
    cached after round 1; without one each round draws a new seed and the backend renders
    eight 4-megapixel pictures in this machine's CPU, inside the app's own process."""
    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(
            Path(tmp),
            FLUX_STUDIO_OFFLINE_LATENCY=LATENCY,
            FLUX_STUDIO_CONCURRENCY=str(concurrency),
            FLUX_STUDIO_REUSE="0",  # every round is sent: a repeat would come from the log
        )
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                page.set_default_timeout(30_000)
                setup_grid(page, app.url, seed)
                results = [one_run(page) for _ in range(rounds)]
                browser.close()
        finally:
            app.stop()
    return results


def _rows(label: str, concurrency: int, results: list[tuple[float, float]]) -> None:
    for i, (first, last) in enumerate(results, 1):
        print(f"| {label} | {concurrency} | {i} | {first:.2f} s | {last:.2f} s |")


def main() -> None:
    if chromium_path() is None:
        raise SystemExit("No Chromium found (set FLUX_STUDIO_CHROMIUM).")
    cached = measure(8, ROUNDS, seed=4242)
    rendered = measure(8, 6, seed=None)
    serial = measure(1, 2, seed=4242)
    print("| pictures | concurrency | round | first cell | last cell |")
    print("|---|---|---|---|---|")
    _rows("cached (seed 4242)", 8, cached)
    _rows("rendered (new seed)", 8, rendered)
    _rows("cached (seed 4242)", 1, serial)
    print()
    warm = cached[1:]  # round 1 renders the pictures and warms Python, Pillow, the browser
    print_table(
        "Compare in the browser",
        "python -m bench.compare",
        [
            Figure(
                f"8-cell grid, concurrency 8, latency {LATENCY} s: click to last cell "
                f"visible (median of rounds 2-{ROUNDS})",
                median([last for _, last in warm]),
                "s",
                1.5,
                "pictures cached by the offline backend",
            ),
            Figure(
                "same, a new seed each round (median of all rounds)",
                median([last for _, last in rendered]),
                "s",
                None,
                "the offline backend also draws 8 x 4 MP beside the app, on the same 2 cores",
            ),
            Figure(
                "same grid one after another (concurrency 1, round 2)",
                serial[-1][1],
                "s",
                None,
                "for scale: about 8 latencies",
            ),
        ],
    )


if __name__ == "__main__":
    main()
