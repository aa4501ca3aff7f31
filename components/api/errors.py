"""The errors the API helper raises: one small hierarchy keyed by what the user can do next.

Every error carries the HTTP status (if any), the provider's own message, its request id and how
many attempts were made, what the provider's tracing headers said (inference id, credits, cost)
and the client request id sent with it; its text is already free of the API key.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import ClassVar

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


def redact(text: str | None, secrets: tuple[str, ...] = ()) -> str:
    """Text with every known secret and any bearer token replaced, so it is safe to show or log."""
    if not text:
        return ""
    out = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, "[redacted]")
    return _BEARER.sub(r"\1[redacted]", out)


# A cut keeping at least this many leading characters of a secret would leak part of it.
_PARTIAL_SECRET_MIN = 4


def redact_and_cut(text: str | None, secrets: tuple[str, ...] = (), limit: int = 500) -> str:
    """`text` redacted first, then cut to `limit` characters, with no partial secret left over.

    Redacting the whole text before cutting means a secret that spans the cut is still found;
    and if the cut text ends in the opening characters of a secret (4 or more of them), those
    are dropped too, so no prefix of the key survives in an error box, a log row or an export.
    """
    out = redact(text, secrets)
    if len(out) <= limit:
        return out
    out = out[: max(0, limit)]
    for secret in secrets:
        if not secret or len(secret) < _PARTIAL_SECRET_MIN:
            continue
        for size in range(min(len(secret), len(out)), _PARTIAL_SECRET_MIN - 1, -1):
            if out.endswith(secret[:size]):
                out = out[:-size] + "[redacted]"
                break
    return out + "…"


class ErrorType(StrEnum):
    """What kind of failure a log row records (its `error_type`); the log stores the values."""

    ERROR = "error"
    VALIDATION = "validation"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    RATE_LIMIT = "rate_limit"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    MALFORMED_RESPONSE = "malformed_response"
    IMAGE_DOWNLOAD = "image_download"
    INTERNAL = "internal"
    # Not raised by a call: the image arrived but could not be saved to disk.
    STORAGE = "storage"
    # Not raised by a call: the run would have gone past a budget, so nothing was sent.
    BUDGET = "budget"
    # Not raised by a call: the app process that sent the request stopped before its answer
    # came (found by another process on the same database); the provider may have billed it.
    LOST = "lost"


class FluxError(Exception):
    """Base of every failure of a call; `hint` says what to do about it."""

    error_type: ClassVar[ErrorType] = ErrorType.ERROR
    hint = "Try again; if it keeps failing, note the request id and contact the provider."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider_message: str | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        inference_id: str | None = None,
        credits_used: float | None = None,
        cost_usd: float | None = None,
        client_request_id: str | None = None,
        hint: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.provider_message = provider_message
        self.request_id = request_id
        self.attempts = attempts
        # The provider's tracing and cost headers, when an answer carried them.
        self.inference_id = inference_id
        self.credits_used = credits_used
        self.cost_usd = cost_usd
        # The X-Client-Request-Id sent with the request (the log row's id), if any.
        self.client_request_id = client_request_id
        if hint is not None:
            self.hint = hint

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class OverBudget(FluxError):
    """A request kept home because it would have gone past a budget (nothing was sent)."""

    error_type = ErrorType.BUDGET
    hint = "Nothing was sent. The presenter can raise the limit on the Sharing page."


class ValidationError(FluxError, ValueError):
    """Every problem with a request, by field, in plain words; raised before anything is sent."""

    error_type = ErrorType.VALIDATION
    hint = "Nothing was sent. Correct the fields named above and try again."

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        text = "; ".join(f"{name}: {msg}" for name, msg in self.problems.items())
        super().__init__(f"Please fix the request: {text}", attempts=0)


class APIStatusError(FluxError):
    """The provider answered with an error status."""


class BadRequestError(APIStatusError):
    error_type = ErrorType.BAD_REQUEST
    hint = "The provider rejected the request as sent; check the parameters named in the message."


class NotFoundError(BadRequestError):
    error_type = ErrorType.NOT_FOUND
    hint = "The endpoint was not found: check the base URL in Settings."


class AuthenticationError(APIStatusError):
    error_type = ErrorType.AUTHENTICATION
    hint = "The API key is missing, expired or wrong: check it in Settings."


class PermissionDeniedError(APIStatusError):
    error_type = ErrorType.PERMISSION
    hint = "The key works but may not do this: top up credits or check the plan in your account."


class RateLimitError(APIStatusError):
    error_type = ErrorType.RATE_LIMIT
    hint = "Still rate-limited after automatic retries: lower the concurrency limit in Settings."


class ServerError(APIStatusError):
    error_type = ErrorType.SERVER
    hint = "The provider failed even after retries; try again later and quote the request id."


class APITimeoutError(FluxError):
    error_type = ErrorType.TIMEOUT
    hint = "No answer in time; try again or raise the timeout in Settings."


class APIConnectionError(FluxError):
    error_type = ErrorType.CONNECTION
    hint = "Could not reach the API: check the network and the base URL in Settings."


class MalformedResponseError(FluxError):
    error_type = ErrorType.MALFORMED_RESPONSE
    hint = "The provider's answer could not be read; try again and quote the request id."


class ImageDownloadError(FluxError):
    error_type = ErrorType.IMAGE_DOWNLOAD
    hint = "The image was generated but could not be fetched; try again."


class InternalError(FluxError):
    """A bug in the app, not a failure of the provider: caught so a row and an answer remain."""

    error_type = ErrorType.INTERNAL


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_for_status(status: int) -> type[APIStatusError]:
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    return ServerError if status >= 500 else BadRequestError


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ErrorType",
    "FluxError",
    "ImageDownloadError",
    "InternalError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ValidationError",
    "error_for_status",
    "redact",
    "redact_and_cut",
]
