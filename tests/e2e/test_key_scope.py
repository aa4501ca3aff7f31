"""The team's key stays with the base URL configured with it, and the studio only answers the
machine it runs on: checked in Chromium against two local servers that record every
Authorization header they are sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_httpserver import HTTPServer

from app_process import start_app
from browser import no_exception, open_app, settle

TEAM_KEY = "sk-e2e-TEAM-KEY-7a6b5c4d3e2f"
OWN_KEY = "sk-e2e-OWN-KEY-1029384756ab"
SIDEBAR = "section[data-testid=stSidebar]"


def _recording_server(balance: float) -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/v2/billing").respond_with_json(
        {"current_balance": balance, "currency": "USD"}
    )
    server.start()
    return server


@pytest.fixture(scope="module")
def servers():
    configured, other = _recording_server(11.11), _recording_server(22.22)
    yield configured, other
    for server in (configured, other):
        server.clear()
        server.stop()


@pytest.fixture(scope="module")
def team_app(tmp_path_factory, servers):
    configured, _ = servers
    app = start_app(
        tmp_path_factory.mktemp("team"),
        AIMLAPI_API_KEY=TEAM_KEY,
        AIMLAPI_BASE_URL=configured.url_for("").rstrip("/"),
    )
    yield app
    app.stop()


def auth(server: HTTPServer) -> list[str | None]:
    return [request.headers.get("Authorization") for request, _ in server.log]


def save_base_url(page: Page, url: str) -> None:
    field = page.get_by_role("textbox", name="Base URL")
    field.fill(url)
    field.press("Tab")
    page.get_by_role("button", name="Save settings").click()
    settle(page)
    expect(page.get_by_text("Saved for this browser session.")).to_be_visible()


def test_a_base_url_typed_in_settings_never_receives_the_team_key(team_app, servers, page):
    configured, other = servers
    open_app(page, team_app.url + "/settings")
    sidebar = page.locator(SIDEBAR)
    expect(sidebar.get_by_text("$11.11")).to_be_visible()  # balance from the configured server
    assert auth(configured) and set(auth(configured)) == {f"Bearer {TEAM_KEY}"}
    asked_configured = len(configured.log)

    # Point the studio at another server: no key goes anywhere, and the page says why.
    save_base_url(page, other.url_for("").rstrip("/"))
    expect(sidebar.get_by_text("This base URL needs its own key")).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    settle(page)
    expect(
        page.locator("main").get_by_text("This base URL needs its own key").first
    ).to_be_visible()
    assert other.log == []
    assert len(configured.log) == asked_configured

    # With a key of the visitor's own, that key (and only it) goes to their server.
    page.get_by_label("API key").fill(OWN_KEY)
    page.get_by_role("button", name="Use key").click()  # the click commits the field
    settle(page)  # mid-run the last run's Forget button is still on the page beside the new one
    expect(page.get_by_role("button", name="Forget")).to_be_enabled()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Balance: $22.22 USD")).to_be_visible()
    assert auth(other) and set(auth(other)) == {f"Bearer {OWN_KEY}"}
    assert len(configured.log) == asked_configured

    # Back on the configured base URL, without a typed key, the team key works again there.
    page.get_by_role("button", name="Forget").click()
    settle(page)
    expect(page.get_by_role("button", name="Forget")).to_be_disabled()
    save_base_url(page, configured.url_for("").rstrip("/"))
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Balance: $11.11 USD")).to_be_visible()
    assert len(configured.log) > asked_configured
    assert set(auth(configured)) == {f"Bearer {TEAM_KEY}"}
    assert f"Bearer {TEAM_KEY}" not in auth(other)

    html, frames = page.content(), "\n".join(page.ws_frames)
    assert frames, "no websocket frames were captured"
    for secret in (TEAM_KEY, TEAM_KEY[:-4]):
        assert secret not in html and secret not in frames and secret not in page.url
    no_exception(page)
