"""With a key, against a local stand-in for the provider: failures read well, nothing leaks."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from pytest_httpserver import HTTPServer
from werkzeug import Response

from app_process import ROOT, start_app
from browser import no_exception, open_app, settle, type_prompt, wait_for_new_images
from components.api.client import GENERATE_ONCE_RETRIES
from samples import image_bytes

KEY = "sk-e2e-SECRET-KEY-0f1e2d3c4b5a"
PROMPT = "A lighthouse on a cliff at dusk"


@pytest.fixture(scope="module")
def provider():
    """Fails by prompt: '401 ...' and '500 ...' prompts fail, others succeed with an image."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()

    def generate(request):
        body = request.get_json()
        prompt = body.get("prompt", "")
        if prompt.startswith("401"):
            # Providers sometimes echo what they were sent: the app must redact it.
            answer = {"message": f"Invalid key {KEY}", "requestId": "rid-401", "statusCode": 401}
            return Response(json.dumps(answer), status=401, content_type="application/json")
        if prompt.startswith("500"):
            answer = {"message": "Upstream partner failed", "requestId": "rid-500"}
            return Response(json.dumps(answer), status=500, content_type="application/json")
        answer = {
            "images": [{"url": server.url_for("/cdn/a.jpg"), "width": 2752, "height": 1536}],
            "seed": body.get("seed", 777),
            "has_nsfw_concepts": [False],
        }
        return Response(json.dumps(answer), content_type="application/json")

    server.expect_request("/v1/images/generations").respond_with_handler(generate)
    server.expect_request("/cdn/a.jpg").respond_with_data(
        image_bytes(2752, 1536, color=(30, 90, 160)), content_type="image/jpeg"
    )
    server.expect_request("/v2/billing").respond_with_json(
        {"current_balance": 9.87, "currency": "USD"}
    )
    yield server
    server.clear()
    server.stop()


@pytest.fixture(scope="module")
def keyed_app(tmp_path_factory, provider):
    app = start_app(
        tmp_path_factory.mktemp("keyed"),
        AIMLAPI_API_KEY=KEY,
        AIMLAPI_BASE_URL=provider.url_for("").rstrip("/"),
    )
    yield app
    app.stop()


def _prompt_value(page) -> str:
    return page.get_by_role("textbox", name="Prompt").input_value()


def test_401_says_check_the_key_and_keeps_the_prompt(keyed_app, page):
    open_app(page, keyed_app.url)
    type_prompt(page, "401 " + PROMPT)
    page.get_by_role("button", name="Generate").click()
    alert = page.get_by_text("The API key was not accepted (401)")
    expect(alert).to_be_visible(timeout=20_000)
    settle(page)
    expect(page.get_by_text("check it in Settings")).to_be_visible()
    assert _prompt_value(page) == "401 " + PROMPT
    no_exception(page)


def test_500_is_retried_then_shows_provider_message_and_request_id(keyed_app, page):
    open_app(page, keyed_app.url)
    type_prompt(page, "500 " + PROMPT)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("The provider failed (5xx)")).to_be_visible(timeout=30_000)
    settle(page)
    expect(page.get_by_text("Upstream partner failed").first).to_be_visible()
    expect(page.get_by_text("request id rid-500")).to_be_visible()
    # A 500 may already have been billed: a generation is retried at most once for it.
    expect(page.get_by_text(f"{1 + GENERATE_ONCE_RETRIES} attempts")).to_be_visible()
    assert _prompt_value(page) == "500 " + PROMPT
    no_exception(page)


def test_the_key_never_reaches_the_browser(keyed_app, page):
    open_app(page, keyed_app.url)
    expect(page.get_by_text("$9.87")).to_be_visible()  # the key works: balance in the sidebar
    type_prompt(page, PROMPT)
    page.get_by_role("button", name="Generate").click()
    wait_for_new_images(page, set())
    settle(page)
    type_prompt(page, "401 " + PROMPT)  # a provider error that echoes the key
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("The API key was not accepted (401)")).to_be_visible()
    settle(page)
    page.get_by_role("link", name="Settings").first.click()
    settle(page)
    expect(page.get_by_text("••••4b5a")).to_be_visible()
    page.get_by_role("link", name="Generate").first.click()
    settle(page)
    page.get_by_text("Show request").first.click()
    expect(page.locator('[data-testid="stCode"]').first).to_be_visible()
    html = page.content()
    frames = "\n".join(page.ws_frames)
    assert frames, "no websocket frames were captured"
    for secret in (KEY, KEY[:-4]):
        assert secret not in html
        assert secret not in frames
        assert secret not in page.url
    no_exception(page)


def test_screenshot_for_the_readme(app, page):
    """The README shows this picture; it is taken from the real app on every test run."""
    page.set_viewport_size({"width": 1440, "height": 900})
    open_app(page, app.url + "/?num_images=2&seed=2704861852")
    type_prompt(page, "A T-Rex relaxing on a beach, lying on a sun lounger and wearing sunglasses.")
    page.get_by_role("button", name="Generate").click()
    wait_for_new_images(page, set(), count=2)
    settle(page)
    page.wait_for_timeout(500)  # let the thumbnails paint
    page.screenshot(path=str(ROOT / "docs" / "generate.png"))
    no_exception(page)
