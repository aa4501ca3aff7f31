"""Two app processes (`streamlit run` twice) on one PostgreSQL database and one data folder,
as a team runs the studio behind a load balancer: a picture made through one is in the other's
Session log, the provider's concurrency limit holds across both (a stand-in provider counts
the requests in flight), and a budget with room for one more image lets exactly one of two
simultaneous clicks (one per replica) through."""

from __future__ import annotations

import re
import time

import counting_provider
import pytest
from playwright.sync_api import Page, expect
from test_compare_flow import RESULTS, fill

from browser import image_sources, no_exception, open_app, settle, type_prompt
from components.api.contract import PRICE_USD_PER_IMAGE
from components.log.store import LogStore
from components.sharing.budget import Ledger
from components.sharing.policy import PolicyStore
from conftest import start_app

KEY = "test-key-replicas-0000"
LIMIT = 2  # the presenter's provider concurrency, for the whole studio
LATENCY_S = 0.8


@pytest.fixture(scope="module")
def provider():
    """A stand-in provider that takes LATENCY_S per request and counts requests in flight."""
    server = counting_provider.start(lambda seed: LATENCY_S, balance=50.0)
    yield server
    counting_provider.stop(server)


def _env(provider, url: str) -> dict[str, str]:
    return {
        "AIMLAPI_API_KEY": KEY,
        "AIMLAPI_BASE_URL": provider.url_for("/"),
        "FLUX_STUDIO_DB_URL": url,
        "FLUX_STUDIO_REUSE": "0",
    }


@pytest.fixture(scope="module")
def team(tmp_path_factory, pg_server, provider):
    url = pg_server.url(pg_server.create())
    store = LogStore(url)
    PolicyStore(store).save(concurrency=LIMIT)
    shared = tmp_path_factory.mktemp("team")  # one data folder for both
    apps = [start_app(shared, **_env(provider, url)), start_app(shared, **_env(provider, url))]
    yield apps, store, provider.flight
    for app in apps:
        app.stop()
    store.close()


@pytest.fixture(scope="module")
def team_with_a_bucket(tmp_path_factory, pg_server, provider, s3_server):
    """Two replicas with a data folder each (nothing shared on disk) and one bucket."""
    import boto3

    name = "team-" + str(int(time.time()))
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=name)
    url = pg_server.url(pg_server.create())
    store = LogStore(url)
    env = {
        **_env(provider, url),
        "FLUX_STUDIO_MEDIA_URL": f"s3://{name}/studio",
        "FLUX_STUDIO_S3_ENDPOINT": s3_server,
        "FLUX_STUDIO_S3_REGION": "us-east-1",
    }
    apps = [start_app(tmp_path_factory.mktemp(f"own{i}"), **env) for i in range(2)]
    yield apps, store, name, s3_server
    for app in apps:
        app.stop()
    store.close()


@pytest.fixture
def pages(browser):
    contexts = [browser.new_context(viewport={"width": 1500, "height": 1000}) for _ in range(2)]
    tabs = [c.new_page() for c in contexts]
    for tab in tabs:
        tab.set_default_timeout(20_000)
    yield tabs
    for context in contexts:
        context.close()


def test_a_picture_made_through_one_replica_is_in_the_others_log(team, pages):
    (one, two), store, _ = team
    first, second = pages
    open_app(first, one.url)
    type_prompt(first, "A harbour seen from replica one, watercolour")
    before = image_sources(first)
    first.get_by_role("button", name="Generate").click()
    expect(first.locator('main img[alt^="result"]')).to_have_count(1, timeout=20_000)
    assert image_sources(first) - before
    open_app(second, two.url + "/session_log")
    # The table is a canvas: its line counts the row the other replica made.
    expect(second.get_by_text("Rows 1–1 of 1, newest first")).to_be_visible()
    rows = store.query()
    assert len(rows) == 1 and rows["status"].iloc[0] == "ok"
    no_exception(first)
    no_exception(second)


def _compare_ready(page: Page, url: str) -> None:
    open_app(page, url + "/compare")
    fill(page, "Prompt", "A lantern on a jetty")
    expect(page.get_by_text("4 images · estimated")).to_be_visible()


def test_the_provider_limit_holds_across_replicas(team, pages):
    (one, two), store, flight = team
    for page, app in zip(pages, (one, two), strict=True):
        _compare_ready(page, app.url)
    before, flight["most"] = flight["sent"], 0
    ok_before = int((store.query()["status"] == "ok").sum())
    for page in pages:  # four requests each, at once: eight asked for, two at a time
        page.get_by_role("button", name="Run comparison").click()
    for page in pages:
        expect(page.locator(RESULTS)).to_have_count(4, timeout=30_000)
        expect(page.get_by_role("button", name="Contact sheet (PNG)")).to_be_visible()
        settle(page)
        no_exception(page)
    assert flight["sent"] - before == 8
    assert flight["most"] == LIMIT  # reached, never passed, though each replica allows two
    rows = store.query()
    assert (rows["status"] == "ok").sum() == ok_before + 8  # nothing lost


def _outcome(page: Page, before: set[str], timeout: float = 30) -> str:
    refused = page.locator('[data-testid="stAlert"]').filter(has_text="Nothing was sent")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if image_sources(page) - before:
            return "image"
        if refused.count():
            return "refused"
        page.wait_for_timeout(50)
    raise AssertionError("the click led to neither a new image nor a refusal")


def test_the_last_image_the_budget_allows_is_made_once(team, pages):
    (one, two), store, _ = team
    spent = Ledger(store).usage().studio_usd
    # Room for one more image, not two.
    PolicyStore(store).save(studio_budget_usd=round(spent + PRICE_USD_PER_IMAGE * 1.5, 2))
    for page, app in zip(pages, (one, two), strict=True):
        open_app(page, app.url)
        type_prompt(page, "The last picture of the day, ink")
    before = [image_sources(p) for p in pages]
    rows_before = len(store.query())
    for page in pages:
        page.get_by_role("button", name="Generate").click()
    results = sorted(_outcome(p, b) for p, b in zip(pages, before, strict=True))
    assert results == ["image", "refused"]
    for page in pages:
        settle(page)
        no_exception(page)
    assert len(store.query()) == rows_before + 1


def test_with_a_bucket_a_picture_made_on_one_replica_shows_on_the_other(team_with_a_bucket, pages):
    (one, two), store, bucket, endpoint = team_with_a_bucket
    first, second = pages
    open_app(first, one.url + "/compare")
    fill(first, "Prompt", "A bucket of shells on the sand")
    first.get_by_role("radio", name="My list").click()
    settle(first)
    fill(first, "Seed list", "41, 42")
    first.get_by_role("button", name="Run comparison").click()
    expect(first.locator(RESULTS)).to_have_count(2, timeout=20_000)
    expect(first.get_by_role("button", name="Contact sheet (PNG)")).to_be_visible()
    rows = store.query()
    paths = [p for ps in rows["image_paths"] for p in ps]
    thumbs = [p for ps in rows["thumb_paths"] for p in ps]
    assert len(paths) == len(thumbs) == 2
    # Replica two has no copy on its disk: it reads the bucket.
    assert not any((two.data_dir / p).exists() for p in paths + thumbs)
    open_app(second, two.url + "/compare")
    second.get_by_role("radio", name="From the log").click()
    settle(second)
    second.get_by_role("combobox", name="Reopen a past comparison").click()
    second.get_by_role("option", name=re.compile("2 images · A bucket of shells")).click()
    settle(second)
    second.get_by_role("button", name="Reopen", exact=True).click()
    expect(second.locator(RESULTS)).to_have_count(2)
    no_exception(second)
    # The grid shows thumbnails: fetched from the bucket and kept as a cache.
    assert all((two.data_dir / p).exists() for p in thumbs)
    import boto3

    listing = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_objects_v2(
        Bucket=bucket
    )
    keys = {item["Key"] for item in listing.get("Contents", [])}
    assert {"studio/" + p for p in paths + thumbs} <= keys
    # No credential of the bucket reached the page.
    assert "studio-test-secret" not in second.content()
