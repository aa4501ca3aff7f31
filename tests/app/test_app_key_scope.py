"""The studio's key only goes to the base URL configured with it (finding 1).

`connection.decide` is the one place that pairs a base URL with a key: unit tests hold it to
its rules, AppTest runs hold the Settings page and the sidebar to it against two local servers
that record every Authorization header they receive.
"""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from apptest_utils import button, new_app, rendered
from components.ui import connection
from components.ui.state import SETTINGS_STATE, StudioSettings

TEAM_KEY = "sk-team-SECRET-0123456789-abcd"
OWN_KEY = "sk-visitor-OWN-9876543210-wxyz"
CONFIGURED = "https://api.aimlapi.com"


# --- the decision, as a pure function --------------------------------------------------------


def test_the_studio_key_goes_only_to_the_configured_base_url():
    same = connection.decide(CONFIGURED + "/", CONFIGURED, None, TEAM_KEY, "env")
    assert (same.base_url, same.key, same.problem) == (CONFIGURED, TEAM_KEY, None)
    assert connection.decide("HTTPS://API.aimlapi.com", CONFIGURED, None, TEAM_KEY).key == TEAM_KEY
    for elsewhere in (
        "https://evil.example",
        "https://api.aimlapi.com.evil.example",
        "https://api.aimlapi.com:8443",
        "https://api.aimlapi.com/proxy",
        "http://127.0.0.1:9999",
        "https://evil.example/?u=https://api.aimlapi.com",
    ):
        chosen = connection.decide(elsewhere, CONFIGURED, None, TEAM_KEY, "env")
        assert chosen.key is None, elsewhere
        if not connection.base_url_problem(elsewhere):
            assert chosen.problem == connection.NEEDS_OWN_KEY


def test_a_typed_key_goes_where_the_session_points():
    chosen = connection.decide("https://my.proxy.example", CONFIGURED, OWN_KEY, TEAM_KEY)
    assert (chosen.key, chosen.key_source, chosen.problem) == (
        OWN_KEY,
        "this browser session",
        None,
    )
    assert connection.decide(CONFIGURED, CONFIGURED, OWN_KEY, TEAM_KEY).key == OWN_KEY


def test_no_key_at_all_is_no_problem():
    chosen = connection.decide("https://elsewhere.example", CONFIGURED, None, None)
    assert (chosen.key, chosen.problem) == (None, None)


@pytest.mark.parametrize(
    "url",
    ["http://api.aimlapi.com", "http://10.0.0.5:8080", "http://localhost.evil.example"],
)
def test_plain_http_is_refused_off_this_machine_typed_or_configured(url):
    assert "Plain http://" in (connection.base_url_problem(url) or "")
    configured = connection.decide(url, url, None, TEAM_KEY, "env")  # configured that way
    typed = connection.decide(url, CONFIGURED, OWN_KEY, TEAM_KEY)
    for chosen in (configured, typed):
        assert chosen.key is None and "Plain http://" in (chosen.problem or "")


@pytest.mark.parametrize(
    "url", ["http://localhost:8000", "http://127.0.0.1:9", "http://127.5.6.7", "http://[::1]:80"]
)
def test_plain_http_is_fine_on_this_machine(url):
    assert connection.base_url_problem(url) is None
    assert connection.decide(url, url, None, TEAM_KEY).key == TEAM_KEY


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "ftp://api.aimlapi.com",
        "https://",
        "https://user:pw@api.aimlapi.com",
        "https://api.aimlapi.com:99999",
        "https://api.aimlapi.com?x=1",
    ],
)
def test_unusable_base_urls_are_refused(url):
    assert connection.base_url_problem(url)
    assert connection.decide(url, url, OWN_KEY, TEAM_KEY).key is None


def test_the_endpoint_repr_never_shows_the_key():
    chosen = connection.decide(CONFIGURED, CONFIGURED, None, TEAM_KEY)
    assert TEAM_KEY not in repr(chosen)


# --- the pages, against two recording servers ------------------------------------------------


def _recording_server() -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/v2/billing").respond_with_json(
        {"current_balance": 42.5, "currency": "USD"}
    )
    server.start()
    return server


@pytest.fixture
def servers(monkeypatch, tmp_path):
    """The configured provider (A) and a visitor's server (B), both on this machine."""
    configured, visitor = _recording_server(), _recording_server()
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "0")
    monkeypatch.setenv("AIMLAPI_BASE_URL", configured.url_for("").rstrip("/"))
    monkeypatch.setenv("AIMLAPI_API_KEY", TEAM_KEY)
    yield configured, visitor
    for server in (configured, visitor):
        server.clear()
        server.stop()


def auth_headers(server: HTTPServer) -> list[str | None]:
    return [request.headers.get("Authorization") for request, _ in server.log]


def open_settings():
    at = new_app()
    at.run()
    at.switch_page("pages/settings.py")
    at.run()
    assert not at.exception
    return at


def save_base_url(at, url: str):
    at.text_input(key="settings_base_url").set_value(url)
    button(at, "Save settings").click()
    at.run()
    assert not at.exception
    return at


def plain(text: str) -> str:
    return text.replace("\\", "")


def test_a_typed_base_url_never_gets_the_studio_key(servers):
    configured, visitor = servers
    at = open_settings()  # the frame's sidebar asked A for the balance, with the key
    assert auth_headers(configured) and set(auth_headers(configured)) == {f"Bearer {TEAM_KEY}"}
    before = len(configured.log)
    save_base_url(at, visitor.url_for("").rstrip("/"))
    warnings = plain(" ".join(w.value for w in at.warning))
    assert "This base URL needs its own key" in warnings
    button(at, "Test connection").click()
    at.run()
    assert not at.exception
    assert "This base URL needs its own key" in plain(" ".join(w.value for w in at.warning))
    assert visitor.log == []  # nothing at all reached the visitor's server
    assert len(configured.log) == before  # nor the configured one, once it was left
    text = rendered(at)
    assert TEAM_KEY not in text and TEAM_KEY[:-4] not in text


def test_a_typed_key_goes_to_the_typed_base_url_and_only_it(servers):
    configured, visitor = servers
    at = open_settings()
    save_base_url(at, visitor.url_for("").rstrip("/"))
    at.text_input(key="settings_key_input").set_value(OWN_KEY)
    button(at, "Use key").click()
    at.run()
    button(at, "Test connection").click()
    at.run()
    assert any("Balance: \\$42.50 USD" in s.value for s in at.success)
    assert auth_headers(visitor) and set(auth_headers(visitor)) == {f"Bearer {OWN_KEY}"}
    assert f"Bearer {OWN_KEY}" not in auth_headers(configured)
    assert OWN_KEY not in rendered(at)


def test_back_on_the_configured_base_url_the_studio_key_works_again(servers):
    configured, visitor = servers
    at = open_settings()
    save_base_url(at, visitor.url_for("").rstrip("/"))
    save_base_url(at, configured.url_for("/"))  # a trailing slash is the same URL
    assert not any("needs its own key" in plain(w.value) for w in at.warning)
    before = len(configured.log)
    button(at, "Test connection").click()
    at.run()
    assert any("Balance: \\$42.50 USD" in s.value for s in at.success)
    since = auth_headers(configured)[before:]
    assert since and set(since) == {f"Bearer {TEAM_KEY}"}
    assert visitor.log == []


def test_plain_http_to_another_machine_is_refused_with_a_reason(servers):
    _, visitor = servers
    at = open_settings()
    save_base_url(at, "http://studio-proxy.example:8080")
    errors = plain(" ".join(e.value for e in at.error))
    assert "Plain http:// is only allowed for this machine" in errors
    assert at.session_state[SETTINGS_STATE].base_url != "http://studio-proxy.example:8080"
    assert visitor.log == []


def test_a_configured_plain_http_base_url_gets_no_key(monkeypatch, tmp_path):
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AIMLAPI_BASE_URL", "http://203.0.113.7:8080")  # TEST-NET, never reached
    monkeypatch.setenv("AIMLAPI_API_KEY", TEAM_KEY)
    at = new_app()
    at.run()
    assert not at.exception
    text = plain(rendered(at))
    assert "Offline demo backend" in text and "Plain http:// is only allowed" in text


def test_the_sidebar_says_a_changed_base_url_needs_its_own_key(servers):
    configured, visitor = servers
    at = new_app()
    at.session_state[SETTINGS_STATE] = StudioSettings(base_url=visitor.url_for("").rstrip("/"))
    at.run()
    assert not at.exception
    sidebar = plain(" ".join(c.value for c in at.sidebar.caption))
    assert "This base URL needs its own key" in sidebar
    assert "Offline demo backend" in rendered(at)
    assert visitor.log == [] and configured.log == []
