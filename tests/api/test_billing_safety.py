"""One click, at most the charges the rules allow: the generation POST's retry policy, the
tracing headers and the words for an answer that never came, against real local servers."""

from __future__ import annotations

import base64
import socket
import threading
import time

import pytest
from werkzeug import Response

from components.api import errors as fe
from components.api.client import FluxClient
from components.api.contract import CLIENT_REQUEST_ID_HEADER, GenerationRequest
from samples import image_bytes

KEY = "sk-test-0123456789abcdefSECRET"
GEN = "/v1/images/generations"
SETTINGS_MAX_RETRIES = 6  # the Settings page's upper limit
ROW_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # a log row id (uuid hex)


def client_for(server, sleeps, **kw) -> FluxClient:
    return FluxClient(api_key=KEY, base_url=server.url_for("").rstrip("/"), sleep=sleeps, **kw)


def shape_a(server, path="/cdn/x.jpg"):
    return {"images": [{"url": server.url_for(path)}], "seed": 5, "has_nsfw_concepts": [False]}


def serve_image(server, path="/cdn/x.jpg"):
    server.expect_request(path).respond_with_data(image_bytes(), content_type="image/jpeg")


class Counting:
    """A handler that counts the POSTs it receives the moment they arrive."""

    def __init__(self, answer):
        self.answer = answer
        self.count = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def __call__(self, request):
        with self.lock:
            self.count += 1
        return self.answer(self, request)


# --- read timeouts: never sent again ---------------------------------------------------------


@pytest.mark.parametrize("retries", [0, 2, SETTINGS_MAX_RETRIES])
def test_a_read_timeout_sends_exactly_one_post(fault_server, sleeps, retries):
    def late(handler, _request):
        handler.release.wait(2)  # answers long after the client's read timeout
        return Response("{}", content_type="application/json")

    handler = Counting(late)
    fault_server.expect_request(GEN, method="POST").respond_with_handler(handler)
    client = client_for(fault_server, sleeps, timeout=0.3, max_retries=retries)
    try:
        with pytest.raises(fe.APITimeoutError) as info:
            client.generate(GenerationRequest("x"), client_request_id=ROW_ID)
        time.sleep(0.4)  # a re-send would arrive by now
        assert handler.count == 1
    finally:
        handler.release.set()
    err = info.value
    assert err.attempts == 1 and sleeps.calls == []
    text = str(err)
    assert "within 0.3 s" in text
    assert "may still have made the image and billed it" in text
    assert "NOT sent again" in text
    assert f"request id {ROW_ID}" in text and err.client_request_id == ROW_ID
    assert "usage log" in err.hint
    assert KEY not in text and KEY not in err.hint and KEY not in (err.provider_message or "")


def test_a_timeout_without_a_request_id_still_says_what_happened(fault_server, sleeps):
    def late(handler, _request):
        handler.release.wait(2)
        return Response("{}", content_type="application/json")

    handler = Counting(late)
    fault_server.expect_request(GEN).respond_with_handler(handler)
    try:
        with pytest.raises(fe.APITimeoutError) as info:
            client_for(fault_server, sleeps, timeout=0.3).generate(GenerationRequest("x"))
    finally:
        handler.release.set()
    assert "NOT sent again" in str(info.value) and info.value.client_request_id is None
    assert handler.count == 1


class Dropper:
    """A raw TCP server that reads a request and hangs up without answering."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.requests = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                if data:
                    self.requests += 1

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_a_connection_dropped_mid_answer_is_not_sent_again(sleeps):
    dropper = Dropper()
    try:
        client = FluxClient(api_key=KEY, base_url=dropper.url, sleep=sleeps, max_retries=4)
        with pytest.raises(fe.APIConnectionError) as info:
            client.generate(GenerationRequest("x"), client_request_id=ROW_ID)
        time.sleep(0.3)
        assert dropper.requests == 1 and info.value.attempts == 1
        assert "NOT sent again" in str(info.value) and ROW_ID in str(info.value)
    finally:
        dropper.close()


def test_connection_refused_is_retried_up_to_max_retries(sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = FluxClient(
        api_key=KEY,
        base_url=f"http://127.0.0.1:{port}",
        sleep=sleeps,
        max_retries=SETTINGS_MAX_RETRIES,
    )
    with pytest.raises(fe.APIConnectionError) as info:
        client.generate(GenerationRequest("x"))
    assert info.value.attempts == SETTINGS_MAX_RETRIES + 1
    assert len(sleeps.calls) == SETTINGS_MAX_RETRIES
    assert "NOT sent again" not in str(info.value)  # nothing was sent


# --- status retries ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 504])
@pytest.mark.parametrize("retries", [1, 2, SETTINGS_MAX_RETRIES])
def test_500_and_504_give_at_most_two_posts(fault_server, sleeps, status, retries):
    fault_server.expect_request(GEN).respond_with_json(
        {"message": "Generation timeout", "requestId": "r5"}, status=status
    )
    with pytest.raises(fe.ServerError) as info:
        client_for(fault_server, sleeps, max_retries=retries).generate(GenerationRequest("x"))
    assert len(fault_server.log) == 2
    assert info.value.attempts == 2 and len(sleeps.calls) == 1
    assert info.value.status == status


@pytest.mark.parametrize("status", [500, 504])
def test_500_and_504_with_no_retries_give_one_post(fault_server, sleeps, status):
    fault_server.expect_request(GEN).respond_with_json({"message": "x"}, status=status)
    with pytest.raises(fe.ServerError) as info:
        client_for(fault_server, sleeps, max_retries=0).generate(GenerationRequest("x"))
    assert len(fault_server.log) == 1 and info.value.attempts == 1 and sleeps.calls == []


def test_500_then_504_share_the_single_retry(fault_server, sleeps):
    fault_server.expect_ordered_request(GEN).respond_with_json({"message": "a"}, status=500)
    fault_server.expect_ordered_request(GEN).respond_with_json({"message": "b"}, status=504)
    fault_server.expect_ordered_request(GEN).respond_with_json({"message": "c"}, status=200)
    client = client_for(fault_server, sleeps, max_retries=SETTINGS_MAX_RETRIES)
    with pytest.raises(fe.ServerError) as info:
        client.generate(GenerationRequest("x"))
    assert info.value.status == 504 and info.value.attempts == 2
    assert len(fault_server.log) == 2


def test_503_retries_do_not_use_up_the_500_retry(fault_server, sleeps):
    fault_server.expect_ordered_request(GEN).respond_with_json({"message": "a"}, status=503)
    fault_server.expect_ordered_request(GEN).respond_with_json({"message": "b"}, status=500)
    fault_server.expect_ordered_request(GEN).respond_with_json(shape_a(fault_server))
    serve_image(fault_server)
    result = client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    assert result.attempts == 3 and len(sleeps.calls) == 2


@pytest.mark.parametrize("status", [429, 502, 503])
def test_429_502_503_retry_as_configured_at_the_settings_maximum(fault_server, sleeps, status):
    fault_server.expect_request(GEN).respond_with_json({"message": "busy"}, status=status)
    client = client_for(fault_server, sleeps, max_retries=SETTINGS_MAX_RETRIES)
    with pytest.raises(fe.APIStatusError) as info:
        client.generate(GenerationRequest("x"))
    assert len(fault_server.log) == SETTINGS_MAX_RETRIES + 1
    assert info.value.attempts == SETTINGS_MAX_RETRIES + 1
    assert len(sleeps.calls) == SETTINGS_MAX_RETRIES


def test_503_honours_retry_after(fault_server, sleeps):
    fault_server.expect_ordered_request(GEN).respond_with_json(
        {"message": "maintenance"}, status=503, headers={"Retry-After": "4"}
    )
    fault_server.expect_ordered_request(GEN).respond_with_json(shape_a(fault_server))
    serve_image(fault_server)
    result = client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    assert result.attempts == 2 and sleeps.calls == [4]


def test_gets_keep_their_policy_for_500(fault_server, sleeps):
    fault_server.expect_request("/v2/billing").respond_with_json({"message": "x"}, status=500)
    with pytest.raises(fe.ServerError) as info:
        client_for(fault_server, sleeps).balance()
    assert info.value.attempts == 3 and len(fault_server.log) == 3


def test_image_downloads_keep_their_policy_for_500(fault_server, sleeps):
    def flaky(handler, _request):
        if handler.count < 3:
            return Response("no", status=500)
        return Response(image_bytes(), content_type="image/jpeg")

    cdn = Counting(flaky)
    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server))
    fault_server.expect_request("/cdn/x.jpg").respond_with_handler(cdn)
    result = client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    assert len(result.images) == 1 and cdn.count == 3


# --- X-Client-Request-Id and the tracing and cost headers --------------------------------------


def test_the_client_request_id_is_sent(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server))
    serve_image(fault_server)
    result = client_for(fault_server, sleeps).generate(
        GenerationRequest("x"), client_request_id=ROW_ID
    )
    assert fault_server.log[0][0].headers[CLIENT_REQUEST_ID_HEADER] == ROW_ID
    assert result.client_request_id == ROW_ID


@pytest.mark.parametrize(
    "bad", ["", "has space", "x" * 129, "ünï", "a/b", "line\nbreak", "tab\t"], ids=repr
)
def test_an_invalid_client_request_id_is_left_out(fault_server, sleeps, bad):
    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server))
    serve_image(fault_server)
    result = client_for(fault_server, sleeps).generate(
        GenerationRequest("x"), client_request_id=bad
    )
    assert CLIENT_REQUEST_ID_HEADER not in fault_server.log[0][0].headers
    assert result.client_request_id is None


def test_the_longest_valid_client_request_id_is_sent(fault_server, sleeps):
    rid = "A-z_0.9:" * 16  # 128 characters
    fault_server.expect_request(GEN).respond_with_json(shape_a(fault_server))
    serve_image(fault_server)
    client_for(fault_server, sleeps).generate(GenerationRequest("x"), client_request_id=rid)
    assert fault_server.log[0][0].headers[CLIENT_REQUEST_ID_HEADER] == rid


def test_tracing_and_cost_headers_reach_the_result(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(
        shape_a(fault_server),
        headers={
            "x-inference-id": "inf-123",
            "x-aimlapi-credits-used": "120000",
            "x-aimlapi-usd-spent": "0.061",
        },
    )
    serve_image(fault_server)
    result = client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    assert result.inference_id == "inf-123"
    assert result.credits_used == 120000 and result.cost_usd == pytest.approx(0.061)


def test_credits_header_gives_the_cost_when_no_usd_header(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(
        shape_a(fault_server), headers={"x-aimlapi-credits-used": "240000"}
    )
    serve_image(fault_server)
    result = client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    assert result.credits_used == 240000 and result.cost_usd == pytest.approx(0.12)
    assert result.inference_id is None


def test_body_credits_win_over_the_header_and_usd_header_gives_the_cost(fault_server, sleeps):
    png = image_bytes(8, 8, "PNG")
    fault_server.expect_request(GEN).respond_with_json(
        {
            "data": [{"b64_json": base64.b64encode(png).decode()}],
            "meta": {"usage": {"credits_used": 120000}},
        },
        headers={"x-aimlapi-credits-used": "999", "x-aimlapi-usd-spent": "0.05"},
    )
    result = client_for(fault_server, sleeps).generate(GenerationRequest("x", output_format="png"))
    assert result.credits_used == 120000 and result.cost_usd == pytest.approx(0.05)


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", ""])
def test_unreadable_cost_headers_are_ignored(fault_server, sleeps, value):
    fault_server.expect_request(GEN).respond_with_json(
        shape_a(fault_server),
        headers={"x-aimlapi-credits-used": value, "x-aimlapi-usd-spent": value},
    )
    serve_image(fault_server)
    result = client_for(fault_server, sleeps).generate(GenerationRequest("x"))
    assert result.credits_used is None and result.cost_usd is None


def test_tracing_headers_on_an_error_answer(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(
        {"message": "Body validation error", "requestId": "rid-1"},
        status=400,
        headers={"x-inference-id": "inf-400", "x-aimlapi-credits-used": "0"},
    )
    with pytest.raises(fe.BadRequestError) as info:
        client_for(fault_server, sleeps).generate(GenerationRequest("x"), client_request_id=ROW_ID)
    err = info.value
    assert err.inference_id == "inf-400" and err.credits_used == 0 and err.cost_usd == 0
    assert err.client_request_id == ROW_ID and err.request_id == "rid-1"


def test_a_failed_download_keeps_the_charge_of_the_generation(fault_server, sleeps):
    fault_server.expect_request(GEN).respond_with_json(
        shape_a(fault_server),
        headers={"x-inference-id": "inf-ok", "x-aimlapi-usd-spent": "0.06"},
    )
    fault_server.expect_request("/cdn/x.jpg").respond_with_data("gone", status=404)
    with pytest.raises(fe.ImageDownloadError) as info:
        client_for(fault_server, sleeps).generate(GenerationRequest("x"), client_request_id=ROW_ID)
    err = info.value
    assert err.inference_id == "inf-ok" and err.cost_usd == pytest.approx(0.06)
    assert err.client_request_id == ROW_ID and err.status == 404


@pytest.mark.parametrize("seed", [0, -5, 2**53, 2**63, True])
def test_a_seed_outside_the_contract_is_reported_as_unknown(fault_server, seed) -> None:
    """It could not be sent back to reproduce the image, nor be logged exactly."""
    answer = {"images": [{"url": fault_server.url_for("/cdn/s.jpg")}], "seed": seed}
    fault_server.expect_request("/v1/images/generations").respond_with_json(answer)
    fault_server.expect_request("/cdn/s.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    client = FluxClient(base_url=fault_server.url_for("").rstrip("/"))
    assert client.generate(GenerationRequest("a seed from elsewhere")).seed is None


def test_a_key_that_cannot_go_into_a_header_is_a_clear_error_not_a_crash(fault_server):
    key = "sk-live-\u200bTESTKEY-0123456789abcdef"
    fault_server.expect_request("/v1/images/generations").respond_with_json({})
    client = FluxClient(api_key=key, base_url=fault_server.url_for("").rstrip("/"))
    with pytest.raises(fe.APIConnectionError) as caught:
        client.generate(GenerationRequest("a prompt"))
    assert "API key" in str(caught.value) and "TESTKEY" not in str(caught.value)
    assert not fault_server.log  # nothing left this machine
