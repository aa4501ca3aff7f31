"""Browser tests: the real app under `streamlit run`, driven by Debian's Chromium via Playwright.

Each app gets its own data folder and environment, so runs never share state. Without a browser
the tests skip locally but fail under CI, so a missing Chromium can never pass silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from people import frame_text

from app_process import CHROMIUM_ARGS, App, chromium_path, start_app

pytestmark = pytest.mark.e2e
LOG_TAIL = 4000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test carries the app's own log and what the page showed, so a failure
    seen only in CI can be read from CI's output."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    for name, value in funcargs.items():
        if isinstance(value, App) and value.log_path.exists():
            tail = value.log_path.read_text(errors="replace")[-LOG_TAIL:]
            report.sections.append((f"app log ({name}, last {LOG_TAIL} characters)", tail))
    page = funcargs.get("page")
    if page is not None:
        try:
            shown = f"{page.url}\n{page.locator('body').inner_text(timeout=2000)}"
        except Exception as error:  # the page may be gone; the log above still helps
            shown = f"(could not read the page: {error})"
        report.sections.append(("page text", shown[-LOG_TAIL:]))


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = chromium_path()
    if path is None:
        message = "No Chromium found (install Debian's chromium or set FLUX_STUDIO_CHROMIUM)."
        if os.environ.get("CI"):
            pytest.fail(message + " Browser tests must not be skipped in CI.")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_executable):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    """One offline app per test module (no key anywhere in its environment)."""
    started = start_app(tmp_path_factory.mktemp("app"))
    yield started
    started.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    frames: list[str] = []

    def watch(ws):
        ws.on("framereceived", lambda payload: frames.append(frame_text(payload)))
        ws.on("framesent", lambda payload: frames.append(frame_text(payload)))

    page.on("websocket", watch)
    page.ws_frames = frames
    yield page
    context.close()
