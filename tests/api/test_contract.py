"""The request model against the provider's own schema files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from components.api.contract import (
    ASPECT_RATIOS,
    ASPECT_SIZES,
    MODEL,
    MODEL_RAW,
    PROMPT_MAX_CHARS,
    GenerationRequest,
    ValidationError,
    estimate_cost_usd,
    valid_client_request_id,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def _schema(raw: bool) -> Draft7Validator:
    if raw:
        doc = json.loads((SCHEMAS / "flux-pro-v1.1-ultra-raw.request.schema.json").read_text())
        schema = doc["schema"]
    else:
        doc = json.loads((SCHEMAS / "flux-pro-v1.1-ultra.openapi.json").read_text())
        post = doc["paths"]["/v1/images/generations"]["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
    return Draft7Validator(schema)


PLAIN, RAW = _schema(False), _schema(True)


def assert_schema_valid(body: dict) -> None:
    validator = RAW if body["model"] == MODEL_RAW else PLAIN
    errors = [e.message for e in validator.iter_errors(body)]
    assert errors == [], errors


def test_defaults_follow_the_contract():
    req = GenerationRequest("A T-Rex relaxing on a beach")
    body = req.to_body()
    assert body == {
        "model": MODEL,
        "prompt": "A T-Rex relaxing on a beach",
        "num_images": 1,
        "aspect_ratio": "16:9",
        "output_format": "jpeg",
        "safety_tolerance": "2",
        "enable_safety_checker": True,
        "raw": False,
    }
    assert_schema_valid(body)
    assert req.size == (2752, 1536)


def test_raw_mode_uses_the_raw_model_and_its_schema():
    body = GenerationRequest("x", raw=True, seed=42).to_body()
    assert body["model"] == MODEL_RAW and body["raw"] is True and body["seed"] == 42
    assert_schema_valid(body)
    # The plain model's schema refuses raw: true, which is why raw goes to the -raw model id.
    assert list(PLAIN.iter_errors({**body, "model": MODEL}))


def test_every_ratio_has_its_size_and_about_four_megapixels():
    assert set(ASPECT_RATIOS) == set(ASPECT_SIZES)
    for ratio, (w, h) in ASPECT_SIZES.items():
        a, b = (int(x) for x in ratio.split(":"))
        assert abs(w / h - a / b) < 0.05
        assert 3_900_000 < w * h < 4_400_000


def test_validation_lists_every_problem_by_field():
    bad = GenerationRequest(
        prompt="x" * (PROMPT_MAX_CHARS + 1),
        seed="abc",
        num_images=0,
        aspect_ratio="5:4",
        output_format="gif",
        safety_tolerance="7",
        raw="maybe",
    )
    with pytest.raises(ValidationError) as info:
        bad.validated()
    problems = info.value.problems
    assert set(problems) == {
        "prompt",
        "seed",
        "num_images",
        "aspect_ratio",
        "output_format",
        "safety_tolerance",
        "raw",
    }
    assert "4001 characters" in problems["prompt"]
    assert "whole number" in problems["seed"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   \n"}, "prompt"),
        ({"seed": 0}, "seed"),
        ({"seed": -5}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"num_images": 5}, "num_images"),
        ({"seed": "²"}, "seed"),  # a digit to str.isdigit, not to int()
        ({"num_images": "٣"}, "num_images"),
    ],
)
def test_single_problems(kwargs, field):
    with pytest.raises(ValidationError) as info:
        GenerationRequest(**{"prompt": "ok", **kwargs}).validated()
    assert list(info.value.problems) == [field]


def test_coercion_from_text_inputs():
    req = GenerationRequest.from_params(
        {"prompt": "x", "seed": "12", "num_images": "3", "raw": "true", "safety_tolerance": 4}
    ).validated()
    assert (req.seed, req.num_images, req.raw, req.safety_tolerance) == (12, 3, True, "4")


def test_cost_estimate():
    assert estimate_cost_usd(4) == pytest.approx(0.24)
    assert GenerationRequest("x", num_images=3).estimated_cost_usd() == pytest.approx(0.18)


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["16:9", "1:1", "9:21", "jpeg", "png", "1", "6", "true"]),
)


@settings(max_examples=400, deadline=None)
@given(
    prompt=st.one_of(st.text(max_size=4100), st.none(), st.integers()),
    aspect_ratio=anything,
    num_images=anything,
    seed=anything,
    raw=anything,
    output_format=anything,
    safety_tolerance=anything,
    enable_safety_checker=anything,
)
def test_any_input_gives_a_schema_valid_body_or_a_validation_error(**kwargs):
    try:
        body = GenerationRequest(**kwargs).to_body()
    except ValidationError as exc:
        assert exc.problems and all(isinstance(v, str) for v in exc.problems.values())
        return
    assert_schema_valid(body)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", True),  # a log row id (uuid hex)
        ("a", True),
        ("A-Z.a_z:0-9", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("with space", False),
        ("trailing\n", False),
        ("ünicode", False),
        ("a/b", False),
        (None, False),
        (123, False),
    ],
)
def test_client_request_id_rule(value, ok):
    assert valid_client_request_id(value) is ok
