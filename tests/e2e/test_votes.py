"""Votes: the presenter starts a blind vote from a 4-image comparison, three people vote on it
at the same time from their own browsers (one a phone), one of them twice on the same pair
from two tabs, and the count is exact. A voter's page never receives what an image was (its
prompt, seed or parameters), and the vote link opens the vote and nothing else, whatever page
address it is put on. Checked in Chromium with one browser context per person, against one app
on the offline demo backend.

The tests run in order and share the app (one for the module): the vote started in the first
is the one voted on, searched and revealed in the next.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from people import NAV, SIDEBAR, Person, act, go, visit, wait_quiet, wait_run, watched_tab
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app_process import ROOT, App, start_app
from browser import image_sources, no_exception
from components.log.store import LogStore
from components.vote.pairs import all_pairs, sides
from components.vote.store import SKIP, TIE, Status, Vote, VoteStore

PRESENTER_PASSCODE = "e2e vote presenter 41b7-c0de"
WORD = "zanzibar"  # a word of the prompt that nothing else in the studio says
PROMPT = f"A {WORD}-quartz lighthouse at dusk, poster art"
TITLE = "Poster shortlist, round one"  # voters see it: it says nothing about the images
QUOTA = 6  # 4 images: every voter answers all 6 pairs
GRID = '[class*="st-key-cmp_grid_"]'
RESULTS = f'{GRID} img[alt^="result"]'
PAIR = re.compile(r"Pair (\d+) of (\d+)")
THANKS = "Done: your votes are in. Thank you!"
CLOSED = "This vote is closed. Thank you for taking part."
ONE, TWO, TIE_BUTTON = "1 · This one", "2 · This one", "0 · Tie"
VOTER_KEY = "flux_studio_voter"  # the voter id in the browser's localStorage
SCREENSHOT = ROOT / "docs" / "vote-phone.png"


def voter_id(person: Person) -> str:
    """The voter id this tab's browser keeps (its localStorage)."""
    return person.page.evaluate(f"localStorage.getItem('{VOTER_KEY}')")


@dataclass
class Room:
    app: App
    browser: Browser
    people: list[Person] = field(default_factory=list)
    voters: list[Person] = field(default_factory=list)  # every voter's tab (two for one voter)
    presenter: Person | None = None
    link: str = ""
    done: set[str] = field(default_factory=set)

    def after(self, step: str) -> None:
        if step not in self.done:
            pytest.skip(f"needs {step} to pass first (run the whole module)")

    def join(self, name: str, width: int = 1400, height: int = 1000) -> Person:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        return self.tab(name, context)

    def tab(self, name: str, context: BrowserContext) -> Person:
        """A page of its own in `context` (a second tab shares the first's localStorage)."""
        person = watched_tab(name, context)
        self.people.append(person)
        return person

    def store(self) -> LogStore:
        return LogStore(self.app.data_dir / "studio.db")

    def vote(self) -> Vote:
        with self.store() as log:
            found = VoteStore(log).recent()
        assert len(found) == 1, found
        return found[0]

    def ballots(self):
        with self.store() as log:
            return VoteStore(log).ballots(self.vote().id)

    def joined(self):
        with self.store() as log:
            return VoteStore(log).voters(self.vote().id)


@pytest.fixture(scope="module")
def room(tmp_path_factory, browser) -> Iterator[Room]:
    # No FLUX_STUDIO_PUBLIC_URL: the link is built from the address the presenter has open
    # (127.0.0.1 here), which is the app's own, and the page warns that it is a local one.
    # No file watcher: an edit to the working tree while the test runs would make Streamlit
    # re-import the app's modules mid-test (old instances then fail to pickle in st.cache_data).
    app = start_app(
        tmp_path_factory.mktemp("votes"),
        FLUX_STUDIO_PASSCODE=PRESENTER_PASSCODE,
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",
    )
    room = Room(app, browser)
    try:
        yield room
    finally:
        for context in {person.context for person in room.people}:
            context.close()
        app.stop()


# --- what a voter sees ------------------------------------------------------------------------


def answered(person: Person) -> int:
    """How many pairs the page says this voter has answered (QUOTA once it thanks them)."""
    page = person.page
    if page.get_by_text(THANKS).count():
        return QUOTA
    caption = page.get_by_text(PAIR)
    expect(caption).to_have_count(1)
    number, total = map(int, PAIR.search(caption.inner_text()).groups())
    assert total == QUOTA, caption.inner_text()
    return number - 1


def open_ballot(person: Person, url: str) -> None:
    """Open a vote link and wait for the first pair: the voter id is made by the browser, then
    the page runs again with it."""
    visit(person, url)
    expect(person.page.get_by_text(PAIR)).to_be_visible()
    expect(person.page.get_by_role("button", name=ONE)).to_be_visible()
    wait_quiet(person)
    no_exception(person.page)
    person.snapshot()


def only_the_vote(person: Person) -> None:
    """The page is the vote and nothing of the studio: no sidebar, no navigation, no log."""
    page = person.page
    expect(page.get_by_role("heading", name=TITLE, exact=True)).to_be_visible()
    expect(page.locator(SIDEBAR)).to_have_count(0)
    expect(page.locator(NAV)).to_have_count(0)
    for name in ("Generate", "Compare", "Session log", "Settings", "Sharing", "Votes"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    expect(page.get_by_label("Passcode")).to_have_count(0)
    no_exception(page)


def images_loaded(page: Page) -> None:
    page.wait_for_function(
        """() => {
          const imgs = [...document.querySelectorAll('main [data-testid="stImage"] img')];
          return imgs.length >= 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
        }"""
    )


def phone_screenshot(page: Page) -> None:
    """The whole ballot at phone width. Streamlit scrolls inside its own container, so a
    "full page" screenshot is only the viewport: make the viewport as tall as the page."""
    size = page.viewport_size
    assert size is not None
    tall = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], tall)})
    page.wait_for_timeout(300)  # the layout settles (same width, so nothing reflows)
    images_loaded(page)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    page.set_viewport_size(size)


# --- the tests ------------------------------------------------------------------------------


def test_the_presenter_starts_a_vote_from_a_four_image_comparison(room):
    """Sign in, run a 4-seed comparison, "Start a vote on these images…", start it pairwise:
    one open vote over the comparison's four images, and a link that opens it."""
    app = room.app
    presenter = room.presenter = room.join("presenter", 1440, 1000)
    page = presenter.page
    visit(presenter, app.url)
    page.get_by_label("Passcode").fill(PRESENTER_PASSCODE)
    act(presenter, page.get_by_role("button", name="Sign in").click)
    expect(page.locator(SIDEBAR).get_by_role("button", name="Sign out")).to_be_visible()
    go(presenter, "Compare")

    area = page.get_by_role("textbox", name="Prompt", exact=True)
    area.fill(PROMPT)
    act(presenter, lambda: area.press("Tab"))  # commit the prompt before clicking Run
    expect(page.get_by_role("spinbutton", name="How many")).to_have_value("4")  # the default
    before = image_sources(page)
    page.get_by_role("button", name="Run comparison").click()
    deadline = time.monotonic() + 30
    while len(image_sources(page, GRID) - before) < 4:
        assert time.monotonic() < deadline, "the comparison did not fill its four cells"
        page.wait_for_timeout(50)
    wait_quiet(presenter)
    expect(page.locator(RESULTS)).to_have_count(4)
    no_exception(page)

    act(presenter, page.get_by_role("button", name="Start a vote on these images…").click)
    expect(page.get_by_role("heading", name="Votes", exact=True)).to_be_visible()
    expect(page.get_by_text("New vote over 4 images")).to_be_visible()
    no_exception(page)
    title = page.get_by_role("textbox", name="Title")
    assert WORD not in title.input_value().lower()  # the default title names no image
    title.fill(TITLE)
    expect(page.get_by_role("checkbox", name="Voters may skip")).to_be_checked()
    act(presenter, page.get_by_role("button", name="Start the vote").click)
    expect(page.get_by_text(f"Vote “{TITLE}” is open")).to_be_visible()
    no_exception(page)

    vote = room.vote()
    with room.store() as log:
        rows = log.query(columns=["id", "group_id", "status", "prompt"])
    assert len(rows) == 4 and set(rows["status"]) == {"ok"}
    assert rows["group_id"].nunique() == 1 and WORD in rows["prompt"].iloc[0]
    assert vote.status == Status.OPEN and vote.title == TITLE and vote.allow_skip
    assert vote.mode.value == "pairwise" and len(vote.items) == 4
    assert vote.group_id == rows["group_id"].iloc[0]
    assert sorted(i.row_id for i in vote.items) == sorted(rows["id"])

    code = page.locator('[data-testid="stCode"]').filter(has_text="?vote=")
    expect(code).to_have_count(1)
    room.link = code.inner_text().strip()
    assert room.link == f"{app.url}/?vote={vote.id}", room.link
    expect(page.get_by_text("This address only works on this computer")).to_be_visible()
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Voters")
    expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text("0")
    room.done.add("vote")


def test_three_voters_at_once_and_a_second_tab_changes_nothing(room):
    """Three browsers (one a 390x844 phone) vote at the same time, by click, tap and key.
    Ana opens the link in two tabs showing the same pair and answers it in both: the second
    answer is refused. The phone double-taps once. The tally is exactly 3 x 6."""
    room.after("vote")
    ana = room.join("Ana, tab 1")
    ana_again = room.tab("Ana, tab 2", ana.context)
    ben = room.join("Ben (phone)", 390, 844)
    cy = room.join("Cy (keys)")
    room.voters += [ana, ana_again, ben, cy]

    # Ana's first tab makes her voter id; her second finds it, so both show her pair.
    open_ballot(ana, room.link)
    for person in (ana_again, ben, cy):
        open_ballot(person, room.link)
        only_the_vote(person)
    ids = [voter_id(p) for p in (ana, ana_again, ben, cy)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    assert ids[0] == ids[1] and len(set(ids)) == 3, ids
    ana_id, ben_id, cy_id = ids[0], ids[2], ids[3]
    assert all(answered(p) == 0 for p in (ana, ana_again, ben, cy))
    for person in (ana, ana_again, ben, cy):
        images_loaded(person.page)
    assert image_sources(ana.page) == image_sources(ana_again.page)  # the same pair, same sides
    assert len(image_sources(ana.page)) == 2

    # The phone, before anyone votes: two images and the big buttons.
    for name in (ONE, TWO, TIE_BUTTON, "S · Skip"):
        expect(ben.page.get_by_role("button", name=name)).to_be_visible()
    phone_screenshot(ben.page)

    # Round one, at once: Ana taps "1" in her first tab while Ben and Cy answer theirs.
    moves = {
        "ana": [ONE, TWO, TIE_BUTTON, ONE, TWO, ONE],
        "ben": ["double " + TWO, ONE, TIE_BUTTON, TWO, ONE, TWO],
        "cy": ["1", "2", "s", "0", "2", "1"],  # keyboard shortcuts
    }
    people = {"ana": ana, "ben": ben, "cy": cy}
    round_one = {name: len(p.received) for name, p in people.items()}
    answer(ana, moves["ana"].pop(0))
    answer(ben, moves["ben"].pop(0))
    answer(cy, moves["cy"].pop(0))
    wait_run(ana, round_one["ana"])
    # Her second tab still shows that pair; answering it there must change nothing.
    ballots = room.ballots()
    assert len(ballots[ballots["voter"] == ana_id]) == 1
    act(ana_again, lambda: ana_again.page.get_by_role("button", name=TWO).click())
    for name, person in people.items():
        wait_run(person, round_one[name])
        no_exception(person.page)
    no_exception(ana_again.page)
    ballots = room.ballots()
    mine = ballots[ballots["voter"] == ana_id]
    assert len(mine) == 1, mine
    pair = mine["pair"].iloc[0]
    left, right = sides(ana_id, pair)
    assert mine["choice"].iloc[0] == left  # tab 1's "1", not tab 2's "2" (which was `right`)
    assert answered(ana) == 1 and answered(ana_again) == 1  # tab 2 moved on, nothing counted
    assert answered(ben) >= 1 and answered(cy) == 1

    # The rest, all three at once each round, until every one of them is thanked.
    waiting = {name: p for name, p in people.items() if answered(p) < QUOTA}
    while waiting:
        before = {name: (answered(p), len(p.received)) for name, p in waiting.items()}
        for name, person in waiting.items():
            answer(person, moves[name].pop(0))
        for name, person in waiting.items():
            wait_run(person, before[name][1])
            no_exception(person.page)
            now = answered(person)
            assert now > before[name][0], f"{person.name}'s answer did not move the page on"
            person.snapshot()
        waiting = {name: p for name, p in waiting.items() if answered(p) < QUOTA}
    for person in people.values():
        expect(person.page.get_by_text(THANKS)).to_be_visible()
        expect(person.page.get_by_role("button", name=ONE)).to_have_count(0)

    # Ben gives his name (optional): the presenter sees it beside his answers.
    name_box = ben.page.get_by_role("textbox", name="Your name (optional)")
    name_box.fill("Ben B.")
    act(ben, lambda: name_box.press("Enter"))
    no_exception(ben.page)

    ballots = room.ballots()
    assert len(ballots) == 3 * QUOTA, ballots
    assert not ballots.duplicated(["voter", "pair"]).any()
    assert set(ballots["voter"]) == {ana_id, ben_id, cy_id}
    pairs = set(all_pairs(room.vote().item_ids))
    for voter in (ana_id, ben_id, cy_id):
        assert set(ballots[ballots["voter"] == voter]["pair"]) == pairs
    assert ballots[ballots["voter"] == cy_id]["choice"].eq(SKIP).sum() == 1
    assert ballots[ballots["voter"] == cy_id]["choice"].eq(TIE).sum() == 1
    joined = room.joined()
    assert len(joined) == 3 and list(joined["answers"]) == [QUOTA] * 3
    assert joined.set_index("voter").loc[ben_id, "name"] == "Ben B."

    # Ana's second tab, reloaded, knows she is done.
    visit(ana_again, room.link)
    expect(ana_again.page.get_by_text(THANKS)).to_be_visible()
    ana_again.snapshot()
    assert len(room.ballots()) == 3 * QUOTA

    # The presenter's live view catches up within its 2 s refresh.
    page = room.presenter.page
    for label, value in (("Voters", "3"), ("Answers", str(3 * QUOTA))):
        metric = page.locator('[data-testid="stMetric"]').filter(has_text=label)
        expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text(value, timeout=8_000)
    expect(page.get_by_text(re.compile(rf"^3 voters · {3 * QUOTA} answers · "))).to_be_visible()
    no_exception(page)
    room.done.add("voted")


def answer(person: Person, move: str) -> None:
    """Click a button by its name, double-click it ("double <name>"), or press a key."""
    page = person.page
    if move.startswith("double "):
        page.get_by_role("button", name=move.removeprefix("double ")).dblclick()
    elif len(move) == 1:
        page.keyboard.press(move)
    else:
        page.get_by_role("button", name=move).click()


def test_a_vote_link_opens_only_the_vote_at_any_address(room):
    """The link's `?vote=` on another page's address still shows only the vote; that address
    without it is the sign-in page; a made-up vote id opens nothing."""
    room.after("voted")
    app, vote = room.app, room.vote()
    cy = next(p for p in room.voters if p.name.startswith("Cy"))
    for path in ("settings", "session_log", "votes", "compare"):
        visit(cy, f"{app.url}/{path}?vote={vote.id}")
        only_the_vote(cy)
        expect(cy.page.get_by_text(THANKS)).to_be_visible()
        expect(cy.page.get_by_role("heading", name="Settings")).to_have_count(0)
        expect(cy.page.get_by_role("heading", name="Session log")).to_have_count(0)
        expect(cy.page.locator('[data-testid="stDataFrame"]')).to_have_count(0)
        cy.snapshot()

    visit(cy, f"{app.url}/settings")
    page = cy.page
    expect(page.get_by_label("Passcode")).to_be_visible()
    expect(page.locator(NAV)).to_have_count(0)
    expect(page.get_by_role("heading", name="Settings")).to_have_count(0)
    expect(page.get_by_role("heading", name=TITLE)).to_have_count(0)
    expect(page.get_by_label("API key")).to_have_count(0)
    no_exception(page)
    cy.snapshot()

    visit(cy, f"{app.url}/?vote={'0' * 32}")
    expect(page.get_by_role("heading", name="This vote link does not work")).to_be_visible()
    expect(page.locator(SIDEBAR)).to_have_count(0)
    no_exception(page)
    cy.snapshot()
    assert len(room.ballots()) == 3 * QUOTA and len(room.joined()) == 3
    room.done.add("addresses")


def test_closing_then_revealing_the_vote(room):
    """Closed: a newcomer finds the vote closed and is not counted. Revealed: the presenter's
    table says what each image was; voters who reload find the vote closed."""
    room.after("voted")
    presenter = room.presenter
    page = presenter.page
    act(presenter, page.get_by_role("button", name="Close the vote").click)
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    assert room.vote().status == Status.CLOSED
    no_exception(page)

    late = room.join("Dee (late)", 390, 844)
    room.voters.append(late)
    visit(late, room.link)
    expect(late.page.get_by_text(CLOSED)).to_be_visible()
    expect(late.page.get_by_role("button", name=ONE)).to_have_count(0)
    only_the_vote(late)
    late.snapshot()
    assert len(room.joined()) == 3

    act(presenter, page.get_by_role("button", name="Reveal the results").click)
    expect(page.get_by_role("button", name="Reveal the results")).to_be_disabled()
    assert room.vote().status == Status.REVEALED
    status = page.locator('[data-testid="stMetric"]').filter(has_text="Status")
    expect(status.locator('[data-testid="stMetricValue"]')).to_have_text("revealed", timeout=8_000)
    expect(page.get_by_text(re.compile(rf"^3 voters · {3 * QUOTA} answers · "))).to_be_visible()
    # The table is a canvas: its "what it was" column is read from the frames that drew it.
    frames = "\n".join(presenter.received[-400:])
    assert "what it was" in frames
    for item in room.vote().items:
        assert item.label.startswith("seed ") and item.label in frames, item.label
    no_exception(page)

    for voter in room.voters:
        if voter.name.endswith("tab 2"):
            continue
        visit(voter, room.link)
        expect(voter.page.get_by_text(CLOSED)).to_be_visible()
        only_the_vote(voter)
        voter.snapshot()
    assert len(room.ballots()) == 3 * QUOTA
    room.done.add("revealed")


def test_no_voter_page_ever_received_what_an_image_was(room):
    """Every voter tab, from the first pair to the reveal: its HTML and every websocket frame
    it received hold no prompt, seed, parameter, row or group id, item id or file path.

    The offline demo draws its prompt and seed into the pixels of each image; that is pixels,
    served as a re-encoded copy under /media, not text, and not what this searches."""
    room.after("voted")
    vote = room.vote()
    with room.store() as log:
        rows = log.query(
            columns=["id", "group_id", "prompt", "seed", "aspect_ratio", "model", "image_paths"]
        )
    words = [
        WORD,
        PROMPT,
        "lighthouse",
        "aspect_ratio",
        "aspect ratio",
        "seed_requested",
        "image_paths",
        "images/",
        "thumbs/",
        *rows["id"],
        *rows["group_id"].unique(),
        *rows["model"].unique(),
        *(path for paths in rows["image_paths"] for path in paths),
        *(item.item for item in vote.items),
        *(item.label for item in vote.items),
    ]
    # Seeds are numbers: match them whole, so a longer number or a hash cannot match by chance.
    # (The images themselves never travel in the frames or the HTML, only their /media/<hash>
    # addresses, so there is no base64 image data here for a number to hide in.)
    numbers = [re.compile(rf"(?<![0-9A-Za-z]){seed}(?![0-9A-Za-z])") for seed in rows["seed"]]
    # The word "seed" anywhere (a label, a caption, a column): the pages have none to show.
    seed_word = re.compile(r"seed", re.IGNORECASE)
    assert len(room.voters) >= 5
    for voter in room.voters:
        voter.snapshot()
        html, received = "\n".join(voter.seen_html), "\n".join(voter.received)
        assert received and len(voter.seen_html) >= 2, f"nothing captured for {voter.name}"
        # The search can see text: what the page does show is there, in both.
        assert TITLE in html and TITLE in received, voter.name
        for where, text in (("HTML", html), ("websocket frames", received)):
            lowered = text.lower()
            for word in words:
                assert str(word).lower() not in lowered, (voter.name, where, word)
            for number in numbers:
                assert not number.search(text), (voter.name, where, number.pattern)
            assert not seed_word.search(text), (voter.name, where, "seed")
        assert rows["aspect_ratio"].iloc[0] not in html, voter.name  # e.g. "16:9"
