"""Sharing, page by page: sign-in, what a viewer may reach and do, and the budget at the click.

The provider is the offline backend's server reached as if it were the AI/ML API (a key and a
base URL on loopback), so requests are priced like real ones and the budget applies.
"""

from __future__ import annotations

import pytest

from apptest_utils import button, new_app, rendered
from components.config import db_path
from components.log.store import LogStore
from components.offline.server import OfflineBackend
from components.sharing.policy import PolicyStore
from components.ui import access, pages

PASSCODE = "presenter-passphrase-7"
KEY = "sk-sharing-SECRET-0011223344"


@pytest.fixture(scope="module")
def provider():
    with OfflineBackend(latency=0) as server:
        yield server


@pytest.fixture
def shared(tmp_path, monkeypatch, provider):
    """A studio with a presenter passcode and a key, on a fresh data folder."""
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUX_STUDIO_PASSCODE", PASSCODE)
    monkeypatch.setenv("AIMLAPI_API_KEY", KEY)
    monkeypatch.setenv("AIMLAPI_BASE_URL", provider.base_url)
    return tmp_path


def policies(folder) -> PolicyStore:
    return PolicyStore(LogStore(db_path(folder)))


def sign_in(at, code: str):
    at.text_input(key=access.SIGN_IN_INPUT).input(code)
    button(at, "Sign in").click()
    at.run()
    return at


def started():
    at = new_app()
    at.run()
    return at


def titles(at) -> list[str]:
    return [t.value for t in at.title]


def test_with_a_passcode_everyone_signs_in_even_on_this_machine(shared):
    at = new_app()
    at.run()
    assert not at.exception
    assert "Sign in" in [b.label for b in at.button]
    assert "Generate" not in [b.label for b in at.button]
    assert len(at.sidebar.children) == 0
    assert KEY not in rendered(at)


def test_the_presenter_passcode_opens_everything(shared):
    at = sign_in(started(), PASSCODE)
    assert not at.exception
    assert titles(at) == ["Generate"]
    text = rendered(at)
    assert "Presenter" in text and "Sign out" in text
    assert PASSCODE not in text and at.session_state[access.SIGN_IN_INPUT] == ""
    at.switch_page("pages/sharing.py").run()
    assert not at.exception and titles(at) == ["Sharing"]
    code = policies(shared).load().viewer_passcode
    assert code in rendered(at)


def test_a_wrong_passcode_says_so_and_five_lock_the_client_out(shared):
    at = new_app()
    at.run()
    for _ in range(4):
        sign_in(at, "not-it")
        assert any("Wrong passcode" in w.value for w in at.warning)
    sign_in(at, "still-not-it")
    assert any("wait 30 s" in w.value for w in at.warning)
    # Even the right passcode waits now: the lock is per client, not per guess.
    sign_in(at, PASSCODE)
    assert any("Too many wrong tries" in w.value for w in at.warning)
    assert titles(at) != ["Generate"]


def test_a_viewer_reaches_neither_settings_nor_sharing_and_cannot_send(shared, provider):
    code = policies(shared).load().viewer_passcode
    at = sign_in(started(), code.lower().replace("-", " "))  # typed loosely on a phone
    assert not at.exception and titles(at) == ["Generate"]
    listed = {p.title for p in pages.for_role(presenter=False)}
    assert listed == {"Generate", "Compare", "Session log", "Present"}
    gen = button(at, "Generate")
    assert gen.disabled
    assert "has not opened generating to viewers" in rendered(at)
    # The button drawn enabled, then the presenter's switch goes off before the click lands:
    # the server checks the switch at the click, so nothing is sent.
    store = policies(shared)
    store.save(viewers_may_generate=True)
    at.text_area(key="prompt").input("a lighthouse at dusk")
    at.run()
    gen = button(at, "Generate")
    assert not gen.disabled
    store.save(viewers_may_generate=False)
    gen.click()
    at.run()
    assert not at.exception
    assert any("has not opened generating" in e.value for e in at.error)
    assert LogStore(db_path(shared)).count() == 0
    for page in ("pages/settings.py", "pages/sharing.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert any("is the presenter's" in i.value for i in at.info), page
        assert "Save settings" not in [b.label for b in at.button]
        assert "Save budgets" not in [b.label for b in at.button]


def test_a_viewer_is_held_to_their_budget_at_the_click(shared, provider):
    store = policies(shared)
    store.save(viewers_may_generate=True, viewer_budget_usd=0.05)
    at = sign_in(started(), store.load().viewer_passcode)
    at.text_area(key="prompt").input("a lighthouse at dusk")
    button(at, "Generate").click()
    at.run()
    assert not at.exception
    text = " ".join(e.value for e in at.error).replace("\\", "")  # markdown escapes off
    assert "Nothing was sent" in text and "Your budget for today is $0.05" in text
    assert "$0.05 is left" in text and "presenter can raise" in text
    assert LogStore(db_path(shared)).count() == 0
    # Raised by the presenter: the same click goes through, and the row says who sent it.
    store.save(viewer_budget_usd=1.0)
    button(at, "Generate").click()
    at.run()
    assert not at.exception
    rows = LogStore(db_path(shared)).query(columns=["made_by", "backend"])
    assert len(rows) == 1 and rows["made_by"][0].startswith("viewer-")
    assert rows["backend"][0] == "aimlapi"


def test_a_new_viewer_passcode_signs_viewers_out(shared):
    store = policies(shared)
    at = sign_in(started(), store.load().viewer_passcode)
    assert titles(at) == ["Generate"]
    store.rotate_viewer_passcode()
    at.run()
    assert not at.exception
    assert "Sign in" in [b.label for b in at.button]
    assert any("changed the viewer passcode" in w.value for w in at.warning)


def test_a_viewer_sees_only_their_own_rows_when_the_presenter_says_so(shared):
    log = LogStore(db_path(shared))
    log.append({"prompt": "the presenter's secret campaign", "made_by": "presenter"})
    store = policies(shared)
    at = sign_in(started(), store.load().viewer_passcode)
    at.switch_page("pages/session_log.py").run()
    assert not at.exception
    assert "1 row" in rendered(at) or "Rows" in rendered(at)
    store.save(viewers_see_own_rows_only=True)
    at.run()
    assert not at.exception
    text = rendered(at)
    assert "the presenter's secret campaign" not in text
    # Export and import are the presenter's unless allowed.
    assert "Download CSV" not in [b.label for b in at.get("download_button")]


def test_with_the_door_open_anyone_may_look_but_the_presenter_still_signs_in(shared):
    store = policies(shared)
    at = started()
    assert "Continue as a viewer" not in [b.label for b in at.button]  # the safe default
    store.save(viewers_need_passcode=False)
    at.run()
    button(at, "Continue as a viewer").click()
    at.run()
    assert not at.exception and titles(at) == ["Generate"]
    assert button(at, "Generate").disabled  # looking only, until the presenter allows more
    with pytest.raises(ValueError, match="Known pages"):  # not in a viewer's navigation
        at.switch_page("pages/sharing.py")
    # Closed again: a click on the stale button lets nobody in.
    other = started()
    store.save(viewers_need_passcode=True)
    button(other, "Continue as a viewer").click()
    other.run()
    assert any("need the viewer passcode" in w.value for w in other.warning)
    assert titles(other) != ["Generate"]


def test_a_viewer_cannot_start_a_comparison_unless_allowed(shared):
    store = policies(shared)
    at = sign_in(started(), store.load().viewer_passcode)
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert button(at, "Run comparison").disabled
    assert "has not opened generating to viewers" in rendered(at)


def test_with_a_sign_in_configured_the_page_offers_it_and_reads_it_defensively(
    tmp_path, monkeypatch
):
    """No passcode, `[auth]` said to be configured (the OIDC round trip cannot run here): the
    sign-in page offers the account button and nothing breaks reading the login state."""
    from components import config

    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FLUX_STUDIO_PASSCODE", raising=False)
    monkeypatch.setattr(config, "auth_configured", lambda: True)
    at = started()
    assert not at.exception
    assert "Sign in with your account" in [b.label for b in at.button]
    assert titles(at) != ["Generate"]


def test_a_viewer_of_an_offline_studio_sees_the_demo_without_a_settings_link(tmp_path, monkeypatch):
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUX_STUDIO_PASSCODE", PASSCODE)
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    at = sign_in(started(), policies(tmp_path).load().viewer_passcode)
    assert not at.exception and titles(at) == ["Generate"]
    assert "The presenter has not given this studio a key." in rendered(at)
    assert "Add a key" not in rendered(at)


def test_a_click_after_a_new_passcode_sends_nothing(shared):
    store = policies(shared)
    store.save(viewers_may_generate=True)
    at = sign_in(started(), store.load().viewer_passcode)
    at.text_area(key="prompt").input("a lighthouse at dusk").run()
    gen = button(at, "Generate")
    assert not gen.disabled
    store.rotate_viewer_passcode()  # the button is on screen; the click comes after
    gen.click()
    at.run()
    assert not at.exception
    assert LogStore(db_path(shared)).count() == 0
    assert "Sign in" in [b.label for b in at.button]
