"""The frame with a database URL the studio cannot use: a clear message, no traceback, no
password, and the app works again once the setting is fixed."""

from __future__ import annotations

import socket

from apptest_utils import new_app, rendered

SECRET = "pw-Never-Shown-4821"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_database_is_a_message_naming_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    url = f"postgresql+psycopg://studio:{SECRET}@127.0.0.1:{_closed_port()}/studio"
    monkeypatch.setenv("FLUX_STUDIO_DB_URL", url)
    at = new_app()
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "session log cannot open" in shown and "FLUX\\_STUDIO\\_DB\\_URL" in shown
    assert "cannot open the database" in shown
    assert SECRET not in rendered(at)
    assert not at.title  # no page ran behind the message

    # Fixed setting, new visit: the studio opens (nothing bad was cached by the failure).
    monkeypatch.setenv("FLUX_STUDIO_DB_URL", f"sqlite:///{tmp_path / 'fixed.db'}")
    at = new_app()
    at.run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Generate"]
    assert (tmp_path / "fixed.db").exists()
