"""The Generate page's logic through streamlit.testing AppTest (no browser)."""

from __future__ import annotations

import re

import pytest

from apptest_utils import button, new_app, rendered, run_until
from components.log.store import LogStore


@pytest.fixture(autouse=True)
def offline_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "0")
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    monkeypatch.delenv("AIMLAPI_BASE_URL", raising=False)
    return tmp_path


def test_defaults_follow_the_contract():
    at = new_app()
    at.run()
    assert not at.exception
    assert at.text_area(key="prompt").value == ""
    assert at.selectbox(key="aspect_ratio").value == "16:9"
    assert at.button_group(key="num_images").value == 1
    assert at.number_input(key="seed").value is None
    assert at.toggle(key="raw").value is False
    assert at.button_group(key="output_format").value == "jpeg"
    assert at.select_slider(key="safety_tolerance").value == "2"
    assert at.toggle(key="safety_checker").value is True
    text = rendered(at)
    assert "Offline demo" in text and "no credits are used" in text


def test_query_params_prefill_the_form():
    at = new_app(prompt="A neon fox", seed="42", aspect_ratio="1:1", num_images="3", raw="true")
    at.run()
    assert at.text_area(key="prompt").value == "A neon fox"
    assert at.number_input(key="seed").value == 42
    assert at.selectbox(key="aspect_ratio").value == "1:1"
    assert at.button_group(key="num_images").value == 3
    assert at.toggle(key="raw").value is True


def test_unknown_ratio_in_link_falls_back_to_default():
    at = new_app(aspect_ratio="5:4")
    at.run()
    assert not at.exception
    assert at.selectbox(key="aspect_ratio").value == "16:9"


def test_empty_prompt_is_refused_next_to_the_field_and_logged(offline_env):
    at = new_app()
    at.run()
    button(at, "Generate").click()
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Prompt is empty" in e for e in errors)
    assert any("Nothing was sent" in e for e in errors)
    rows = LogStore(offline_env / "studio.db").query()
    assert len(rows) == 1 and rows.iloc[0]["error_type"] == "validation"


def test_too_long_prompt_is_refused_and_kept_as_typed():
    long_prompt = "word " * 900  # 4500 characters
    at = new_app()
    at.run()
    at.text_area(key="prompt").set_value(long_prompt)
    button(at, "Generate").click()
    at.run()
    assert at.text_area(key="prompt").value == long_prompt
    assert any("4500 characters" in e.value for e in at.error)
    assert not at.get("status")


def test_generate_shows_the_image_card_and_the_request():
    at = new_app()
    at.run()
    at.text_area(key="prompt").set_value("a red fox in snow")
    at.number_input(key="seed").set_value(1234)
    button(at, "Generate").click()
    run_until(at, lambda a: any("seed 1234" in c.value for c in a.caption))
    assert not at.exception
    # The card's short line: seed and time (the size is in View and Parameters).
    assert any(re.fullmatch(r"seed 1234 · \d+\\?\.\d s", c.value) for c in at.caption)
    assert not at.code  # drawn only when the user opens "Show request"
    request_box = next(e for e in at.expander if e.label == "Show request")
    at.session_state[request_box.key] = True  # what opening it in the browser does
    at.run()
    codes = [c.value for c in at.code]
    body = next(c for c in codes if c.startswith('{\n  "model"'))
    curl = next(c for c in codes if c.startswith("curl"))
    python = next(c for c in codes if c.startswith("import requests"))
    assert '"seed": 1234' in body and '"model": "flux-pro/v1.1-ultra"' in body
    assert "Bearer <YOUR_AIMLAPI_KEY>" in curl and "1234" in curl
    assert "Bearer <YOUR_AIMLAPI_KEY>" in python  # a placeholder, never a key


def test_earlier_results_are_one_strip_of_pictures_with_their_cards_a_click_away():
    at = new_app()
    at.run()
    at.button_group(key="num_images").set_value(3)
    for seed in (11, 12, 13, 14):
        at.number_input(key="seed").set_value(seed)
        at.text_area(key="prompt").set_value(f"a fox, take {seed}")
        button(at, "Generate").click()
        run_until(at, lambda a, s=seed: any(c.value.startswith(f"seed {s} · ") for c in a.caption))
    assert not at.exception
    strip = [i for element in at.image for i in element.proto.imgs if i.alt.startswith("earlier")]
    # Newest first, at most eight pictures: 3 of take 13, 3 of take 12, 2 of take 11.
    assert [i.caption for i in strip] == ["seed 13"] * 3 + ["seed 12"] * 3 + ["seed 11"] * 2
    assert len({i.url for i in strip}) == 8
    # Their cards (with times and every action) are drawn only once the expander is open.
    assert not any(c.value.startswith("seed 13 · ") for c in at.caption)
    assert any(c.value == "Earlier in this session (3)" for c in at.caption)
    box = next(e for e in at.expander if e.label.startswith("Each in full"))
    at.session_state[box.key] = True
    at.run()
    for seed in (11, 12, 13):
        assert any(re.fullmatch(rf"seed {seed} · \d+\\?\.\d s", c.value) for c in at.caption)


def test_provider_text_is_escaped_not_rendered():
    at = new_app()
    at.run()
    at.text_area(key="prompt").set_value("**bold** <b>x</b> :red[alarm] $x$")
    button(at, "Generate").click()
    run_until(at, lambda a: any("offline" in m.value for m in a.markdown if "bold" in m.value))
    summaries = [m.value for m in at.markdown if "bold" in m.value]
    assert summaries and all("\\*\\*bold\\*\\*" in s and "\\:red\\[" in s for s in summaries)


def test_a_second_send_while_a_run_is_in_flight_sends_nothing(monkeypatch, offline_env):
    """A second Generate reaching the server before the button is drawn disabled (a
    double-click, a second Ctrl+Enter, a "run again" hand-off from another page) must not send,
    and pay for, a request twice. AppTest cannot click a disabled button, so the second send
    comes as the hand-off, which calls the same handler."""
    from components.api.contract import GenerationRequest
    from components.ui import handoff

    monkeypatch.setenv("FLUX_STUDIO_OFFLINE_LATENCY", "1")
    at = new_app()
    at.run()
    at.text_area(key="prompt").input("one click, one charge").run()
    # The click's callback sends first; the hand-off then arrives in the same script run, with
    # the first request in flight (the page waits for it at its end, so AppTest cannot act
    # between the two).
    at.session_state[handoff.GENERATE_REQUEST] = GenerationRequest("one click, one charge")
    at.session_state[handoff.GENERATE_AUTORUN] = True
    button(at, "Generate").click().run()
    assert not at.exception
    log = LogStore(offline_env / "studio.db")
    assert log.count() == 1
    log.close()


def test_a_run_landing_while_the_page_draws_leaves_generate_enabled(lands_after_each_look):
    """Found by bench/latency.py: at latency 0 a run landed between the disabled button and
    the results, the results drew it as done and nothing redrew the button: it stayed
    disabled until the user touched something else."""
    at = new_app()
    at.run()
    at.text_area(key="prompt").input("a lighthouse at dusk").run()
    button(at, "Generate").click().run()
    assert not at.exception
    assert any(m.value.startswith("**Done") for m in at.markdown)
    assert not button(at, "Generate").disabled
