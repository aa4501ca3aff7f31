"""How Generate shows what the provider answers: errors with their advice, NSFW, shape B."""

from __future__ import annotations

import base64
import json

import pytest
from werkzeug import Response

from apptest_utils import button, new_app, run_until
from samples import image_bytes

KEY = "sk-answers-0123456789-WXYZ"


@pytest.fixture
def provider(fault_server, monkeypatch, tmp_path):
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AIMLAPI_BASE_URL", fault_server.url_for("").rstrip("/"))
    monkeypatch.setenv("AIMLAPI_API_KEY", KEY)
    fault_server.expect_request("/v2/billing").respond_with_json(
        {"current_balance": 5.0, "currency": "USD"}
    )
    return fault_server


def generate(prompt: str):
    at = new_app()
    at.run()
    at.text_area(key="prompt").set_value(prompt)
    button(at, "Generate").click()
    return at


def test_429_is_retried_then_suggests_lower_concurrency(provider):
    provider.expect_request("/v1/images/generations").respond_with_json(
        {"message": "Too many requests", "requestId": "rid-429"},
        status=429,
        headers={"Retry-After": "0"},
    )
    at = generate("a busy day")
    run_until(at, lambda a: any("Rate limited" in e.value for e in a.error))
    text = " ".join(e.value for e in at.error)
    assert "Rate limited (429)" in text and "lower the concurrency limit" in text
    assert "3 attempts" in text and "rid\\-429" in text
    assert len([r for r, _ in provider.log if r.path.endswith("generations")]) == 3
    assert at.text_area(key="prompt").value == "a busy day"


def test_403_points_to_billing(provider):
    provider.expect_request("/v1/images/generations").respond_with_json(
        {"message": "You've run out of credits", "statusCode": "403"}, status=403
    )
    at = generate("anything")
    run_until(at, lambda a: any("403" in e.value for e in a.error))
    text = " ".join(e.value for e in at.error)
    assert "top up credits" in text and "run out of credits" in text


def answer_flagged(provider, seed: int) -> None:
    """Every generation answers one picture with `seed`, flagged NSFW."""
    answer = {
        "images": [{"url": provider.url_for(f"/cdn/{seed}.jpg"), "width": 64, "height": 36}],
        "seed": seed,
        "has_nsfw_concepts": [True],
    }
    provider.expect_request("/v1/images/generations").respond_with_json(answer)
    provider.expect_request(f"/cdn/{seed}.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )


def test_nsfw_images_stay_hidden_until_revealed(provider):
    answer_flagged(provider, 99)
    at = generate("something flagged")
    run_until(at, lambda a: any("flagged" in w.value for w in a.warning))
    assert any("flagged this image as NSFW" in w.value for w in at.warning)
    assert len(at.image) == 0
    assert button(at, "View").disabled  # the full-size view is no way around it
    button(at, "Reveal").click()
    at.run()
    assert not any("flagged this image as NSFW" in w.value for w in at.warning)
    assert len(at.image) == 1
    assert not button(at, "View").disabled


def test_a_flagged_picture_stays_out_of_the_strip_of_earlier_results(provider):
    """Earlier results are drawn as a strip of small pictures; a flagged one is revealed on
    its card only, never shown there."""
    answers = iter([(98, True), (99, False)])

    def answer(_request):
        seed, flagged = next(answers)
        body = {
            "images": [{"url": provider.url_for(f"/cdn/{seed}.jpg"), "width": 64, "height": 36}],
            "seed": seed,
            "has_nsfw_concepts": [flagged],
        }
        return Response(json.dumps(body), content_type="application/json")

    provider.expect_request("/v1/images/generations").respond_with_handler(answer)
    provider.expect_request("/cdn/98.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    provider.expect_request("/cdn/99.jpg").respond_with_data(
        image_bytes(color=(0, 90, 200)), content_type="image/jpeg"
    )
    at = generate("flagged first")
    run_until(at, lambda a: any("flagged" in w.value for w in a.warning))
    at.text_area(key="prompt").set_value("then a clean one")
    button(at, "Generate").click()
    run_until(at, lambda a: any("seed 99 ·" in c.value for c in a.caption))
    assert not at.exception
    shown = [i for element in at.image for i in element.proto.imgs]
    assert [i.alt for i in shown] == ["result, seed 99"]  # the flagged 98 is in no strip
    box = next(e for e in at.expander if e.label.startswith("Each in full"))
    at.session_state[box.key] = True  # its card, with the notice and its Reveal button
    at.run()
    assert any("flagged this image as NSFW" in w.value for w in at.warning)


def test_a_flagged_picture_answered_again_from_the_log_stays_hidden(provider):
    answer_flagged(provider, 77)
    at = new_app()
    at.run()
    at.text_area(key="prompt").set_value("flagged, twice")
    at.number_input(key="seed").set_value(77)
    button(at, "Generate").click()
    run_until(at, lambda a: any("flagged" in w.value for w in a.warning))
    button(at, "Generate").click()  # the same seeded request: answered from the log
    run_until(at, lambda a: any("From the log" in i.value for i in a.info))
    posts = [r for r, _ in provider.log if r.path.endswith("generations")]
    assert len(posts) == 1
    assert any("flagged this image as NSFW" in w.value for w in at.warning)
    assert len(at.image) == 0  # neither the card nor the strip shows it


def test_shape_b_says_the_seed_is_unknown_and_shows_credits(provider):
    png = image_bytes(48, 48, "PNG")

    def answer(_request):
        body = {
            "data": [{"url": None, "b64_json": base64.b64encode(png).decode()}],
            "meta": {"usage": {"credits_used": 120000}},
        }
        return Response(json.dumps(body), status=201, content_type="application/json")

    provider.expect_request("/v1/images/generations").respond_with_handler(answer)
    at = generate("a shape B answer")
    run_until(at, lambda a: any("not reported" in c.value for c in a.caption))
    assert any("seed not reported by the provider" in c.value for c in at.caption)
    summaries = [m.value for m in at.markdown if "credits" in m.value]
    assert any("120,000 credits" in m for m in summaries), summaries
