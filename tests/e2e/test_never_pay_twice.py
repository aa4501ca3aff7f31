"""Never pay twice, in Chromium: a seeded request the studio already paid for is shown from
the log with no request to the provider, and "Generate anyway" sends it. Against a local
stand-in for the provider that counts every generation it is sent."""

from __future__ import annotations

import json
import threading
import time

import pytest
from playwright.sync_api import Page, expect
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from app_process import start_app
from browser import image_sources, no_exception, open_app, settle, type_prompt
from components.api.contract import CLIENT_REQUEST_ID_HEADER, USD_SPENT_HEADER
from samples import image_bytes

KEY = "sk-e2e-REUSE-KEY-5e4d3c2b1a09"
PROMPT = "A red kite over a green hill, watercolour"
SEED = 777
MAIN = "main"
GENERATE = ".st-key-gen_submit button"  # the form's Generate button (param_form.SUBMIT_KEY)


class Provider:
    """Answers generations like the provider (an image link, the seed, a cost header) and
    counts them; serves the image and a balance."""

    def __init__(self, server: HTTPServer):
        self.server = server
        self.lock = threading.Lock()
        self.posts: list[dict] = []
        self.ids: list[str | None] = []
        server.expect_request("/v1/images/generations", method="POST").respond_with_handler(self)
        server.expect_request("/cdn/kite.jpg").respond_with_data(
            image_bytes(2752, 1536, color=(200, 60, 40)), content_type="image/jpeg"
        )
        server.expect_request("/v2/billing").respond_with_json(
            {"current_balance": 9.87, "currency": "USD"}
        )

    def __call__(self, request: Request) -> Response:
        body = request.get_json()
        with self.lock:
            self.posts.append(body)
            self.ids.append(request.headers.get(CLIENT_REQUEST_ID_HEADER))
        answer = {
            "images": [
                {"url": self.server.url_for("/cdn/kite.jpg"), "width": 2752, "height": 1536}
            ],
            "seed": body.get("seed", 4242),
            "has_nsfw_concepts": [False],
        }
        return Response(
            json.dumps(answer),
            headers={USD_SPENT_HEADER: "0.05"},
            content_type="application/json",
        )

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.posts)


@pytest.fixture(scope="module")
def provider():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield Provider(server)
    server.clear()
    server.stop()


@pytest.fixture(scope="module")
def reuse_app(tmp_path_factory, provider):
    app = start_app(
        tmp_path_factory.mktemp("reuse"),
        AIMLAPI_API_KEY=KEY,
        AIMLAPI_BASE_URL=provider.server.url_for("").rstrip("/"),
    )
    yield app
    app.stop()


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def set_seed(page: Page, seed: int) -> None:
    field = page.get_by_role("spinbutton", name="Seed")
    field.fill(str(seed))
    field.press("Enter")  # commit before clicking Generate
    settle(page)
    assert field.input_value() == str(seed)


def generate_button(page: Page):
    button = page.locator(GENERATE)
    expect(button).to_be_enabled()
    return button


def images_shown(page: Page) -> int:
    return page.locator(f'{MAIN} [data-testid="stImage"] img').count()


def test_a_seeded_repeat_is_shown_from_the_log_and_generate_anyway_sends_it(
    reuse_app, provider, page
):
    open_app(page, reuse_app.url)
    type_prompt(page, PROMPT)
    set_seed(page, SEED)

    # First click: sent to the provider once, the image arrives.
    generate_button(page).click()
    wait_until(lambda: len(image_sources(page)) >= 1)
    settle(page)
    assert provider.count == 1
    assert provider.posts[0]["seed"] == SEED and provider.posts[0]["prompt"] == PROMPT
    expect(page.get_by_text("From the log, no credits")).to_have_count(0)
    no_exception(page)
    shown_before = images_shown(page)

    # Second click, same form: answered from the log, nothing sent.
    generate_button(page).click()
    note = page.locator(MAIN).get_by_text("From the log, no credits")
    expect(note).to_be_visible()
    settle(page)
    expect(page.locator(MAIN).get_by_text("saved $0.05")).to_be_visible()
    wait_until(lambda: images_shown(page) > shown_before)  # the image again, at once
    anyway = page.get_by_role("button", name="Generate anyway")
    expect(anyway).to_be_visible()
    time.sleep(0.5)  # anything sent would have reached the provider by now
    assert provider.count == 1
    no_exception(page)

    # "Generate anyway": one new request, and that one is billed like any other.
    shown_before = images_shown(page)
    anyway.click()
    wait_until(lambda: provider.count == 2)
    wait_until(lambda: images_shown(page) > shown_before)
    settle(page)
    assert provider.count == 2
    assert provider.posts[1]["seed"] == SEED and provider.posts[1]["prompt"] == PROMPT
    assert provider.ids[0] != provider.ids[1]
    # The latest result was sent, so it offers no "Generate anyway"; the earlier one, now in
    # the strip of earlier pictures, still says where it came from.
    expect(page.get_by_role("button", name="Generate anyway")).to_have_count(0)
    expect(note).to_have_count(0)
    from_log = page.locator(MAIN).get_by_text(f"seed {SEED} · from the log", exact=True)
    expect(from_log).to_have_count(1)
    no_exception(page)
    html = page.content() + "\n".join(page.ws_frames)
    assert KEY not in html and KEY[:-4] not in html
