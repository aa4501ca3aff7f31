"""The offline backend against the provider's contract, over real HTTP (no mocks).

Why: the app's client code talks to this server exactly as it talks to the provider, so every
answer here must be one the provider could give, and every request the provider refuses must be
refused here too.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageStat

from components.api.contract import (
    ASPECT_RATIOS,
    ASPECT_SIZES,
    CLIENT_REQUEST_ID_HEADER,
    CONTENT_TYPES,
    CREDITS_PER_USD,
    GENERATE_PATH,
    LATENCY_HEADER,
    MODEL,
    MODEL_RAW,
    PRICE_USD_PER_IMAGE,
    PROMPT_MAX_CHARS,
    RANDOM_SEED_MAX,
)
from components.offline.server import (
    BodyValidationError,
    ImageSpec,
    OfflineBackend,
    parse_latency,
    render_image,
    start_offline_backend,
    validate_generation_body,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas"
PROMPT = "A T-Rex relaxing on a beach, lying on a sun lounger and wearing sunglasses."

# The contract's success Shape A, as the client may rely on it.
SHAPE_A = {
    "type": "object",
    "required": ["images", "timings", "seed", "has_nsfw_concepts", "prompt"],
    "properties": {
        "images": {
            "type": "array",
            "minItems": 1,
            "maxItems": 4,
            "items": {
                "type": "object",
                "required": ["url", "width", "height", "content_type"],
                "properties": {
                    "url": {"type": "string", "pattern": "^http://"},
                    "width": {"type": "integer", "minimum": 1},
                    "height": {"type": "integer", "minimum": 1},
                    "content_type": {"enum": sorted(CONTENT_TYPES.values())},
                },
            },
        },
        "timings": {
            "type": "object",
            "properties": {"inference": {"type": "number", "minimum": 0}},
        },
        "seed": {"type": "integer", "minimum": 1},
        "has_nsfw_concepts": {"type": "array", "items": {"type": "boolean"}},
        "prompt": {"type": "string"},
    },
}
ERROR_BODY = {
    "type": "object",
    "required": ["message", "path", "requestId", "statusCode", "timestamp"],
    "properties": {
        "message": {"type": "string"},
        "path": {"type": "string"},
        "requestId": {"type": "string"},
        "statusCode": {"type": ["integer", "string"]},
        "timestamp": {"type": "string"},
    },
}
BALANCE = {
    "type": "object",
    "required": ["current_balance", "currency"],
    "properties": {"current_balance": {"type": "number"}, "currency": {"const": "USD"}},
}


def _request_schemas() -> dict[str, dict[str, Any]]:
    """The provider's own request schemas, one per model id."""
    openapi = json.loads((SCHEMAS / "flux-pro-v1.1-ultra.openapi.json").read_text())
    plain = openapi["paths"][GENERATE_PATH]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    raw = json.loads((SCHEMAS / "flux-pro-v1.1-ultra-raw.request.schema.json").read_text())
    return {MODEL: plain, MODEL_RAW: raw["schema"]}


REQUEST_SCHEMAS = _request_schemas()


@pytest.fixture(scope="module")
def backend() -> OfflineBackend:
    server = OfflineBackend(latency=0.0, balance_usd=1_000_000.0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http() -> requests.Session:
    with requests.Session() as session:
        session.headers["Authorization"] = "Bearer offline-test"
        yield session


def generate(
    http: requests.Session, base: str, headers: dict[str, str] | None = None, **fields: Any
) -> requests.Response:
    body = {"model": MODEL, "prompt": PROMPT, **fields}
    return http.post(f"{base}{GENERATE_PATH}", json=body, headers=headers, timeout=30)


def download(http: requests.Session, url: str) -> tuple[bytes, requests.Response]:
    response = http.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.headers["x-request-id"]
    return response.content, response


def assert_error(response: requests.Response, status: int, path: str) -> dict[str, Any]:
    """A provider-shaped error body, with a request id in the body and the header."""
    assert response.status_code == status, response.text
    body = response.json()
    jsonschema.validate(body, ERROR_BODY)
    assert body["statusCode"] == status
    assert body["path"] == path
    assert str(uuid.UUID(body["requestId"])) == body["requestId"]
    assert response.headers["x-request-id"] == body["requestId"]
    stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("aspect_ratio", ["16:9", "1:1", "9:21", "4:3", "21:9"])
def test_success_is_shape_a_with_real_sizes(
    backend: OfflineBackend, http: requests.Session, aspect_ratio: str
) -> None:
    response = generate(http, backend.base_url, aspect_ratio=aspect_ratio, seed=4242)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"]
    payload = response.json()
    jsonschema.validate(payload, SHAPE_A)
    assert payload["seed"] == 4242
    assert payload["prompt"] == PROMPT
    assert payload["has_nsfw_concepts"] == [False]
    (image,) = payload["images"]
    width, height = ASPECT_SIZES[aspect_ratio]
    assert (image["width"], image["height"]) == (width, height)
    assert image["content_type"] == "image/jpeg"
    assert image["url"].startswith(f"{backend.base_url}/files/")

    data, got = download(http, image["url"])
    assert got.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "JPEG"
        assert decoded.size == (width, height)


def test_provider_example_body_works_unchanged(
    backend: OfflineBackend, http: requests.Session
) -> None:
    """The provider's own example (model + prompt only) gets the contract's defaults."""
    response = http.post(
        f"{backend.base_url}{GENERATE_PATH}",
        headers={"Content-Type": "application/json", "Authorization": "Bearer <KEY>"},
        json={"model": MODEL, "prompt": PROMPT},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    assert len(payload["images"]) == 1
    assert (payload["images"][0]["width"], payload["images"][0]["height"]) == ASPECT_SIZES["16:9"]


def test_random_seed_when_none_given(backend: OfflineBackend, http: requests.Session) -> None:
    seeds = []
    for _ in range(3):
        response = generate(http, backend.base_url)
        assert response.status_code == 200
        seed = response.json()["seed"]
        assert isinstance(seed, int) and not isinstance(seed, bool)
        assert 1 <= seed <= RANDOM_SEED_MAX == 2**32 - 1
        seeds.append(seed)
    assert len(set(seeds)) > 1


def test_same_params_give_identical_bytes(backend: OfflineBackend, http: requests.Session) -> None:
    first = generate(http, backend.base_url, seed=777, aspect_ratio="3:2").json()
    second = generate(http, backend.base_url, seed=777, aspect_ratio="3:2").json()
    assert first["images"][0]["url"] != second["images"][0]["url"]
    a, _ = download(http, first["images"][0]["url"])
    b, _ = download(http, second["images"][0]["url"])
    assert a == b
    spec = ImageSpec(prompt=PROMPT, seed=777, aspect_ratio="3:2", output_format="jpeg")
    assert render_image(spec) == a


def _looks(data: bytes) -> tuple[list[float], list[int]]:
    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("RGB").resize((172, 96))
    hist = small.quantize(colors=64, method=Image.Quantize.FASTOCTREE).convert("RGB")
    return ImageStat.Stat(small).mean, hist.convert("L").histogram()


@pytest.mark.parametrize("seeds", [(1, 2), (12345, 12346), (99, 2**31)])
def test_different_seeds_look_clearly_different(
    backend: OfflineBackend, http: requests.Session, seeds: tuple[int, int]
) -> None:
    images = []
    for seed in seeds:
        payload = generate(http, backend.base_url, seed=seed).json()
        images.append(download(http, payload["images"][0]["url"])[0])
    assert images[0] != images[1]
    (mean_a, hist_a), (mean_b, hist_b) = _looks(images[0]), _looks(images[1])
    mean_gap = max(abs(x - y) for x, y in zip(mean_a, mean_b, strict=True))
    total = sum(hist_a)
    hist_gap = sum(abs(x - y) for x, y in zip(hist_a, hist_b, strict=True)) / (2 * total)
    assert mean_gap > 8 or hist_gap > 0.3, (mean_gap, hist_gap)


def test_num_images_three_gives_three_different_images(
    backend: OfflineBackend, http: requests.Session
) -> None:
    response = generate(http, backend.base_url, num_images=3, seed=31337)
    assert response.status_code == 200
    payload = response.json()
    jsonschema.validate(payload, SHAPE_A)
    assert len(payload["images"]) == 3
    assert payload["has_nsfw_concepts"] == [False, False, False]
    assert payload["seed"] == 31337
    blobs = [download(http, image["url"])[0] for image in payload["images"]]
    assert len(set(blobs)) == 3
    # Image i is (seed, i): the second image equals a fresh render at index 1.
    spec = ImageSpec(PROMPT, 31337, "16:9", "jpeg", index=1)
    assert render_image(spec) == blobs[1]


def test_num_images_may_be_a_whole_float(backend: OfflineBackend, http: requests.Session) -> None:
    response = generate(http, backend.base_url, num_images=2.0, seed=5.0)
    assert response.status_code == 200, response.text
    assert len(response.json()["images"]) == 2
    assert response.json()["seed"] == 5


def test_png_when_asked(backend: OfflineBackend, http: requests.Session) -> None:
    response = generate(http, backend.base_url, output_format="png", aspect_ratio="9:16", seed=8)
    assert response.status_code == 200
    image = response.json()["images"][0]
    assert image["content_type"] == "image/png"
    assert image["url"].endswith(".png")
    data, got = download(http, image["url"])
    assert got.headers["Content-Type"] == "image/png"
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.size == ASPECT_SIZES["9:16"]


def test_head_on_a_file_gives_its_length(backend: OfflineBackend, http: requests.Session) -> None:
    url = generate(http, backend.base_url, seed=3).json()["images"][0]["url"]
    data, _ = download(http, url)
    head = http.head(url, timeout=30)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(data)


@pytest.mark.parametrize(
    ("model", "raw", "status"),
    [
        (MODEL_RAW, True, 200),
        (MODEL_RAW, None, 200),
        (MODEL, False, 200),
        (MODEL, None, 200),
        (MODEL, True, 400),
        (MODEL_RAW, False, 400),
    ],
)
def test_raw_flag_follows_the_model_id(
    backend: OfflineBackend, http: requests.Session, model: str, raw: bool | None, status: int
) -> None:
    fields: dict[str, Any] = {"model": model, "seed": 11}
    if raw is not None:
        fields["raw"] = raw
    response = generate(http, backend.base_url, **fields)
    if status == 200:
        assert response.status_code == 200, response.text
        jsonschema.validate(response.json(), SHAPE_A)
    else:
        body = assert_error(response, 400, GENERATE_PATH)
        assert body["message"].startswith("Body validation error")
        assert "raw" in body["message"]


def test_raw_mode_renders_a_different_image(
    backend: OfflineBackend, http: requests.Session
) -> None:
    plain = generate(http, backend.base_url, seed=21).json()["images"][0]["url"]
    raw = generate(http, backend.base_url, model=MODEL_RAW, raw=True, seed=21).json()
    assert download(http, plain)[0] != download(http, raw["images"][0]["url"])[0]


MISSING = object()

INVALID_FIELDS = [
    ("model", MISSING),
    ("model", "flux-pro/v1.1"),
    ("model", None),
    ("prompt", MISSING),
    ("prompt", None),
    ("prompt", 42),
    ("prompt", ["a"]),
    ("prompt", "x" * (PROMPT_MAX_CHARS + 1)),
    ("num_images", 0),
    ("num_images", 5),
    ("num_images", 2.5),
    ("num_images", "2"),
    ("num_images", True),
    ("num_images", None),
    ("seed", 0),
    ("seed", -3),
    ("seed", 1.5),
    ("seed", "123"),
    ("seed", True),
    ("seed", None),
    ("safety_tolerance", 2),
    ("safety_tolerance", "0"),
    ("safety_tolerance", "7"),
    ("safety_tolerance", None),
    ("output_format", "gif"),
    ("output_format", "JPEG"),
    ("output_format", "jpg"),
    ("enable_safety_checker", "true"),
    ("enable_safety_checker", 1),
    ("enable_safety_checker", None),
    ("aspect_ratio", "5:4"),
    ("aspect_ratio", "16x9"),
    ("aspect_ratio", 1.5),
    ("raw", "true"),
    ("raw", 1),
    ("raw", None),
]


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_every_invalid_field_is_a_400(
    backend: OfflineBackend, http: requests.Session, field: str, value: Any
) -> None:
    body: dict[str, Any] = {"model": MODEL, "prompt": PROMPT}
    if value is MISSING:
        del body[field]
    else:
        body[field] = value
    before = backend.balance_usd
    response = http.post(f"{backend.base_url}{GENERATE_PATH}", json=body, timeout=30)
    error = assert_error(response, 400, GENERATE_PATH)
    assert error["message"].startswith("Body validation error: ")
    assert field in error["message"]
    assert "Expected" in error["message"] and "Received" in error["message"]
    assert backend.balance_usd == before  # failed requests are not charged


def test_all_problems_are_reported_at_once(backend: OfflineBackend, http: requests.Session) -> None:
    body = {"model": MODEL, "prompt": PROMPT, "seed": 0, "aspect_ratio": "5:4", "num_images": 9}
    response = http.post(f"{backend.base_url}{GENERATE_PATH}", json=body, timeout=30)
    message = assert_error(response, 400, GENERATE_PATH)["message"]
    for field in ("seed", "aspect_ratio", "num_images"):
        assert field in message


def test_limits_that_are_allowed(backend: OfflineBackend, http: requests.Session) -> None:
    for fields in (
        {"prompt": "x" * PROMPT_MAX_CHARS},
        {"prompt": ""},
        {"seed": 1},
        {"seed": 2**53 - 1},
        {"num_images": 4},
        {"safety_tolerance": "6", "enable_safety_checker": False},
        {"unknown_field": "ignored, as the schema allows"},
    ):
        response = generate(http, backend.base_url, **fields)
        assert response.status_code == 200, (fields, response.text)


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"", b"[1, 2]", b'"text"', b"42", b"null", b'{"prompt": NaN}', b"\xff\xfe{"],
)
def test_body_that_is_not_a_json_object_is_a_400(
    backend: OfflineBackend, http: requests.Session, payload: bytes
) -> None:
    response = http.post(
        f"{backend.base_url}{GENERATE_PATH}",
        data=payload,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    error = assert_error(response, 400, GENERATE_PATH)
    assert error["message"].startswith("Body validation error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("POST", "/v1/images/generate"),
        ("GET", "/files/0123456789abcdef.jpg"),
        ("GET", "/files/"),
        ("TRACE", "/nope"),
    ],
)
def test_unknown_paths_are_404(
    backend: OfflineBackend, http: requests.Session, method: str, path: str
) -> None:
    response = http.request(method, f"{backend.base_url}{path}", json={"x": 1}, timeout=30)
    assert_error(response, 404, path)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", GENERATE_PATH, "POST"),
        ("PUT", GENERATE_PATH, "POST"),
        ("DELETE", GENERATE_PATH, "POST"),
        ("TRACE", GENERATE_PATH, "POST"),
        ("POST", "/v2/billing", "GET, HEAD"),
        ("DELETE", "/v2/billing", "GET, HEAD"),
        ("PATCH", "/files/0123456789abcdef.jpg", "GET, HEAD"),
    ],
)
def test_methods_a_path_does_not_serve_are_405_with_allow(
    backend: OfflineBackend, http: requests.Session, method: str, path: str, allow: str
) -> None:
    response = http.request(method, f"{backend.base_url}{path}", json={"x": 1}, timeout=30)
    assert_error(response, 405, path)
    assert response.headers["Allow"] == allow


def test_file_with_the_wrong_extension_is_404(
    backend: OfflineBackend, http: requests.Session
) -> None:
    url = generate(http, backend.base_url, seed=9).json()["images"][0]["url"]
    wrong = url[: -len(".jpg")] + ".png"
    assert_error(http.get(wrong, timeout=30), 404, wrong.removeprefix(backend.base_url))


def test_any_authorization_is_accepted(backend: OfflineBackend) -> None:
    body = {"model": MODEL, "prompt": PROMPT, "seed": 2}
    url = f"{backend.base_url}{GENERATE_PATH}"
    for headers in ({}, {"Authorization": "Bearer whatever"}, {"Authorization": "garbage"}):
        assert requests.post(url, json=body, headers=headers, timeout=30).status_code == 200


# The validator agrees with the provider's own schema files on arbitrary bodies.
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=10),
    st.sampled_from(["", "1", "2", "6", "7", "jpeg", "png", "gif", "16:9", "9:21", "5:4"]),
    st.text(max_size=8),
)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.sampled_from([MODEL, MODEL_RAW, "flux-pro"]), _values),
        "prompt": st.one_of(st.text(max_size=30), _values),
        "num_images": _values,
        "seed": _values,
        "safety_tolerance": _values,
        "output_format": _values,
        "enable_safety_checker": _values,
        "aspect_ratio": st.one_of(st.sampled_from(ASPECT_RATIOS), _values),
        "raw": _values,
    },
)


def _schema_accepts(body: dict[str, Any]) -> bool:
    validators = (jsonschema.Draft7Validator(schema) for schema in REQUEST_SCHEMAS.values())
    return any(validator.is_valid(body) for validator in validators)


@settings(max_examples=400, deadline=None)
@given(_bodies)
def test_validator_agrees_with_the_provider_schemas(body: dict[str, Any]) -> None:
    expected = _schema_accepts(body)
    num = body.get("num_images", 1)
    if isinstance(num, float) and not num.is_integer():
        expected = False  # our one deliberate extra rule: there is no half an image
    try:
        params = validate_generation_body(body)
    except BodyValidationError as exc:
        assert not expected, str(exc)
        assert str(exc).startswith("Body validation error: ")
        return
    assert expected, body
    assert params["raw"] == (params["model"] == MODEL_RAW)


def test_validator_normalises_defaults() -> None:
    params = validate_generation_body({"model": MODEL_RAW, "prompt": "p"})
    assert params == {
        "model": MODEL_RAW,
        "prompt": "p",
        "num_images": 1,
        "seed": None,
        "safety_tolerance": "2",
        "output_format": "jpeg",
        "enable_safety_checker": True,
        "aspect_ratio": "16:9",
        "raw": True,
    }


def test_billing_goes_down_per_image_and_never_below_zero(http: requests.Session) -> None:
    with OfflineBackend(latency=0, balance_usd=0.2) as server:
        for path in ("/v2/billing", "/v1/billing/balance"):
            response = http.get(f"{server.base_url}{path}", timeout=30)
            assert response.status_code == 200
            assert response.headers["x-request-id"]
            jsonschema.validate(response.json(), BALANCE)
            assert response.json() == {"current_balance": 0.2, "currency": "USD"}
        assert generate(http, server.base_url, num_images=2).status_code == 200
        balance = http.get(f"{server.base_url}/v2/billing", timeout=30).json()
        assert balance["current_balance"] == pytest.approx(0.2 - 2 * PRICE_USD_PER_IMAGE)
        assert generate(http, server.base_url, num_images=4).status_code == 200
        for path in ("/v2/billing", "/v1/billing/balance"):
            assert http.get(f"{server.base_url}{path}", timeout=30).json()["current_balance"] == 0


def test_billing_is_thread_safe(http: requests.Session) -> None:
    with OfflineBackend(latency=0.05, balance_usd=25.0) as server:
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: generate(http, server.base_url).status_code, range(16)))
        assert codes == [200] * 16
        expected = 25.0 - 16 * PRICE_USD_PER_IMAGE
        assert server.balance_usd == pytest.approx(expected)
        got = http.get(f"{server.base_url}/v2/billing", timeout=30).json()["current_balance"]
        assert got == pytest.approx(expected)


def test_latency_header_is_honoured(backend: OfflineBackend, http: requests.Session) -> None:
    started = time.monotonic()
    response = generate(http, backend.base_url, headers={LATENCY_HEADER: "0.3"}, seed=1)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed >= 0.3
    assert response.json()["timings"]["inference"] >= 0.29
    assert backend.latency == 0.0  # the shared server was not changed


def test_default_latency_applies_without_header(http: requests.Session) -> None:
    # The image is rendered inside the latency budget, so "0" still costs one render: the
    # bounds are wide enough for a loaded 2-core machine, and far apart enough to tell.
    with OfflineBackend(latency=1.5) as server:
        started = time.monotonic()
        assert generate(http, server.base_url).status_code == 200
        assert time.monotonic() - started >= 1.5
        started = time.monotonic()
        assert generate(http, server.base_url, headers={LATENCY_HEADER: "0"}).status_code == 200
        assert time.monotonic() - started < 1.0


def test_validation_errors_do_not_wait(http: requests.Session) -> None:
    with OfflineBackend(latency=5) as server:
        started = time.monotonic()
        assert generate(http, server.base_url, seed=0).status_code == 400
        assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 1.5), ("", 1.5), ("abc", 1.5), ("nan", 1.5), ("inf", 1.5), ("-2", 0.0)]
    + [("0.25", 0.25), ("31", 30.0), ("1e9", 30.0), (" 2 ", 2.0)],
)
def test_parse_latency(value: str | None, expected: float) -> None:
    assert parse_latency(value, 1.5) == expected


def test_parallel_requests_do_not_serialise(
    backend: OfflineBackend, http: requests.Session
) -> None:
    def one(seed: int) -> int:
        response = generate(
            http, backend.base_url, headers={LATENCY_HEADER: "0.5"}, seed=seed + 100
        )
        return response.status_code

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(one, range(4)))
    elapsed = time.monotonic() - started
    assert codes == [200] * 4
    assert 0.5 <= elapsed < 1.5, elapsed


def test_lifecycle_and_helpers() -> None:
    server = start_offline_backend(latency=0.0)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
        assert server.latency == 0.0
        response = requests.get(f"{server.base_url}/v2/billing", timeout=30)
        assert response.status_code == 200
        assert response.json()["current_balance"] == 25.0
    finally:
        server.stop()
    with pytest.raises(RuntimeError):
        _ = server.base_url
    server.stop()  # a second stop is harmless

    with OfflineBackend(latency=0) as again:
        assert again.start() == again.base_url  # start is idempotent
        assert requests.get(f"{again.base_url}/v2/billing", timeout=30).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{again.port}/v2/billing", timeout=5)


def test_fixed_port_is_used() -> None:
    port = free_port()
    with OfflineBackend(latency=0, port=port) as server:
        assert server.base_url == f"http://127.0.0.1:{port}"


def test_stop_wakes_a_sleeping_generation(http: requests.Session) -> None:
    server = OfflineBackend(latency=20)
    server.start()
    url = server.base_url
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(
            lambda: requests.post(
                f"{url}{GENERATE_PATH}", json={"model": MODEL, "prompt": "p"}, timeout=30
            )
        )
        time.sleep(0.3)
        started = time.monotonic()
        server.stop()
        with contextlib.suppress(requests.RequestException):
            future.result(timeout=10)  # answered or cut off: either way it did not sleep 20 s
        assert time.monotonic() - started < 5


def test_standalone_module_serves_until_killed() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "components.offline.server", "--port", str(port), "--latency", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line, line + process.stderr.read()
        base = f"http://127.0.0.1:{port}"
        response = requests.post(
            f"{base}{GENERATE_PATH}",
            headers={"Content-Type": "application/json", "Authorization": "Bearer <KEY>"},
            json={"model": MODEL, "prompt": PROMPT, "seed": 99},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        jsonschema.validate(response.json(), SHAPE_A)
        image = requests.get(response.json()["images"][0]["url"], timeout=30)
        assert image.status_code == 200
        assert image.headers["Content-Type"] == "image/jpeg"
        assert requests.get(f"{base}/v2/billing", timeout=30).json()["currency"] == "USD"
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_render_is_deterministic_and_sized_in_process() -> None:
    for aspect_ratio in ("2:3", "3:4"):
        spec = ImageSpec("sunset", 5, aspect_ratio, "jpeg")
        data = render_image(spec)
        assert data == render_image(spec)
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == ASPECT_SIZES[aspect_ratio]
    means = []
    for seed in (1, 2):
        data = render_image(ImageSpec("a", seed, "1:1", "png"))
        with Image.open(io.BytesIO(data)) as image:
            means.append(ImageStat.Stat(image.convert("RGB")).mean)
    assert not all(math.isclose(a, b) for a, b in zip(*means, strict=True))


# --- the provider's tracing and cost headers ---------------------------------------------------

TRACE_HEADERS = ("x-inference-id", "x-client-request-id")
COST_HEADERS = ("x-aimlapi-credits-used", "x-aimlapi-usd-spent")


@pytest.mark.parametrize("client_id", ["0f1e2d3c4b5a69788796a5b4c3d2e1f0", "a", "A-z_0.9:" * 16])
def test_a_valid_client_request_id_is_echoed(
    backend: OfflineBackend, http: requests.Session, client_id: str
) -> None:
    response = generate(http, backend.base_url, headers={CLIENT_REQUEST_ID_HEADER: client_id})
    assert response.status_code == 200
    assert response.headers["x-client-request-id"] == client_id


@pytest.mark.parametrize("client_id", ["has space", "x" * 129, "a/b", "semi;colon"])
def test_an_invalid_client_request_id_is_dropped_silently(
    backend: OfflineBackend, http: requests.Session, client_id: str
) -> None:
    response = generate(http, backend.base_url, headers={CLIENT_REQUEST_ID_HEADER: client_id})
    assert response.status_code == 200
    assert "x-client-request-id" not in response.headers
    assert response.headers["x-inference-id"]


@pytest.mark.parametrize("num_images", [1, 2, 4])
def test_success_carries_inference_id_and_cost_headers(
    backend: OfflineBackend, http: requests.Session, num_images: int
) -> None:
    response = generate(http, backend.base_url, num_images=num_images)
    assert response.status_code == 200
    usd = num_images * PRICE_USD_PER_IMAGE
    assert int(response.headers["x-aimlapi-credits-used"]) == round(usd * CREDITS_PER_USD)
    assert float(response.headers["x-aimlapi-usd-spent"]) == pytest.approx(usd)
    assert response.headers["x-inference-id"]
    assert "x-client-request-id" not in response.headers  # none was sent


def test_inference_ids_are_unique(backend: OfflineBackend, http: requests.Session) -> None:
    ids = {generate(http, backend.base_url, seed=5).headers["x-inference-id"] for _ in range(5)}
    assert len(ids) == 5


def test_errors_on_the_generation_path_carry_trace_headers_but_no_cost(
    backend: OfflineBackend, http: requests.Session
) -> None:
    client_id = "row-123"
    invalid = generate(
        http, backend.base_url, headers={CLIENT_REQUEST_ID_HEADER: client_id}, num_images=9
    )
    wrong_method = http.get(
        f"{backend.base_url}{GENERATE_PATH}",
        headers={CLIENT_REQUEST_ID_HEADER: client_id},
        timeout=30,
    )
    broken = http.post(
        f"{backend.base_url}{GENERATE_PATH}",
        data=b"not json",
        headers={"Content-Type": "application/json", CLIENT_REQUEST_ID_HEADER: client_id},
        timeout=30,
    )
    for response, status in ((invalid, 400), (wrong_method, 405), (broken, 400)):
        assert response.status_code == status
        assert response.headers["x-inference-id"]
        assert response.headers["x-client-request-id"] == client_id
        assert not any(name in response.headers for name in COST_HEADERS)


def test_other_paths_carry_no_trace_headers(
    backend: OfflineBackend, http: requests.Session
) -> None:
    # Same keep-alive session right after a generation: nothing carries over.
    answer = generate(http, backend.base_url, headers={CLIENT_REQUEST_ID_HEADER: "abc"})
    balance = http.get(
        f"{backend.base_url}/v2/billing", headers={CLIENT_REQUEST_ID_HEADER: "abc"}, timeout=30
    )
    _, image = download(http, answer.json()["images"][0]["url"])
    for response in (balance, image):
        assert not any(name in response.headers for name in TRACE_HEADERS + COST_HEADERS)


def test_the_client_reads_the_stand_ins_tracing_headers(backend: OfflineBackend) -> None:
    from components.api.client import FluxClient
    from components.api.contract import GenerationRequest

    client = FluxClient(base_url=backend.base_url, sleep=lambda s: None)
    result = client.generate(GenerationRequest("a fox", num_images=2), client_request_id="row-1")
    assert result.client_request_id == "row-1"
    assert result.inference_id and result.inference_id.startswith("inf-")
    assert result.credits_used == round(2 * PRICE_USD_PER_IMAGE * CREDITS_PER_USD)
    assert result.cost_usd == pytest.approx(2 * PRICE_USD_PER_IMAGE)
