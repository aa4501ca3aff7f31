"""Several people at once, one browser context each: what every tab received (each websocket
frame) and showed, and waits that follow the app's own signals rather than fixed sleeps.

Shared by the browser tests where people act together (sharing, votes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, Page, expect

from browser import no_exception

SIDEBAR = "section[data-testid=stSidebar]"
NAV = '[data-testid="stSidebarNav"]'
APP, SCRIPT_STATE = '[data-testid="stApp"]', "data-test-script-state"


def frame_text(payload) -> str:
    if isinstance(payload, bytes | bytearray):
        return payload.decode("latin-1")
    if isinstance(payload, dict):  # older Playwright shapes
        payload = payload.get("payload", "")
    return str(payload)


@dataclass
class Person:
    """One tab, with every websocket frame it received and sent and the HTML it showed."""

    name: str
    context: BrowserContext
    page: Page
    received: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    seen_html: list[str] = field(default_factory=list)

    def snapshot(self) -> None:
        self.seen_html.append(self.page.content())


def watched_tab(name: str, context: BrowserContext) -> Person:
    """A page of its own in `context` (a second tab shares the first's storage), watched."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    person = Person(name, context, page)

    def watch(ws) -> None:
        ws.on("framereceived", lambda payload: person.received.append(frame_text(payload)))
        ws.on("framesent", lambda payload: person.sent.append(frame_text(payload)))

    page.on("websocket", watch)
    return person


def wait_run(person: Person, frames_before: int, start_within: float = 1.5) -> None:
    """Wait for the rerun an action started: the server's frames first (none within
    `start_within`: nothing ran), then `wait_quiet`. Faster than `browser.settle`, which waits
    1.5 s for a status widget that a short run never shows. Playwright delivers websocket
    events only while it waits, hence wait_for_timeout rather than time.sleep."""
    deadline = time.monotonic() + start_within
    while len(person.received) == frames_before:
        if time.monotonic() > deadline:
            return
        person.page.wait_for_timeout(25)
    wait_quiet(person)


def wait_quiet(person: Person, timeout: float = 30) -> None:
    """The page is not running and no frame came for a quarter of a second."""
    page = person.page
    seen, quiet, end = len(person.received), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < end:
        page.wait_for_timeout(50)
        now = time.monotonic()
        if len(person.received) != seen:
            seen, quiet = len(person.received), now
        elif now - quiet >= 0.25 and page.locator(APP).get_attribute(SCRIPT_STATE) == "notRunning":
            return
    raise AssertionError(f"{person.name}'s page kept running for {timeout:g} s")


def act(person: Person, action: Callable[[], object]) -> None:
    before = len(person.received)
    action()
    wait_run(person, before)


def visit(person: Person, url: str) -> None:
    before = len(person.received)
    person.page.goto(url)
    person.page.wait_for_selector('[data-testid="stAppViewContainer"]')
    wait_run(person, before, start_within=10)


def go(person: Person, link: str) -> None:
    """Through the sidebar; every page's title is its link's name."""
    act(person, person.page.locator(SIDEBAR).get_by_role("link", name=link).click)
    expect(person.page.get_by_role("heading", name=link, exact=True)).to_be_visible()
    no_exception(person.page)
