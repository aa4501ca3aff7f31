"""No part of the key survives an error text, even when the provider's text is cut."""

from __future__ import annotations

import pytest

from components.api import errors as fe
from components.api.client import ERROR_TEXT_MAX_CHARS, FluxClient
from components.api.contract import GenerationRequest
from components.api.errors import redact_and_cut

# 44 characters, like the provider's keys.
KEY44 = "sk-aiml-0123456789abcdefghijklmnopqrstuvwxyz"
GEN = "/v1/images/generations"


def leaked(text: str | None, key: str = KEY44, shortest: int = 4) -> bool:
    """Does `text` hold any run of `shortest` or more leading characters of the key?"""
    return bool(text) and key[:shortest] in text


def test_key_is_44_characters():
    assert len(KEY44) == 44


@pytest.mark.parametrize("offset", range(ERROR_TEXT_MAX_CHARS - 50, ERROR_TEXT_MAX_CHARS + 5))
def test_a_key_across_the_cut_leaves_no_prefix(offset):
    text = "a" * offset + KEY44 + " and more text after the key" * 5
    out = redact_and_cut(text, (KEY44,), ERROR_TEXT_MAX_CHARS)
    assert not leaked(out)
    assert out.startswith("a" * min(offset, ERROR_TEXT_MAX_CHARS - 4))


def test_the_old_cut_would_have_kept_29_characters():
    """The issue's case: cut first, redact after, kept the first 29 of the 44."""
    text = "a" * (ERROR_TEXT_MAX_CHARS - 29) + KEY44 + "tail"
    old = fe.redact(text[:ERROR_TEXT_MAX_CHARS], (KEY44,))
    assert KEY44[:29] in old  # what used to reach the error box
    assert not leaked(redact_and_cut(text, (KEY44,), ERROR_TEXT_MAX_CHARS))


def test_short_texts_are_only_redacted():
    assert redact_and_cut(f"bad key {KEY44}", (KEY44,), 500) == "bad key [redacted]"
    assert redact_and_cut("", (KEY44,)) == ""
    assert redact_and_cut(None, (KEY44,)) == ""


def test_bearer_tokens_are_redacted_before_the_cut():
    token = "tok_" + "z" * 40
    text = "x" * 480 + f"Authorization: Bearer {token}"
    out = redact_and_cut(text, (), 500)
    assert token[:8] not in out


@pytest.mark.parametrize("offset", [471, 480, 490, 496, 499])
def test_a_non_json_error_body_never_shows_the_key(fault_server, offset):
    body = "<html>" + "e" * (offset - 6) + KEY44 + "</html>"
    assert body.index(KEY44) == offset
    fault_server.expect_request(GEN).respond_with_data(body, status=401, content_type="text/html")
    client = FluxClient(
        api_key=KEY44, base_url=fault_server.url_for("").rstrip("/"), sleep=lambda s: None
    )
    with pytest.raises(fe.AuthenticationError) as info:
        client.generate(GenerationRequest("x"))
    err = info.value
    for text in (str(err), repr(err), err.message, err.provider_message):
        assert not leaked(text), text[-80:]
    assert len(err.provider_message) <= ERROR_TEXT_MAX_CHARS + len("[redacted]…")


def test_a_long_json_message_never_shows_the_key(fault_server):
    fault_server.expect_request(GEN).respond_with_json(
        {"message": "m" * 700 + KEY44 + " end"}, status=403
    )
    client = FluxClient(
        api_key=KEY44, base_url=fault_server.url_for("").rstrip("/"), sleep=lambda s: None
    )
    with pytest.raises(fe.PermissionDeniedError) as info:
        client.generate(GenerationRequest("x"))
    assert not leaked(str(info.value)) and "[redacted]" in info.value.provider_message
