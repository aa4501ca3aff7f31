"""Sharing the studio: a presenter signs in with their passcode, opens generating to viewers
within a small daily budget, and viewers come in with the viewer passcode the Sharing page
shows. Checked in Chromium with one browser context per person, against one app and a
stand-in provider that reports a cost for every image.

The tests run in order and share the studio (one app for the module): the budget spent in the
first is what the second finds used up, and so on.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from people import NAV, SIDEBAR, Person, act, go, visit, wait_quiet, wait_run, watched_tab
from playwright.sync_api import Browser, Page, expect

from app_process import ROOT, App, start_app
from browser import image_sources, no_exception
from components.log.store import LogStore
from components.offline.server import OfflineBackend
from components.sharing.policy import PolicyStore
from components.ui.access import HEARTBEAT_S

PRESENTER_PASSCODE = "e2e presenter passphrase 7c1d-93ab"
API_KEY = "sk-e2e-SHARE-5f0e9d8c7b6a4321"
VIEWER_CODE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")
VIEWER_LABEL = re.compile(r"^Viewer ([0-9a-f]{4})$")
CONNECTED = re.compile(r"(\d+) tab\(s\) open, (\d+) of them viewers'")
GENERATE_SWITCH = "Viewers may generate and compare"
EXPORT_SWITCH = "Viewers may export the log and comparisons"
SCREENSHOT = ROOT / "docs" / "sharing-presenter.png"


@dataclass
class Studio:
    app: App
    browser: Browser
    people: list[Person] = field(default_factory=list)
    viewers: list[Person] = field(default_factory=list)
    presenter: Person | None = None
    done: set[str] = field(default_factory=set)  # the steps (tests) that have passed

    def after(self, step: str) -> None:
        """The tests continue one story: each needs the one before it to have passed."""
        if step not in self.done:
            pytest.skip(f"needs {step} to pass first (run the whole module)")

    def join(self, name: str, width: int = 1400, height: int = 1000) -> Person:
        context = self.browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        person = watched_tab(name, context)
        self.people.append(person)
        return person

    def log_rows(self):
        with LogStore(self.app.data_dir / "studio.db") as store:
            return store.query(columns=["id", "made_by", "status", "prompt"])

    def policy(self):
        with LogStore(self.app.data_dir / "studio.db") as store:
            return PolicyStore(store).load()


@pytest.fixture(scope="module")
def provider() -> Iterator[OfflineBackend]:
    with OfflineBackend(latency=1.0) as backend:
        yield backend


@pytest.fixture(scope="module")
def studio(tmp_path_factory, provider, browser) -> Iterator[Studio]:
    app = start_app(
        tmp_path_factory.mktemp("sharing"),
        FLUX_STUDIO_PASSCODE=PRESENTER_PASSCODE,
        AIMLAPI_API_KEY=API_KEY,
        AIMLAPI_BASE_URL=provider.base_url,
    )
    studio = Studio(app, browser)
    try:
        yield studio
    finally:
        for person in studio.people:
            person.context.close()
        app.stop()


# --- what people do -------------------------------------------------------------------------


def sign_in(person: Person, passcode: str) -> None:
    """On the sign-in page: type the passcode and press Sign in."""
    page = person.page
    not_found = page.get_by_role("dialog").filter(has_text="Page not found")
    if not_found.count():
        page.keyboard.press("Escape")
        expect(not_found).to_have_count(0)
    page.get_by_label("Passcode").fill(passcode)
    act(person, page.get_by_role("button", name="Sign in").click)


def signed_in(page: Page) -> None:
    expect(page.locator(SIDEBAR).get_by_role("button", name="Sign out")).to_be_visible()
    no_exception(page)


def open_and_sign_in(person: Person, url: str, passcode: str) -> None:
    visit(person, url)
    page = person.page
    expect(page.get_by_label("Passcode")).to_be_visible()  # everybody signs in, even here
    expect(page.locator(NAV)).to_have_count(0)  # and nothing of the studio shows before
    sign_in(person, passcode)
    signed_in(page)


def viewer_label(page: Page) -> str:
    """The sidebar's "Viewer 3f2a": the first four hex digits of the viewer's id."""
    label = page.locator(SIDEBAR).get_by_text(VIEWER_LABEL)
    expect(label).to_be_visible()
    return VIEWER_LABEL.match(label.inner_text().strip()).group(1)


def open_tab(person: Person, name: str) -> None:
    tab = person.page.get_by_role("tab", name=name)
    act(person, tab.click)
    expect(tab).to_have_attribute("aria-selected", "true")


def type_prompt(person: Person, text: str) -> None:
    area = person.page.get_by_role("textbox", name="Prompt")
    area.fill(text)
    act(person, lambda: area.press("Tab"))  # commit the value before clicking a button


def shown_viewer_passcode(page: Page) -> str:
    code = page.locator('[data-testid="stCode"]').filter(has_text=VIEWER_CODE)
    expect(code).to_have_count(1)
    return code.inner_text().strip()


def switch_on(person: Person, label: str) -> None:
    switch = person.page.get_by_role("switch", name=label)
    if not switch.is_checked():
        # The input itself is visually hidden inside its label.
        act(person, lambda: switch.click(force=True))
    expect(switch).to_be_checked()
    no_exception(person.page)


def save_budgets(person: Person, studio_usd: str, viewer_usd: str) -> None:
    page = person.page
    for name, value in (
        ("Studio budget per day (USD)", studio_usd),
        ("Each viewer's budget per day (USD)", viewer_usd),
    ):
        box = page.get_by_role("spinbutton", name=name)
        box.fill(value)
        box.press("Tab")
    act(person, page.get_by_role("button", name="Save budgets").click)
    expect(page.get_by_text("Budgets saved")).to_be_visible()
    no_exception(page)


def refusal(page: Page):
    return page.locator('[data-testid="stAlert"]').filter(has_text="Nothing was sent")


def outcome(page: Page, before: set[str], timeout: float = 30) -> str:
    """ "image" once a new image shows, "refused" once the page says nothing was sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if image_sources(page) - before:
            return "image"
        if refusal(page).count():
            return "refused"
        page.wait_for_timeout(50)
    raise AssertionError("the click led to neither a new image nor a refusal")


def viewer_has_no_settings(page: Page) -> None:
    nav = page.locator(NAV)
    expect(nav.get_by_role("link", name="Generate")).to_be_visible()
    expect(nav.get_by_role("link", name="Session log")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    expect(nav.get_by_role("link", name="Sharing")).to_have_count(0)


# --- the tests ------------------------------------------------------------------------------


def test_presenter_opens_generating_and_the_budget_admits_one_of_two_viewers(studio):
    """The presenter opens generating with a $0.10 studio budget; two viewers click Generate
    at once, and only one run ($0.06) fits: one gets an image, the other a refusal."""
    app = studio.app
    presenter = studio.presenter = studio.join("presenter", 1440, 900)
    open_and_sign_in(presenter, app.url, PRESENTER_PASSCODE)
    expect(presenter.page.locator(SIDEBAR).get_by_text("Presenter", exact=True)).to_be_visible()
    go(presenter, "Sharing")
    passcode = shown_viewer_passcode(presenter.page)
    switch_on(presenter, GENERATE_SWITCH)
    save_budgets(presenter, "0.10", "1.00")
    rules = studio.policy()
    assert rules.viewers_may_generate and not rules.viewers_may_export
    assert (rules.studio_budget_usd, rules.viewer_budget_usd) == (0.10, 1.00)
    assert rules.viewer_passcode == passcode
    presenter.snapshot()

    # Two viewers come in with the passcode they were shown.
    one, two = studio.join("viewer 1"), studio.join("viewer 2")
    studio.viewers += [one, two]
    open_and_sign_in(one, app.url, passcode)
    viewer_has_no_settings(one.page)
    # The second follows a link to Settings: that page is not theirs, listed or not.
    visit(two, app.url + "/settings")
    sign_in(two, passcode)
    signed_in(two.page)
    viewer_has_no_settings(two.page)
    expect(two.page.get_by_role("button", name="Save settings")).to_have_count(0)
    expect(two.page.get_by_role("heading", name="Settings")).to_have_count(0)
    expect(two.page.get_by_label("API key")).to_have_count(0)
    expect(two.page.get_by_role("heading", name="Generate", exact=True)).to_be_visible()
    labels = [viewer_label(v.page) for v in (one, two)]
    assert labels[0] != labels[1]

    # Both generate at (nearly) the same moment.
    for number, viewer in enumerate((one, two), 1):
        type_prompt(viewer, f"Viewer {number}'s harbour at dawn, watercolour")
        expect(viewer.page.get_by_role("button", name="Generate")).to_be_enabled()
    before = [image_sources(v.page) for v in (one, two)]
    buttons = [v.page.get_by_role("button", name="Generate") for v in (one, two)]
    for button in buttons:
        button.click()
    results = [outcome(v.page, b) for v, b in zip((one, two), before, strict=True)]
    for viewer in (one, two):
        wait_quiet(viewer)
        no_exception(viewer.page)
        viewer.snapshot()
    assert sorted(results) == ["image", "refused"], results
    winner, loser = (one, two) if results[0] == "image" else (two, one)
    refused = refusal(loser.page)
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("budget")
    expect(refused).to_contain_text("$0.10")  # the studio's limit, named in the refusal
    expect(refusal(winner.page)).to_have_count(0)

    # Exactly one request reached the log, made by the viewer who got the image.
    rows = studio.log_rows()
    assert len(rows) == 1, rows
    made_by = rows["made_by"].iloc[0]
    assert made_by.startswith("viewer-" + viewer_label(winner.page)), made_by
    assert rows["status"].iloc[0] == "ok"
    assert "harbour at dawn" in rows["prompt"].iloc[0]

    # The presenter sees the viewers connected and what the day has cost.
    go(presenter, "Generate")
    expect(presenter.page.locator(SIDEBAR).get_by_text("$0.06")).to_be_visible()
    go(presenter, "Sharing")
    caption = presenter.page.get_by_text(CONNECTED)
    expect(caption).to_be_visible()
    tabs, viewers = map(int, CONNECTED.search(caption.inner_text()).groups())
    assert viewers >= 2 and tabs >= viewers + 1, caption.inner_text()
    spent = presenter.page.get_by_text(re.compile(r"Spent or on its way today: \$0\.06 of"))
    expect(spent).to_be_visible()
    no_exception(presenter.page)
    presenter.snapshot()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    presenter.page.screenshot(path=str(SCREENSHOT), full_page=True)
    studio.done.add("budget")


def test_a_viewer_who_reloads_comes_back_new_but_the_studio_budget_holds(studio):
    """Reloading makes a new viewer with a fresh budget of their own, but the studio's day
    is spent: the next Generate sends nothing, for them and for a newcomer."""
    studio.after("budget")
    app, passcode = studio.app, studio.policy().viewer_passcode
    spender = next(v for v in studio.viewers if image_sources(v.page))
    old_label = viewer_label(spender.page)

    before = len(spender.received)
    spender.page.reload()
    wait_run(spender, before, start_within=10)
    expect(spender.page.get_by_label("Passcode")).to_be_visible()  # the sign-in is per tab
    sign_in(spender, passcode)
    signed_in(spender.page)
    assert viewer_label(spender.page) != old_label
    sidebar = spender.page.locator(SIDEBAR)
    expect(sidebar.get_by_text(re.compile(r"Budget left today: \$0\.04"))).to_be_visible()

    newcomer = studio.join("viewer 3")
    studio.viewers.append(newcomer)
    open_and_sign_in(newcomer, app.url, passcode)

    for number, viewer in enumerate((spender, newcomer), 1):
        type_prompt(viewer, f"Attempt {number} after the budget ran out")
        act(viewer, viewer.page.get_by_role("button", name="Generate").click)
        expect(refusal(viewer.page)).to_contain_text("studio's budget for today")
        no_exception(viewer.page)
        viewer.snapshot()
    assert len(studio.log_rows()) == 1


def test_a_viewer_exports_only_when_allowed_and_never_deletes(studio):
    """Exports are the presenter's until they allow them; deleting rows stays theirs."""
    studio.after("budget")
    presenter, viewer = studio.presenter, studio.viewers[-1]
    page = viewer.page
    go(viewer, "Session log")
    open_tab(viewer, "Import & export")
    expect(page.get_by_text("Exporting is the presenter's here.")).to_be_visible()
    expect(page.get_by_text("Importing rows is the presenter's.")).to_be_visible()
    expect(page.locator('[data-testid="stDownloadButton"]')).to_have_count(0)
    expect(page.locator('[data-testid="stFileUploader"]')).to_have_count(0)
    no_exception(page)

    # The presenter allows exports; the viewer's next click shows the download.
    switch_on(presenter, EXPORT_SWITCH)
    assert studio.policy().viewers_may_export
    open_tab(viewer, "Table")
    open_tab(viewer, "Import & export")
    download = page.locator('[data-testid="stDownloadButton"] button').filter(
        has_text="Download CSV"
    )
    expect(download).to_be_visible()
    expect(page.get_by_text("Exporting is the presenter's here.")).to_have_count(0)
    with page.expect_download() as info:
        download.click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert len(rows) == 1 and "harbour at dawn" in rows[0]["prompt"]
    expect(page.get_by_text("Importing rows is the presenter's.")).to_be_visible()
    no_exception(page)

    # The row can be selected and reused, but its Delete button is the presenter's.
    open_tab(viewer, "Table")
    grid = page.locator('[class*="st-key-log_table_"] [data-testid="stDataFrame"]')
    grid.wait_for()
    box = grid.bounding_box()
    assert box is not None
    act(viewer, lambda: page.mouse.click(box["x"] + 18, box["y"] + 36 + 22))  # first row's box
    expect(page.get_by_text("1 row selected")).to_be_visible()
    expect(page.get_by_role("button", name="Re-run in Generate")).to_be_enabled()
    expect(page.get_by_role("button", name=re.compile(r"^Delete 1 row"))).to_be_disabled()
    expect(page.get_by_role("button", name="Delete for good")).to_have_count(0)
    no_exception(page)
    viewer.snapshot()
    assert len(studio.log_rows()) == 1


def test_a_new_passcode_signs_viewers_out_and_only_the_new_one_works(studio):
    """A new viewer passcode: the viewer who clicks meets the sign-in page at once, the
    viewers who only watch within a heartbeat; the old passcode is refused, the new works."""
    studio.after("budget")
    presenter, viewer = studio.presenter, studio.viewers[-1]
    go(presenter, "Sharing")
    old = shown_viewer_passcode(presenter.page)
    rotate = presenter.page.get_by_role("button", name="New passcode (signs every viewer out)")
    act(presenter, rotate.click)
    expect(presenter.page.get_by_text("every viewer was signed out")).to_be_visible()
    new = shown_viewer_passcode(presenter.page)
    assert new != old and studio.policy().viewer_passcode == new
    no_exception(presenter.page)

    # The viewer's next click meets the sign-in page, saying why.
    act(viewer, viewer.page.locator(SIDEBAR).get_by_role("link", name="Generate").click)
    page = viewer.page
    expect(page.get_by_text(re.compile("changed the viewer passcode"))).to_be_visible()
    expect(page.get_by_label("Passcode")).to_be_visible()
    expect(page.locator(NAV)).to_have_count(0)
    no_exception(page)

    sign_in(viewer, old)
    expect(page.get_by_text("Wrong passcode")).to_be_visible()
    expect(page.locator(SIDEBAR).get_by_role("button", name="Sign out")).to_have_count(0)
    sign_in(viewer, new.lower().replace("-", " "))  # typed on a phone, as it is read out
    signed_in(page)
    viewer_label(page)
    viewer_has_no_settings(page)
    viewer.snapshot()

    # The presenter stays signed in.
    go(presenter, "Generate")
    expect(presenter.page.locator(SIDEBAR).get_by_text("Presenter", exact=True)).to_be_visible()

    # Viewers who only watch are signed out too, by the heartbeat (every HEARTBEAT_S).
    for idle in studio.viewers[:-1]:
        note = idle.page.get_by_text(re.compile("changed the viewer passcode"))
        expect(note).to_be_visible(timeout=(HEARTBEAT_S + 10) * 1000)
        expect(idle.page.locator(NAV)).to_have_count(0)
        no_exception(idle.page)
        idle.snapshot()


def test_no_page_ever_received_the_key_or_the_presenter_passcode(studio):
    """Every tab of the module: the key never reached a browser, and the presenter's
    passcode only ever went from the presenter's browser to the server, never back."""
    studio.after("budget")
    presenter = studio.presenter
    go(presenter, "Settings")
    presenter.snapshot()
    assert len(studio.people) >= 4
    for person in studio.people:
        person.snapshot()
        html = "\n".join(person.seen_html)
        received, sent = "\n".join(person.received), "\n".join(person.sent)
        assert received and sent, f"no websocket frames captured for {person.name}"
        for secret in (API_KEY, API_KEY[:-4], PRESENTER_PASSCODE):
            assert secret not in html, (person.name, secret)
            assert secret not in received, (person.name, secret)
            assert secret not in person.page.url
        assert API_KEY[:-4] not in sent, person.name
        if person is not presenter:
            assert PRESENTER_PASSCODE not in sent, person.name


def test_a_deep_link_survives_the_sign_in(studio):
    """A shared link to a page shows the sign-in (not "page not found") and, once signed in,
    the page it pointed at."""
    guest = studio.join("presenter, second tab")
    visit(guest, studio.app.url + "/session_log")
    page = guest.page
    expect(page.get_by_label("Passcode")).to_be_visible()
    expect(page.get_by_role("dialog").filter(has_text="Page not found")).to_have_count(0)
    sign_in(guest, PRESENTER_PASSCODE)
    signed_in(page)
    expect(page.get_by_role("heading", name="Session log", exact=True)).to_be_visible()
    assert page.url.rstrip("/").endswith("/session_log")
