"""The studio against the 40-line app (bench/anchor_app.py), side by side in one run: same
stand-in provider (bench/standin.py), same Chromium. Click -> image at latency 0, and 4- and
8-cell comparisons at latency 1.0 s. Each figure is the median of 10 warm rounds (one warm-up
round first) with the spread; the stand-in serves images made before the clock starts.

Also: from the stand-in sending an image's last byte to that image visible in the browser
(the studio downloads it and makes its thumbnail, which the page shows while the original is
saved and the row completed; the anchor's browser loads it).

Run: python -m bench.latency   (needs Chromium; FLUX_STUDIO_CHROMIUM may point at one)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.standin import StandIn
from bench.table import Figure, median, print_table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from app_process import CHROMIUM_ARGS, App, chromium_path, start_app  # noqa: E402
from browser import open_app, settle  # noqa: E402
from components.config import db_path  # noqa: E402
from components.log.store import LogStore  # noqa: E402
from components.sharing.policy import PolicyStore  # noqa: E402

KEY = "sk-bench-not-a-real-key-0000"
ROUNDS = 11  # the first warms Python, Pillow and the browser and is left out
LATENCY = 1.0
PROMPT = "A lighthouse on a cliff at dusk"

# Armed before each click: t0 at the pointer going down, then on every animation frame the
# number of result images (alt "result…") whose src was not on the page before, decoded and
# painted. Placeholders of cells still waiting say "pending" and keep it from counting as done.
_ARM = """
() => {
  window.__before = [...document.querySelectorAll('img')].map(i => i.getAttribute('src'));
  window.__t0 = undefined;
  document.addEventListener('pointerdown', () => { window.__t0 = performance.now() },
    {capture: true, once: true});
}
"""
_DONE = """
count => {
  const fresh = [...document.querySelectorAll('main img[alt^="result"]')]
    .filter(i => !window.__before.includes(i.getAttribute('src')));
  const shown = fresh.filter(i => i.complete && i.naturalWidth > 0).length;
  const waiting = document.querySelectorAll('main img[alt="pending"]').length;
  if (shown >= count && waiting === 0) {
    window.__t1 = performance.now();
    window.__wall = performance.timeOrigin + window.__t1;
    return true;
  }
  return false;
}
"""


def _round(page: Page, button: str, count: int, standin: StandIn) -> tuple[float, float]:
    """Seconds from the click to all `count` new images visible, and from the stand-in's
    last byte of this round's images to that moment."""
    before = set(standin.sent)
    page.evaluate(_ARM)
    page.get_by_role("button", name=button).click()
    page.wait_for_function(_DONE, arg=count, polling="raf", timeout=60_000)
    t0, t1, wall = page.evaluate("() => [window.__t0, window.__t1, window.__wall]")
    sent = [t for k, t in standin.sent.items() if k not in before]
    last_byte = max(sent) if sent else float("nan")
    settle(page)  # the studio's judging view follows; a person would wait for it too
    return (t1 - t0) / 1000, wall / 1000 - last_byte


def _studio(tmp: Path, standin: StandIn) -> App:
    data = tmp / "data"
    data.mkdir(parents=True)
    # A budget that lasts the bench: it pays list price per image against the stand-in.
    PolicyStore(LogStore(db_path(data))).save(studio_budget_usd=1000.0, concurrency=8)
    return start_app(
        tmp,
        AIMLAPI_API_KEY=KEY,
        AIMLAPI_BASE_URL=standin.url,
        FLUX_STUDIO_REUSE="0",
        FLUX_STUDIO_CONCURRENCY="8",
    )


def _studio_rounds(page: Page, app: App, standin: StandIn, cells: int) -> list[tuple]:
    if cells == 1:
        open_app(page, app.url)
        area = page.get_by_role("textbox", name="Prompt")
        area.fill(PROMPT)
        area.press("Tab")
        settle(page)
        return [_round(page, "Generate", 1, standin) for _ in range(ROUNDS)]
    open_app(page, app.url + "/compare")
    area = page.get_by_role("textbox", name="Prompt")
    area.fill(PROMPT)
    area.press("Tab")
    settle(page)
    box = page.get_by_role("spinbutton", name="How many")
    box.fill(str(cells))
    box.press("Tab")
    settle(page)
    page.get_by_text(f"{cells} images · estimated").wait_for()
    return [_round(page, "Run comparison", cells, standin) for _ in range(ROUNDS)]


def _anchor_rounds(page: Page, app: App, standin: StandIn, cells: int) -> list[tuple]:
    open_app(page, f"{app.url}/?n={cells}")
    return [_round(page, "Generate", cells, standin) for _ in range(ROUNDS)]


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
    path = chromium_path()
    if path is None:
        sys.exit("No Chromium: install Debian's chromium or set FLUX_STUDIO_CHROMIUM.")
    standin = StandIn()
    results: dict[tuple[str, int], list[tuple]] = {}
    with tempfile.TemporaryDirectory() as tmp_name, sync_playwright() as p:
        tmp = Path(tmp_name)
        studio = _studio(tmp / "studio", standin)
        anchor = start_app(
            tmp / "anchor", script="bench/anchor_app.py", AIMLAPI_API_KEY=KEY,
            AIMLAPI_BASE_URL=standin.url,
        )  # fmt: skip
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            for cells, latency in ((1, 0.0), (4, LATENCY), (8, LATENCY)):
                standin.latency = latency
                for name, app, rounds in (
                    ("studio", studio, _studio_rounds),
                    ("anchor", anchor, _anchor_rounds),
                ):
                    page = browser.new_page(viewport={"width": 1500, "height": 1000})
                    page.set_default_timeout(30_000)
                    results[(name, cells)] = rounds(page, app, standin, cells)[1:]
                    print(name, cells, [f"{t:.2f}" for t, _ in results[(name, cells)]])
                    page.close()
                    time.sleep(0.5)
        finally:
            browser.close()
            studio.stop()
            anchor.stop()
            standin.stop()
    figures = []
    for cells, latency, target in ((1, 0.0, None), (4, LATENCY, 0.15), (8, LATENCY, 0.3)):
        ours = [t for t, _ in results[("studio", cells)]]
        theirs = [t for t, _ in results[("anchor", cells)]]
        what = "click Generate -> image" if cells == 1 else f"{cells}-cell compare -> last cell"
        limit = median(theirs) + 0.07 if target is None else latency + target
        figures.append(
            Figure(
                f"{what}, latency {latency:g} s: studio",
                median(ours),
                "s",
                round(limit, 2),
                f"spread {_spread(ours)}; {median(ours) / median(theirs):.2f}x the 40-line app",
            )
        )
        anchor_name = f"{what}, latency {latency:g} s: 40-line app"
        figures.append(Figure(anchor_name, median(theirs), "s", None, f"spread {_spread(theirs)}"))
    for cells in (1, 4, 8):
        arrivals = [a for _, a in results[("studio", cells)]]
        figures.append(
            Figure(
                f"studio, {cells} image(s): provider's last byte sent -> image visible",
                median(arrivals),
                "s",
                0.15,
                f"spread {_spread(arrivals)}; p90 {statistics.quantiles(arrivals, n=10)[-1]:.2f} s",
            )
        )
    print_table("The studio against a 40-line app", "python -m bench.latency", figures)


if __name__ == "__main__":
    main()
