"""The Compare page under streamlit.testing's AppTest: no browser, the real offline backend,
a real log in a temporary data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.api.client import FluxClient
from components.api.contract import GenerationRequest
from components.compare.plan import parse_label, seeds_plan
from components.config import db_path
from components.images.store import ImageStore
from components.log.store import LogStore
from components.offline.server import OfflineBackend
from components.runner import Runner
from components.ui import handoff

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "compare.py")


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    return at


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def finish_run(at: AppTest) -> None:
    """The fragment polls in a browser; here: wait for the run, then rerun twice (the live
    grid draws the last cells, then the judging view replaces it)."""
    assert at.session_state["cmp_live"].run.wait(30)
    at.run()
    at.run()
    assert not at.exception


def plain(text: str) -> str:
    return text.replace("\\", "")


def test_template_expansion_is_previewed_and_fills_both_axes(data):
    at = page()
    at.segmented_control(key="cmp_mode").set_value("grid").run()
    at.text_area(key="cmp_prompt").input("a {red|blue|green} car at {dawn|night}").run()
    shown = plain(" ".join(texts(at)))
    assert "Expands to 6 prompts: red · dawn, red · night, blue · dawn" in shown
    # Prompt variants on X only: six columns; on both axes: colours by times of day.
    at.selectbox(key="cmp_x_param").set_value("prompt").run()
    assert "6 images · offline demo: no credits used" in plain(" ".join(texts(at)))
    at.selectbox(key="cmp_y_param").set_value("prompt").run()
    at.button(key="cmp_run").click().run()
    finish_run(at)
    rows = LogStore(db_path(data)).query()
    assert len(rows) == 6 and rows["group_id"].nunique() == 1
    labels = {parse_label(t) for t in rows["group_label"]}
    cell = next(lb for lb in labels if (lb.row, lb.col) == (1, 2))
    assert (cell.x, cell.y) == ("green", "night")
    prompt = rows.loc[rows["group_label"] == cell.to_json(), "prompt"].item()
    assert prompt == "a green car at night"
    headers = plain(" ".join(texts(at)))
    assert "**red**" in headers and "**night**" in headers


def test_grid_run_is_one_group_with_its_layout_and_each_cell_shows_seed_and_time(data):
    at = page()
    at.segmented_control(key="cmp_mode").set_value("grid").run()
    at.text_area(key="cmp_prompt").input("a lighthouse").run()
    at.multiselect(key="cmp_x_ratios").set_value(["1:1", "16:9", "9:21"]).run()
    at.selectbox(key="cmp_y_param").set_value("raw").run()
    at.number_input(key="cmp_seed").set_value(1234).run()
    at.button(key="cmp_run").click().run()
    finish_run(at)
    rows = LogStore(db_path(data)).query()
    assert len(rows) == 6 and set(rows["status"]) == {"ok"} and set(rows["seed"]) == {1234}
    layout = {(lb.row, lb.col): (lb.x, lb.y) for lb in map(parse_label, rows["group_label"])}
    assert layout[(0, 2)] == ("ratio=9:21", "raw=off") and layout[(1, 0)] == ("ratio=1:1", "raw=on")
    captions = [plain(c.value) for c in at.caption]
    assert sum(c.startswith("seed 1234 · ") and c.endswith(" s") for c in captions) == 6
    assert len(at.get("feedback")) == 6  # stars on every cell once it is done


def test_cost_guard_needs_a_confirmation_above_eight_images(data):
    at = page()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.number_input(key="cmp_seed_count").set_value(8).run()
    assert not at.checkbox and not at.button(key="cmp_run").disabled
    at.number_input(key="cmp_seed_count").set_value(12).run()
    assert "12 images · offline demo: no credits used" in plain(" ".join(texts(at)))
    assert at.button(key="cmp_run").disabled
    at.checkbox(key="cmp_confirm_12").check().run()
    assert not at.button(key="cmp_run").disabled
    at.button(key="cmp_run").click().run()
    finish_run(at)
    assert len(LogStore(db_path(data)).query()) == 12


def test_cancel_stops_what_has_not_started(data, monkeypatch):
    """The run after Run ends at once (the next one waits), so Cancel can be clicked here."""
    monkeypatch.setenv("FLUX_STUDIO_CONCURRENCY", "1")
    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "0.5")
    at = page()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.number_input(key="cmp_seed_count").set_value(6).run()
    at.button(key="cmp_run").click().run()
    at.button(key="cmp_cancel").click().run()
    finish_run(at)
    rows = LogStore(db_path(data)).query()
    # The one at the provider when Cancel landed finishes (none, if Cancel came first).
    assert len(rows) < 6 and set(rows["status"]) <= {"ok"}
    captions = [c.value for c in at.caption]
    gaps = [c for c in captions if "not run (cancelled)" in c]
    assert len(gaps) == 6 - len(rows)
    # The cancelled cells keep their headers (the seeds the plan had drawn).
    headers = [m.value for m in at.markdown if m.value.startswith("**seed")]
    assert len(headers) == 6 and not any("—" in h for h in headers)


def test_cost_line_with_a_key_shows_the_estimate_in_dollars(data, monkeypatch):
    monkeypatch.setenv("AIMLAPI_API_KEY", "test-key-not-real-0000")
    monkeypatch.setenv("AIMLAPI_BASE_URL", "http://127.0.0.1:9")
    at = page()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.number_input(key="cmp_seed_count").set_value(10).run()
    line = next(m.value for m in at.markdown if "images" in m.value)
    # Every $ is escaped (a bare one would start LaTeX); the rest reads as written.
    assert line.count("\\$") == 2
    assert plain(line) == "**10 images · estimated $0.60 at the list price of $0.06 per image**"


def test_problems_are_explained_and_block_the_run(data):
    at = page()
    at.segmented_control(key="cmp_mode").set_value("prompts").run()
    at.text_area(key="cmp_p1").input("only one prompt").run()
    assert "Write at least 2 prompts to compare." in plain(" ".join(texts(at)))
    assert at.button(key="cmp_run").disabled
    at.segmented_control(key="cmp_mode").set_value("seeds").run()
    at.segmented_control(key="cmp_seed_source").set_value("list").run()
    at.text_input(key="cmp_seed_list").input("12, twelve").run()
    assert "not: twelve" in plain(" ".join(texts(at)))
    assert at.button(key="cmp_run").disabled and not at.exception
    # What was typed is still there after switching modes.
    at.segmented_control(key="cmp_mode").set_value("prompts").run()
    assert at.text_area(key="cmp_p1").value == "only one prompt"


def test_an_over_long_prompt_is_kept_whole_and_explained(data):
    at = page()
    long_prompt = "word " * 900  # 4500 characters: a paste is never cut at the limit
    at.text_area(key="cmp_prompt").input(long_prompt).run()
    assert at.text_area(key="cmp_prompt").value == long_prompt
    assert "Prompt is 4500 characters long; the limit is 4000." in plain(" ".join(texts(at)))
    assert at.button(key="cmp_run").disabled and not at.exception


@pytest.fixture
def logged_group(data):
    """A seeds comparison already in the log, made without the page."""
    with OfflineBackend(latency=0) as backend:
        log_store, image_store = LogStore(db_path(data)), ImageStore(data)
        client = FluxClient(base_url=backend.base_url, sleep=lambda s: None)
        runner = Runner(client, log_store, image_store, backend="offline", session_id="s0")
        plan = seeds_plan(GenerationRequest("a fox in snow", aspect_ratio="1:1"), [21, 22, 23])
        jobs = plan.jobs("group-one")
        assert runner.submit(jobs).wait(60)
    return log_store, jobs


def test_reopening_a_group_sends_nothing_and_judging_lands_in_the_log(data, logged_group):
    log_store, jobs = logged_group
    before = log_store.count()
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state[handoff.COMPARE_GROUP] = "group-one"
    at.run()
    assert not at.exception
    assert at.segmented_control(key="cmp_mode").value == "log"
    shown = plain(" ".join(texts(at)))
    assert "**seed=21**" in shown and "**seed=23**" in shown
    assert "from the log: no new requests" in shown
    assert log_store.count() == before  # reopening is not a request

    at.feedback(key=f"cmp_star_{jobs[1].id}").set_value(2).run()  # the third star
    assert log_store.get(jobs[1].id)["rating"] == 3
    at.text_input(key=f"cmp_note_{jobs[1].id}").input("sharper fur").run()
    assert log_store.get(jobs[1].id)["note"] == "sharper fur"
    winner = at.button_group(key="cmp_win_group-one_0")
    winner.set_value(2).run()
    assert log_store.get(jobs[2].id)["rating"] == 5
    at.button_group(key="cmp_win_group-one_0").set_value(1).run()
    assert [log_store.get(j.id)["rating"] for j in jobs] == [None, 5, 4]
    assert not at.exception


def test_rows_handed_over_from_the_log_are_labelled_by_what_differs(data, logged_group):
    log_store, jobs = logged_group
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state[handoff.COMPARE_IDS] = [jobs[2].id, jobs[0].id]
    at.run()
    assert not at.exception
    shown = plain(" ".join(texts(at)))
    assert "**seed=23**" in shown and "**seed=21**" in shown
    assert shown.index("**seed=23**") < shown.index("**seed=21**")  # in the order given
    labels = [json.loads(t)["x"] for t in log_store.query()["group_label"]]
    assert sorted(labels) == ["seed=21", "seed=22", "seed=23"]


def test_a_flagged_cell_stays_hidden_until_revealed(data, logged_group):
    log_store, jobs = logged_group
    log_store.update(jobs[0].id, nsfw=True)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state[handoff.COMPARE_GROUP] = "group-one"
    at.run()
    notice = "flagged this image as NSFW"
    assert sum(notice in c.value for c in at.caption) == 1
    pictures = [i for i in at.get("image") if "result" in str(i.proto)]
    assert len(pictures) == 2  # the other two cells
    at.button(key=f"reveal_btn_{jobs[0].id}_0").click().run()
    assert not any(notice in c.value for c in at.caption) and not at.exception
    assert len([i for i in at.get("image") if "result" in str(i.proto)]) == 3


def test_out_of_credits_stops_the_rest_of_the_batch_and_says_so(data, monkeypatch, fault_server):
    fault_server.expect_request("/v1/images/generations").respond_with_json(
        {"message": "You've run out of credits", "statusCode": "403"}, status=403
    )
    fault_server.expect_request("/v2/billing").respond_with_json(
        {"current_balance": 5.0, "currency": "USD"}
    )
    monkeypatch.setenv("AIMLAPI_API_KEY", "sk-compare-403-0000")
    monkeypatch.setenv("AIMLAPI_BASE_URL", fault_server.url_for("").rstrip("/"))
    monkeypatch.setenv("FLUX_STUDIO_CONCURRENCY", "1")
    at = page()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.number_input(key="cmp_seed_count").set_value(4).run()
    at.button(key="cmp_run").click().run()
    finish_run(at)
    sent = [r for r, _ in fault_server.log if r.path.endswith("generations")]
    assert len(sent) == 1  # the first 403 kept the other three at home
    rows = LogStore(db_path(data)).query()
    assert len(rows) == 1 and rows["error_type"][0] == "permission"
    shown = " ".join(e.value for e in at.error)
    assert "The rest of the batch was not sent" in shown and "run out of credits" in shown


def test_a_run_landing_while_the_page_draws_leaves_run_enabled(data, lands_after_each_look):
    """The Run button drawn disabled must meet a grid that waits and then redraws the page,
    even when the run lands in between (see the Generate page's test of the same race)."""
    at = page()
    at.text_area(key="cmp_prompt").input("a red car").run()
    at.button(key="cmp_run").click().run()
    assert not at.exception
    if at.button(key="cmp_run").disabled:
        # Disabled is right only while the page has the next run coming (the one-shot trigger
        # that starts the waiting run); in a browser it fires by itself.
        assert "cmp_next_run" in [c.key for c in at.get("bidi_component")]
        at.run()
    assert not at.button(key="cmp_run").disabled
    assert len(at.get("feedback")) == 4  # the judging view, every cell landed
