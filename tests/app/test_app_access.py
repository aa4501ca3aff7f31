"""Only this machine may use the studio while no access control exists (finding 2).

`access.is_loopback` decides from the visitor's address alone; AppTest cannot set
`st.context.ip_address`, so the frame test replaces `access.visitor_ip` (the one place that
reads it) and checks that app.py refuses before any page, store or key is touched.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from apptest_utils import new_app, rendered
from components.ui import access

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-access-SECRET-00112233-eeff"


@pytest.mark.parametrize(
    "ip", [None, "127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "::ffff:127.0.0.1"]
)
def test_loopback_visitors_are_the_presenter(ip):
    assert access.is_loopback(ip)


@pytest.mark.parametrize(
    "ip",
    [
        "192.168.1.20",
        "10.0.0.7",
        "172.17.0.1",
        "203.0.113.9",
        "2001:db8::1",
        "fe80::1%eth0",
        "::ffff:192.168.1.20",
        "0.0.0.0",
        "",
        "localhost",  # Streamlit reports addresses, never names: a name is not known local
        "not an address",
    ],
)
def test_everyone_else_is_refused_while_there_is_no_access_control(ip):
    assert not access.is_loopback(ip)


def test_the_server_binds_to_localhost():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"


@pytest.fixture
def keyed(fault_server, monkeypatch, tmp_path):
    fault_server.expect_request("/v2/billing").respond_with_json(
        {"current_balance": 1.0, "currency": "USD"}
    )
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AIMLAPI_BASE_URL", fault_server.url_for("").rstrip("/"))
    monkeypatch.setenv("AIMLAPI_API_KEY", KEY)
    return fault_server, tmp_path


def test_the_frame_refuses_a_visitor_from_the_network(keyed, monkeypatch):
    provider, data = keyed
    monkeypatch.setattr(access, "visitor_ip", lambda: "192.168.1.20")
    at = new_app()
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == [access.REFUSED_TITLE]
    text = rendered(at)
    assert "run the studio on your own machine" in text
    assert "FLUX_STUDIO_PASSCODE" in text  # how to share it safely
    # Nothing else ran: no sidebar, no page, no call with the key, no log database.
    assert "Generate" not in [b.label for b in at.button]
    assert len(at.sidebar.children) == 0
    assert provider.log == []
    assert not (data / "studio.db").exists()
    assert KEY not in text


def test_the_frame_lets_this_machine_in(keyed, monkeypatch):
    provider, _ = keyed
    monkeypatch.setattr(access, "visitor_ip", lambda: None)
    at = new_app()
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Generate"]
    assert provider.log  # the sidebar asked for the balance
