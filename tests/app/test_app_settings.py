"""Settings and the frame with a key: the key is used, shown only as its last four, never sent."""

from __future__ import annotations

import pytest

from apptest_utils import button, new_app, rendered

KEY = "sk-live-TESTKEY-9f8e7d6c5b4a3210"


@pytest.fixture
def provider(fault_server, monkeypatch, tmp_path):
    """A local stand-in for the provider, with its balance endpoint."""
    fault_server.expect_request("/v2/billing").respond_with_json(
        {"current_balance": 42.5, "currency": "USD"}
    )
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AIMLAPI_BASE_URL", fault_server.url_for("").rstrip("/"))
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    return fault_server


def open_settings(**query):
    """AppTest.switch_page runs the page script alone (without the frame in app.py)."""
    at = new_app(**query)
    at.run()
    at.switch_page("pages/settings.py")
    at.run()
    assert not at.exception
    return at


def test_env_key_is_used_but_only_its_last_four_are_shown(provider, monkeypatch):
    monkeypatch.setenv("AIMLAPI_API_KEY", KEY)
    frame = new_app()
    frame.run()
    sidebar = rendered(frame)
    assert "AI/ML API" in sidebar and "$42.50" in sidebar  # balance from the provider
    assert "Offline demo" not in sidebar and KEY not in sidebar
    at = open_settings()
    text = rendered(at)
    assert KEY not in text and KEY[:-4] not in text
    assert "••••3210" in text
    auth = [req.headers.get("Authorization") for req, _ in provider.log]
    assert f"Bearer {KEY}" in auth  # the key was sent to the provider, and only there


def test_typed_key_is_kept_in_memory_and_the_field_is_cleared(provider):
    at = open_settings()
    assert "No key yet" in rendered(at)
    at.text_input(key="settings_key_input").set_value(KEY)
    button(at, "Use key").click()
    at.run()
    assert at.text_input(key="settings_key_input").value == ""
    text = rendered(at)
    assert KEY not in text and "••••3210" in text
    assert "this browser session" in text


def test_a_key_pasted_with_an_invisible_character_is_refused_not_kept(provider):
    at = open_settings()
    at.text_input(key="settings_key_input").set_value("\u200b" + KEY)
    button(at, "Use key").click()
    at.run()
    assert not at.exception
    assert any("was not saved" in t.value for t in at.toast)
    text = rendered(at)
    assert "No key yet" in text and KEY[4:] not in text
    assert not provider.log  # nothing was sent with it


def test_connection_check_reports_balance(provider, monkeypatch):
    monkeypatch.setenv("AIMLAPI_API_KEY", KEY)
    at = open_settings()
    button(at, "Test connection").click()
    at.run()
    assert any("Balance: \\$42.50 USD" in s.value for s in at.success)


def test_connection_check_reports_a_refused_key(fault_server, monkeypatch, tmp_path):
    fault_server.expect_request("/v2/billing").respond_with_json(
        {"message": f"Invalid key {KEY}"}, status=401
    )
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AIMLAPI_BASE_URL", fault_server.url_for("").rstrip("/"))
    monkeypatch.setenv("AIMLAPI_API_KEY", KEY)
    at = open_settings()
    button(at, "Test connection").click()
    at.run()
    assert any("refused (401)" in e.value for e in at.error)
    assert KEY not in rendered(at)


def test_settings_reject_a_bad_base_url(provider):
    at = open_settings()
    base = next(t for t in at.text_input if t.label == "Base URL")
    base.set_value("not a url")
    button(at, "Save settings").click()
    at.run()
    assert any("Base URL must start with http" in e.value for e in at.error)


def test_offline_without_key_shows_the_banner_and_badge(provider):
    at = new_app()
    at.run()
    text = rendered(at)
    assert "Offline demo." in text and "Offline demo backend" in text
