"""The API helper against a real local HTTP server standing in for the provider."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from werkzeug import Response

from components.api import errors as fe
from components.api.client import FluxClient
from components.api.contract import GenerationRequest
from samples import image_bytes, png_declaring

KEY = "sk-test-0123456789abcdefSECRET"
GEN = "/v1/images/generations"


def client_for(server, sleeps, **kw) -> FluxClient:
    return FluxClient(api_key=KEY, base_url=server.url_for("").rstrip("/"), sleep=sleeps, **kw)


def shape_a(server, seed=2704861852, n=1, path="/cdn/x.jpg"):
    return {
        "images": [
            {"url": server.url_for(path), "width": 64, "height": 36, "content_type": "image/jpeg"}
        ]
        * n,
        "timings": {},
        "seed": seed,
        "has_nsfw_concepts": [False] * (n - 1) + [True],
        "prompt": "p",
    }


def test_shape_a_downloads_image_and_keeps_seed(fault_server, sleeps):
    fault_server.expect_request(GEN, method="POST").respond_with_json(
        shape_a(fault_server, n=2), headers={"x-request-id": "req-123"}
    )
    fault_server.expect_request("/cdn/x.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    result = client_for(fault_server, sleeps).generate(GenerationRequest("a cat", seed=7))
    assert result.seed == 2704861852
    assert result.request_id == "req-123"
    assert result.attempts == 1 and result.http_status == 200
    assert [(i.width, i.height, i.content_type) for i in result.images] == [
        (64, 36, "image/jpeg")
    ] * 2
    assert [i.nsfw for i in result.images] == [False, True]
    assert result.images[0].data[:2] == b"\xff\xd8"
    assert result.total_s >= result.request_s > 0
    assert result.credits_used is None and result.cost_usd is None


def test_image_download_never_carries_the_key(fault_server, sleeps):
    seen = {}

    def cdn(request):
        seen["auth"] = request.headers.get("Authorization")
        return Response(image_bytes(), content_type="image/jpeg")

    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server))
    fault_server.expect_request("/cdn/x.jpg").respond_with_handler(cdn)
    client_for(fault_server, sleeps).generate(GenerationRequest("a cat"))
    assert seen == {"auth": None}
    sent = fault_server.log[0][0]
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("status", [200, 201])
def test_shape_b_b64_and_url_with_credits(fault_server, sleeps, status):
    png = image_bytes(40, 40, "PNG")
    fault_server.expect_request(GEN).respond_with_json(
        {
            "data": [
                {"url": None, "b64_json": base64.b64encode(png).decode()},
                {"url": fault_server.url_for("/cdn/y.png"), "b64_json": None},
            ],
            "meta": {"usage": {"credits_used": 120000}},
        },
        status=status,
    )
    fault_server.expect_request("/cdn/y.png").respond_with_data(png, content_type="image/png")
    result = client_for(fault_server, sleeps).generate(
        GenerationRequest("x", output_format="png", num_images=2)
    )
    assert result.seed is None  # shape B reports none; never invented
    assert result.credits_used == 120000
    assert result.cost_usd == pytest.approx(0.06)
    assert [i.content_type for i in result.images] == ["image/png", "image/png"]
    assert result.images[0].url is None and result.images[0].data == png


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, fe.BadRequestError),
        (401, fe.AuthenticationError),
        (403, fe.PermissionDeniedError),
        (404, fe.NotFoundError),
        (422, fe.BadRequestError),
    ],
)
def test_client_errors_are_not_retried(fault_server, sleeps, status, cls):
    body = {
        "message": "Body validation error: Expected string, Received number",
        "path": GEN,
        "requestId": "rid-42",
        "statusCode": str(status),  # the documented example uses a string
        "timestamp": "2026-11-26T10:00:00Z",
    }
    fault_server.expect_request(GEN).respond_with_json(body, status=status)
    with pytest.raises(cls) as info:
        client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    err = info.value
    assert err.status == status and err.attempts == 1 and err.request_id == "rid-42"
    assert "Body validation error" in err.provider_message
    assert len(fault_server.log) == 1 and sleeps.calls == []
    assert err.hint


# 500 and 504 may come after the image was made (and billed): they are retried at most once
# (tests/api/test_billing_safety.py); 429, 502 and 503 up to max_retries.
@pytest.mark.parametrize("status", [429, 502, 503])
def test_retryable_statuses_retry_twice_with_backoff(fault_server, sleeps, status):
    fault_server.expect_request(GEN).respond_with_json(
        {"message": "busy", "requestId": "r1", "statusCode": status}, status=status
    )
    client = client_for(fault_server, sleeps, backoff_base=0.5, backoff_cap=8)
    with pytest.raises(fe.RateLimitError if status == 429 else fe.ServerError) as info:
        client.generate(GenerationRequest("x"))
    assert info.value.attempts == 3 and len(fault_server.log) == 3
    assert len(sleeps.calls) == 2
    assert 0.25 <= sleeps.calls[0] <= 0.5 and 0.5 <= sleeps.calls[1] <= 1.0  # exponential+jitter


def test_retry_then_success_reports_attempts(fault_server, sleeps):
    fault_server.expect_ordered_request(GEN).respond_with_json({"message": "x"}, status=503)
    fault_server.expect_ordered_request(GEN).respond_with_json(shape_a(fault_server))
    fault_server.expect_request("/cdn/x.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    result = client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    assert result.attempts == 2 and len(sleeps.calls) == 1


def test_retry_after_seconds_and_http_date_are_honoured_and_capped(fault_server, sleeps):
    date = format_datetime(datetime.now(UTC) + timedelta(seconds=12), usegmt=True)
    fault_server.expect_ordered_request(GEN).respond_with_json(
        {"message": "slow down"}, status=429, headers={"Retry-After": "3"}
    )
    fault_server.expect_ordered_request(GEN).respond_with_json(
        {"message": "slow down"}, status=429, headers={"Retry-After": date}
    )
    fault_server.expect_ordered_request(GEN).respond_with_json(
        {"message": "slow down"}, status=429, headers={"Retry-After": "99999"}
    )
    fault_server.expect_ordered_request(GEN).respond_with_json(shape_a(fault_server))
    fault_server.expect_request("/cdn/x.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    client = client_for(fault_server, sleeps, max_retries=3, retry_after_cap=30)
    result = client.generate(GenerationRequest("x"))
    assert result.attempts == 4
    assert sleeps.calls[0] == 3
    assert 9 <= sleeps.calls[1] <= 12.5
    assert sleeps.calls[2] == 30


def test_balance_timeouts_are_retried_then_reported(fault_server, sleeps):
    """A GET is safe to repeat: read timeouts are retried as before (a generation's are not:
    tests/api/test_billing_safety.py)."""

    def slow(_request):
        time.sleep(0.6)
        return Response("{}", content_type="application/json")

    fault_server.expect_request("/v2/billing").respond_with_handler(slow)
    client = client_for(fault_server, sleeps, timeout=0.2)
    with pytest.raises(fe.APITimeoutError) as info:
        client.balance()
    assert info.value.attempts == 3 and len(sleeps.calls) == 2
    assert "No answer from" in str(info.value)
    assert KEY not in str(info.value)


def test_connection_refused_is_a_connection_error(sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = FluxClient(api_key=KEY, base_url=f"http://127.0.0.1:{port}", sleep=sleeps)
    with pytest.raises(fe.APIConnectionError) as info:
        client.generate(GenerationRequest("x"))
    assert info.value.attempts == 3 and len(sleeps.calls) == 2  # nothing was sent: retried
    assert "Could not connect" in str(info.value)


@pytest.mark.parametrize(
    ("respond", "needle"),
    [
        (
            lambda s: s.respond_with_data("<html>oops</html>", content_type="text/html"),
            "not with JSON",
        ),
        (lambda s: s.respond_with_json({"images": []}), "no images"),
        (lambda s: s.respond_with_json({"data": None, "meta": None}), "no images"),
        (lambda s: s.respond_with_json({"data": [{"url": None, "b64_json": "@@@"}]}), "base64"),
        (lambda s: s.respond_with_json([1, 2]), "not an object"),
    ],
)
def test_malformed_answers(fault_server, sleeps, respond, needle):
    respond(fault_server.expect_request(GEN))
    with pytest.raises(fe.MalformedResponseError, match=needle):
        client_for(fault_server, sleeps).generate(GenerationRequest("x"))


def test_image_404_is_a_download_error_with_request_id(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(
        shape_a(fault_server), headers={"x-request-id": "rid-9"}
    )
    fault_server.expect_request("/cdn/x.jpg").respond_with_data("gone", status=404)
    with pytest.raises(fe.ImageDownloadError) as info:
        client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    assert info.value.status == 404 and info.value.request_id == "rid-9"


def test_decompression_bomb_is_refused(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server, path="/cdn/b.png"))
    fault_server.expect_request("/cdn/b.png").respond_with_data(
        png_declaring(30000, 30000), content_type="image/png"
    )
    with pytest.raises(fe.ImageDownloadError, match="too many pixels"):
        client_for(fault_server, sleeps).generate(GenerationRequest("x"))


@pytest.mark.parametrize(
    ("body", "ctype", "needle"),
    [
        (b"<html></html>", "text/html", "not an image"),
        (b"x" * 5000, "image/jpeg", "larger than allowed"),
        (b"not really an image", "image/jpeg", "not a readable image"),
    ],
)
def test_download_guards(fault_server, sleeps, body, ctype, needle):
    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server))
    fault_server.expect_request("/cdn/x.jpg").respond_with_data(body, content_type=ctype)
    client = client_for(fault_server, sleeps, max_image_bytes=4096)
    with pytest.raises(fe.ImageDownloadError, match=needle):
        client.generate(GenerationRequest("x"))


def test_non_http_image_links_are_refused(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json({"images": [{"url": "file:///etc/passwd"}]})
    with pytest.raises(fe.ImageDownloadError, match="not http"):
        client_for(fault_server, sleeps).generate(GenerationRequest("x"))


def test_key_echoed_by_provider_is_redacted_everywhere(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(
        {"message": f"Invalid key {KEY} (header Bearer {KEY})", "requestId": "r"}, status=401
    )
    client = client_for(fault_server, sleeps)
    with pytest.raises(fe.AuthenticationError) as info:
        client.generate(GenerationRequest("x"))
    err = info.value
    for text in (str(err), repr(err), err.provider_message, err.message, repr(client)):
        assert KEY not in text
    assert "[redacted]" in err.provider_message
    assert KEY[-4:] in repr(client)  # the last four characters identify the key


def test_validation_happens_before_any_request(fault_server, sleeps):
    with pytest.raises(fe.ValidationError) as info:
        client_for(fault_server, sleeps).generate(
            GenerationRequest("  ", seed=0, num_images=9, aspect_ratio="5:4")
        )
    assert set(info.value.problems) == {"prompt", "seed", "num_images", "aspect_ratio"}
    assert fault_server.log == []


def test_balance_reads_v2_billing(fault_server, sleeps):
    fault_server.expect_request("/v2/billing", method="GET").respond_with_json(
        {"current_balance": 12.5, "currency": "USD"}
    )
    bal = client_for(fault_server, sleeps).balance()
    assert (bal.current_balance, bal.currency) == (12.5, "USD")
    assert fault_server.log[0][0].headers["Authorization"] == f"Bearer {KEY}"


def test_balance_errors_map_like_generation(fault_server, sleeps):
    fault_server.expect_request("/v2/billing").respond_with_json({"message": "no"}, status=401)
    with pytest.raises(fe.AuthenticationError):
        client_for(fault_server, sleeps).balance()


def test_many_threads_share_one_client(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server))
    fault_server.expect_request("/cdn/x.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    client = client_for(fault_server, sleeps)
    results, errors = [], []

    def work():
        try:
            results.append(client.generate(GenerationRequest("x")))
        except Exception as exc:  # pragma: no cover - shown on failure
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 12
    assert all(r.attempts == 1 for r in results)


def test_body_sent_is_the_request_model(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server))
    fault_server.expect_request("/cdn/x.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    req = GenerationRequest("x", raw=True, seed=5, aspect_ratio="1:1", safety_tolerance="6")
    client_for(fault_server, sleeps).generate(req)
    sent = json.loads(fault_server.log[0][0].data)
    assert sent["model"] == "flux-pro/v1.1-ultra-raw" and sent["raw"] is True
    assert sent == req.to_body()
