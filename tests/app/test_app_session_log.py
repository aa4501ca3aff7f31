"""The Session log page through streamlit.testing AppTest, on a log of 10,000 generated rows."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import button, new_app, rendered
from components.images.store import ImageStore
from components.log import archive as log_archive
from components.log.sample import SampleLog, fill
from components.log.store import LogFilter, LogStore
from components.ui import handoff
from components.ui.safe import md_escape

ROWS = 10_000
LOG_PAGE = "pages/session_log.py"


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, SampleLog]:
    """10,000 rows over a week, the newest 12 successful ones with real image files."""
    folder = tmp_path_factory.mktemp("log10k")
    log = LogStore(folder / "studio.db")
    sample = fill(log, ImageStore(folder), rows=ROWS, with_images=12)
    log.close()
    return folder, sample


def use(monkeypatch, folder: Path) -> tuple[LogStore, ImageStore]:
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(folder))
    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "0")
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    monkeypatch.delenv("AIMLAPI_BASE_URL", raising=False)
    return LogStore(folder / "studio.db"), ImageStore(folder)


@pytest.fixture
def shared(monkeypatch, big):
    """The 10,000-row log, read only."""
    folder, sample = big
    log, images = use(monkeypatch, folder)
    return log, images, sample


@pytest.fixture
def own(monkeypatch, big, tmp_path):
    """A private copy of the 10,000-row log, for tests that change it."""
    folder, sample = big
    copy = tmp_path / "data"
    shutil.copytree(folder, copy)
    log, images = use(monkeypatch, copy)
    return log, images, sample


def open_log(at: AppTest | None = None) -> AppTest:
    at = at or new_app()
    at.run()
    at.switch_page(LOG_PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def table(at: AppTest):
    return next(d for d in at.dataframe if (d.key or "").startswith("log_table_"))


def select(at: AppTest, positions: list[int]) -> AppTest:
    at.session_state[table(at).key] = {"selection": {"rows": positions}}
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_renders_10k_rows_with_figures_from_the_store(shared):
    log, _, _ = shared
    at = open_log()
    assert [t.value for t in at.title] == ["Session log"]
    assert metric(at, "Generations") == f"{ROWS:,}"
    errors = log.count(status="error")
    assert metric(at, "Success rate") == f"{(ROWS - errors) / ROWS:.1%}"
    assert metric(at, "Median request").endswith(" s")
    assert metric(at, "Spent (USD)").startswith("$")
    page = table(at).value
    assert len(page) == 100
    newest = log.query(limit=100)
    assert page["prompt"].tolist() == newest["prompt"].tolist()
    assert page["seed"].tolist() == newest["seed"].tolist()
    assert page["thumb"].notna().sum() >= 10  # data URLs for rows with images
    assert str(page["thumb"].dropna().iloc[0]).startswith("data:image/jpeg;base64,")
    assert any("Rows 1–100 of 10,000" in c.value for c in at.caption)


def test_pages_come_from_sql_limit_and_offset(shared):
    log, _, _ = shared
    at = open_log()
    at.selectbox(key="log_page_size").set_value(50).run()
    assert len(table(at).value) == 50
    pager = at.get("pagination")[0]
    assert pager.num_pages == ROWS // 50
    pager.set_value(3).run()
    assert not at.exception
    expected = log.query(limit=50, offset=100)["prompt"].tolist()
    assert table(at).value["prompt"].tolist() == expected
    assert any("Rows 101–150 of 10,000" in c.value for c in at.caption)


def test_charts_render_for_the_filtered_rows(shared):
    at = open_log()
    at.button_group(key="log_f_status").set_value("error").run()
    at.session_state["log_tab"] = "Charts"
    at.run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3  # no successful rows: the ratio chart says so in words
    assert "No successful requests match the filters." in [c.value for c in at.caption]
    at.button_group(key="log_f_status").set_value(None).run()
    assert len(at.get("vega_lite_chart")) == 4
    assert any("random sample of 2,000 of 10,000" in c.value for c in at.caption)


def _now_floor() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


FILTERS = [
    ("text", lambda at: at.text_input(key="log_f_text").set_value("FOX"), LogFilter(text="fox")),
    ("status", lambda at: at.button_group(key="log_f_status").set_value("error"), None),
    ("ratio", lambda at: at.multiselect(key="log_f_ratios").set_value(["1:1", "21:9"]), None),
    ("raw", lambda at: at.button_group(key="log_f_raw").set_value(True), LogFilter(raw=True)),
    ("backend", lambda at: at.button_group(key="log_f_backend").set_value("aimlapi"), None),
    ("rating", lambda at: at.selectbox(key="log_f_rating").set_value(4), None),
]
EXPECTED = {
    "status": LogFilter(status="error"),
    "ratio": LogFilter(aspect_ratios=("1:1", "21:9")),
    "backend": LogFilter(backend="aimlapi"),
    "rating": LogFilter(min_rating=4),
}


@pytest.mark.parametrize("name, set_filter, expected", FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter_narrows_rows_metrics_and_table(shared, name, set_filter, expected):
    log, _, _ = shared
    expected = expected or EXPECTED[name]
    at = open_log()
    set_filter(at)
    at.run()
    assert not at.exception
    count = log.count(expected)
    assert 0 < count < ROWS
    assert metric(at, "Generations") == f"{count:,}"
    page = table(at).value
    assert len(page) == min(100, count)
    assert page["prompt"].tolist() == log.query(expected, limit=100)["prompt"].tolist()


def test_time_and_group_filters(shared):
    log, _, _ = shared
    at = open_log()
    at.selectbox(key="log_f_when").set_value("24h").run()
    shown = int(metric(at, "Generations").replace(",", ""))
    now = _now_floor()
    candidates = {log.count(since=t - timedelta(days=1)) for t in (now, now - timedelta(minutes=1))}
    assert shown in candidates and 0 < shown < ROWS

    at.selectbox(key="log_f_when").set_value("any").run()
    group = log.groups()["group_id"].iloc[0]
    at.selectbox(key="log_f_group").set_value(group).run()
    assert metric(at, "Generations") == str(log.count(group_id=group))

    button(at, "Clear filters").click().run()
    assert metric(at, "Generations") == f"{ROWS:,}"


def test_this_session_only_shows_nothing_from_other_sessions(shared):
    at = open_log()
    at.button_group(key="log_f_scope").set_value("mine").run()
    assert not at.exception
    assert metric(at, "Generations") == "0"
    assert "No requests match these filters." in [i.value for i in at.info]


def test_filters_combine_in_one_query(shared):
    log, _, _ = shared
    at = open_log()
    at.text_input(key="log_f_text").set_value("lighthouse")
    at.button_group(key="log_f_status").set_value("ok")
    at.multiselect(key="log_f_ratios").set_value(["16:9"])
    at.button_group(key="log_f_raw").set_value(False)
    at.run()
    filt = LogFilter(text="lighthouse", status="ok", aspect_ratios=("16:9",), raw=False)
    assert metric(at, "Generations") == f"{log.count(filt):,}"


def _rows(log: LogStore, at: AppTest, positions: list[int]) -> list[dict]:
    page = log.query(limit=len(table(at).value))
    return [page.iloc[p].to_dict() for p in positions]


def test_selecting_a_row_shows_every_detail(shared):
    log, _, _ = shared
    at = open_log()
    select(at, [1])
    (row,) = _rows(log, at, [1])
    text = rendered(at)
    assert f"seed {row['seed']}" in text
    assert row["prompt"] in [c.value for c in at.code]
    assert row["request_id"] in text and row["id"] in text
    assert {"Re-run in Generate", "Reuse seed", "Delete 1 row…"} <= {b.label for b in at.button}
    assert at.get("feedback")


def test_failed_row_shows_its_error_text(shared):
    log, _, _ = shared
    at = open_log()
    at.button_group(key="log_f_status").set_value("error").run()
    select(at, [0])
    row = log.query(LogFilter(status="error"), limit=1).iloc[0]
    errors = " ".join(e.value for e in at.error)
    assert row["error_message"].split(":")[0] in errors.replace("\\", "")


def test_rating_and_note_are_saved_on_change(own):
    log, _, _ = own
    at = open_log()
    select(at, [2])
    (row,) = _rows(log, at, [2])
    at.get("feedback")[0].set_value(2).run()  # the third star
    assert log.get(row["id"])["rating"] == 3
    at.text_input(key=f"log_note_{row['id']}").set_value("  use for the deck ").run()
    assert not at.exception
    assert log.get(row["id"])["note"] == "use for the deck"


def test_rerun_in_generate_prefills_the_form(shared):
    log, _, _ = shared
    at = open_log()
    at.button_group(key="log_f_raw").set_value(True).run()
    at.button_group(key="log_f_status").set_value("ok").run()
    select(at, [0])
    row = log.query(LogFilter(raw=True, status="ok"), limit=1).iloc[0]
    button(at, "Re-run in Generate").click().run()
    assert not at.exception
    assert at.text_area(key="prompt").value == row["prompt"]
    assert at.number_input(key="seed").value == row["seed"]
    assert at.selectbox(key="aspect_ratio").value == row["aspect_ratio"]
    assert at.toggle(key="raw").value is True
    assert at.button_group(key="num_images").value == row["num_images"]
    assert not at.get("image")  # pre-filled, not sent: the user clicks Generate once


def test_reuse_seed_carries_only_the_seed(shared):
    log, _, _ = shared
    at = open_log()
    at.button_group(key="log_f_status").set_value("ok").run()
    select(at, [3])
    row = log.query(LogFilter(status="ok"), limit=4).iloc[3]
    button(at, "Reuse seed").click().run()
    assert at.number_input(key="seed").value == row["seed"]
    assert at.text_area(key="prompt").value == ""


@pytest.fixture
def compare_calls(monkeypatch) -> list[dict]:
    """Record hand-offs to Compare (that page belongs to its own tests)."""
    calls: list[dict] = []
    monkeypatch.setattr(handoff, "to_compare", lambda **kw: calls.append(kw))
    return calls


def test_two_to_four_rows_go_to_compare(shared, compare_calls):
    log, _, _ = shared
    at = open_log()
    select(at, [0, 2, 5])
    assert button(at, "Compare 3 side by side").disabled is False
    button(at, "Compare 3 side by side").click().run()
    expected = log.query(limit=6)["id"].iloc[[0, 2, 5]].tolist()
    assert compare_calls == [{"ids": expected}]
    select(at, [0, 1, 2, 3, 4])
    assert button(at, "Compare side by side").disabled is True


def test_open_the_comparison_group_of_a_row(shared, compare_calls):
    log, _, _ = shared
    group = log.groups()["group_id"].iloc[0]
    at = open_log()
    at.selectbox(key="log_f_group").set_value(group).run()
    select(at, [0])
    button(at, "Open comparison group").click().run()
    assert compare_calls == [{"group_id": group}]


def test_delete_asks_first_then_removes_rows_and_their_files(own):
    log, images, sample = own
    at = open_log()
    page_ids = log.query(limit=100, columns=["id"])["id"].tolist()
    targets = sample.with_images[:2]
    select(at, [page_ids.index(t) for t in targets])
    rows = [log.get(t) for t in targets]
    files = [images.abs_path(p) for r in rows for p in r["image_paths"] + r["thumb_paths"]]
    assert len(files) == 4 and all(f.exists() for f in files)

    button(at, "Delete 2 rows…").click().run()
    assert any("Delete 2 row(s) and their 2 image file(s)?" in w.value for w in at.warning)
    assert log.count() == ROWS  # nothing happens before the second click
    button(at, "Cancel").click().run()
    assert not any("Delete 2 row(s)" in w.value for w in at.warning)
    assert log.count() == ROWS

    button(at, "Delete 2 rows…").click().run()
    button(at, "Delete for good").click().run()
    assert not at.exception
    assert log.count() == ROWS - 2
    assert all(log.get(t) is None for t in targets)
    assert not any(f.exists() for f in files)
    assert "Deleted 2 row(s) and 4 file(s) (originals and thumbnails)." in [
        s.value for s in at.success
    ]
    assert metric(at, "Generations") == f"{ROWS - 2:,}"
    assert not table(at).value["prompt"].isin([r["prompt"] for r in rows]).any()


def _import(at: AppTest, name: str, data: bytes) -> str:
    at.session_state["log_tab"] = "Import & export"
    at.run()
    at.file_uploader(key="log_import_file").set_value((name, data, "application/octet-stream"))
    at.run()
    button(at, "Import").click().run()
    assert not at.exception
    return " ".join(m.value for m in [*at.success, *at.warning, *at.error])


def test_export_then_import_round_trips_with_no_duplicates(own, tmp_path, monkeypatch):
    log, images, _ = own
    at = open_log()
    at.button_group(key="log_f_status").set_value("ok").run()
    at.multiselect(key="log_f_ratios").set_value(["16:9"]).run()
    at.session_state["log_tab"] = "Import & export"
    at.run()
    assert [b.label for b in at.get("download_button")] == ["Download CSV", "Report (HTML)"]
    filt = LogFilter(status="ok", aspect_ratios=("16:9",))
    exported = log.count(filt)
    data = log_archive.export_bytes(log, images, filt, "JSON")  # what the button sends
    assert len(json.loads(data)) == exported

    message = _import(at, "flux-session-log.json", data)
    assert f"0 new row(s) added, {exported:,} already in the log, 0 refused" in message
    assert log.count() == ROWS

    empty = tmp_path / "other"
    other, _ = use(monkeypatch, empty)
    at2 = open_log()
    assert "No requests yet" in " ".join(i.value for i in at2.info)
    message = _import(at2, "flux-session-log.json", data)
    assert f"{exported:,} new row(s) added, 0 already in the log" in message
    assert other.count() == exported
    message = _import(open_log(), "flux-session-log.json", data)
    assert other.count() == exported
    assert f"0 new row(s) added, {exported:,} already in the log" in message


def test_zip_import_restores_rows_and_images(own, tmp_path, monkeypatch):
    log, images, sample = own
    data = log_archive.export_bytes(
        log, images, LogFilter(ids=tuple(sample.with_images)), "ZIP with images"
    )
    other, other_images = use(monkeypatch, tmp_path / "restored")
    message = _import(open_log(), "backup.zip", data)
    assert "12 new row(s) added" in message and "Images: 12 restored" in message
    rel = log.get(sample.with_images[0])["image_paths"][0]
    assert other_images.read_bytes(rel) == images.read_bytes(rel)


def test_a_broken_file_is_refused_with_a_reason(shared):
    message = _import(open_log(), "broken.zip", b"not a zip")
    assert "Nothing imported" in message and "ZIP" in message


def _read_image(at: AppTest, data: bytes, name: str = "flux.jpg") -> AppTest:
    at.session_state["log_tab"] = "Read an image"
    at.run()
    at.file_uploader(key="log_read_image").set_value((name, data, "image/jpeg"))
    at.run()
    assert not at.exception
    return at


def test_read_parameters_from_a_saved_image_and_load_them(shared):
    log, images, sample = shared
    row = log.get(sample.with_images[0])
    data = images.read_bytes(row["image_paths"][0])
    at = _read_image(open_log(), data)
    params = json.loads(at.code[0].value)
    assert params["seed"] == row["seed"] and params["prompt"] == row["prompt"]
    button(at, "Load into Generate").click().run()
    assert not at.exception
    assert at.text_area(key="prompt").value == row["prompt"]
    assert at.number_input(key="seed").value == row["seed"]
    assert at.selectbox(key="aspect_ratio").value == row["aspect_ratio"]


def test_an_image_from_elsewhere_says_it_has_no_parameters(shared):
    from samples import image_bytes

    at = _read_image(open_log(), image_bytes())
    assert any("No FLUX Ultra Studio parameters" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label == "Load into Generate"]


def test_user_and_provider_text_is_shown_never_rendered(monkeypatch, tmp_path):
    log, _ = use(monkeypatch, tmp_path / "hostile")
    hostile = "**bold** <img src=x onerror=alert(1)> :red[red] $x^2$ [link](http://evil)"
    log.append(
        {
            "prompt": hostile,
            "status": "error",
            "error_type": "bad_request",
            "error_message": hostile,
            "note": hostile,
            "aspect_ratio": "1:1",
            "request_s": 0.5,
        }
    )
    at = open_log()
    select(at, [0])
    assert hostile in [c.value for c in at.code]  # the prompt, verbatim, as code
    assert at.text_input(key=f"log_note_{log.query()['id'][0]}").value == hostile
    shown = [e.value for e in [*at.markdown, *at.error, *at.caption, *at.warning, *at.info]]
    assert any(md_escape(hostile) in value for value in shown)  # the error text, escaped
    for value in shown:
        assert "**bold**" not in value and "[link](" not in value
        assert value.count("<img") == value.count("\\<img")
    assert "unsafe_allow_html: true" not in rendered(at)


def test_flagged_images_stay_hidden_until_revealed(own):
    log, _, sample = own
    flagged = sample.with_images[0]
    log.update(flagged, nsfw=True)
    at = open_log()
    page_ids = log.query(limit=100, columns=["id"])["id"].tolist()
    spot = page_ids.index(flagged)
    assert pd.isna(table(at).value["thumb"].iloc[spot])  # no thumbnail in the table
    select(at, [spot])
    assert any("flagged this image as NSFW" in w.value for w in at.warning)
    assert not at.get("image")
    button(at, "Reveal").click().run()
    assert not at.exception
    assert len(at.get("image")) == 1


def test_picked_days_are_the_users_local_days():
    from zoneinfo import ZoneInfo

    from components.ui.session_log.filters import time_window

    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 5, 3, 12, tzinfo=UTC)
    since, until = time_window("dates", now, (date(2026, 5, 1), date(2026, 5, 2)), tokyo)
    assert since == datetime(2026, 4, 30, 15, tzinfo=UTC)  # midnight in Tokyo, in UTC
    assert until == datetime(2026, 5, 2, 15, tzinfo=UTC) - timedelta(microseconds=1)
    assert time_window("7d", now, None, tokyo) == (now - timedelta(days=7), None)
    assert time_window("any", now, None, tokyo) == (None, None)


def test_images_fit_their_box_whatever_their_shape():
    from components.ui.session_log.data import fit_width

    assert fit_width(2752, 1536, 520, 380) == 520  # landscape: the box's width
    assert fit_width(1536, 2752, 520, 380) == 212  # portrait: held to the box's height
    assert fit_width(None, None, 520, 380) == 520
