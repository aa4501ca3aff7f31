"""THE API helper: the only code in the app that speaks HTTP to the image provider.

One `FluxClient` holds the key, base URL, timeouts and retry policy. It validates a request before
sending, retries only what is safe to retry (urllib3's `Retry` on a requests `Session`), accepts
both response shapes of the contract, keeps the image bytes (CDN links expire) and turns every
failure into an error from `components.api.errors` whose text never contains the key.

Billing safety: a generation that may have reached the provider can be made and billed even when
no answer comes back, so the generation POST has its own retry policy. It is never re-sent after
a read timeout or a connection broken mid-answer (only a failure to connect, when nothing was
sent, is retried); 500 and 504 are retried at most once; 429, 502 and 503 as configured. GETs
(balance, image downloads) keep the plain policy. Each generation carries the caller's id as
`X-Client-Request-Id`, and the provider's tracing and cost headers come back on the result or
the error, so a charge can always be matched to a log row.

Image downloads follow redirects by hand (http and https only, at most a few hops) and refuse
hosts that resolve to loopback, private, link-local (cloud metadata), multicast, reserved or
unspecified addresses, unless the client itself talks to a local base URL (the offline backend).
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import math
import random
import socket
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlparse

import requests
from PIL import Image
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from components.api.contract import (
    BALANCE_PATHS,
    CLIENT_REQUEST_ID_HEADER,
    CREDITS_USED_HEADER,
    DEFAULT_BASE_URL,
    DOWNLOAD_CONTENT_TYPES,
    GENERATE_PATH,
    INFERENCE_ID_HEADER,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    REQUEST_ID_HEADERS,
    SEED_MAX,
    SEED_MIN,
    USD_SPENT_HEADER,
    GenerationRequest,
    credits_to_usd,
    valid_client_request_id,
)
from components.api.errors import (
    APIConnectionError,
    APITimeoutError,
    FluxError,
    ImageDownloadError,
    MalformedResponseError,
    ValidationError,
    error_for_status,
    redact,
    redact_and_cut,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The provider may have made (and billed) the image before answering these: a generation POST is
# retried at most GENERATE_ONCE_RETRIES times for them in all (429/502/503 as configured).
GENERATE_ONCE_STATUSES = frozenset({500, 504})
GENERATE_ONCE_RETRIES = 1
# How much of a non-JSON error body is kept (after redaction).
ERROR_TEXT_MAX_CHARS = 500
# Image downloads: redirects followed by hand, each target checked before it is requested.
IMAGE_MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
IMAGE_SCHEMES = ("http", "https")
# Well-known cloud metadata endpoints (AWS/GCP/Azure IPv4, AWS IPv6): named in the refusal.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Tracing header values are ids, not prose: anything longer is cut.
_HEADER_ID_MAX_CHARS = 256
_UNANSWERED_HINT = (
    "Before trying again, look for this request id in the provider's usage log (or watch the "
    "balance): a new try is a new request and may be charged again."
)

__all__ = [
    "Balance",
    "FluxClient",
    "GeneratedImage",
    "GenerationRequest",
    "GenerationResult",
    "ValidationError",
]

# Retries happen inside urllib3, several frames below `generate`; the retry object reports each
# one here so the attempt count of *this thread's* call reaches the result.
_calls = threading.local()


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    width: int
    height: int
    content_type: str
    url: str | None = None
    nsfw: bool | None = None


@dataclass(frozen=True)
class GenerationResult:
    request: GenerationRequest
    body: dict[str, Any]
    images: list[GeneratedImage]
    seed: int | None
    credits_used: float | None
    cost_usd: float | None
    request_id: str | None
    attempts: int
    http_status: int
    request_s: float
    download_s: float
    total_s: float
    # The provider's x-inference-id (the id its charge is recorded under) and the
    # X-Client-Request-Id that was sent (None when none, or an invalid one, was given).
    inference_id: str | None = None
    client_request_id: str | None = None

    @property
    def model(self) -> str:
        return self.body["model"]


@dataclass(frozen=True)
class Balance:
    current_balance: float
    currency: str = "USD"


class _ReportingRetry(Retry):
    """urllib3's Retry with our own delay rule (capped, jittered, injectable sleep) and an
    optional shared limit for some statuses (`limited_statuses` are retried at most
    `limited_retries` times in all, whatever `total` still allows)."""

    def __init__(
        self,
        *args: Any,
        policy: _RetryPolicy | None = None,
        limited_statuses: frozenset[int] = frozenset(),
        limited_retries: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.policy = policy or _RetryPolicy()
        self.limited_statuses = frozenset(limited_statuses)
        self.limited_retries = limited_retries

    def new(self, **kw: Any) -> _ReportingRetry:
        retry = super().new(**kw)
        retry.policy = self.policy
        retry.limited_statuses = self.limited_statuses
        retry.limited_retries = self.limited_retries
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if self.limited_retries is not None and status_code in self.limited_statuses:
            earlier = sum(1 for entry in self.history if entry.status in self.limited_statuses)
            if earlier >= self.limited_retries:
                return False  # urllib3 then hands back this answer as it is: no sleep, no send
        return super().is_retry(method, status_code, has_retry_after)

    def sleep(self, response: Any = None) -> None:
        retry_after = None
        if response is not None:
            try:
                retry_after = self.get_retry_after(response)
            except Exception:  # an unparseable Retry-After falls back to backoff
                retry_after = None
        delay = self.policy.delay(len(self.history), retry_after)
        delays = getattr(_calls, "delays", None)
        if delays is not None:
            delays.append(delay)
        if delay > 0:
            self.policy.sleep(delay)


@dataclass
class _RetryPolicy:
    base: float = 0.5
    cap: float = 8.0
    retry_after_cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        exp = min(self.cap, self.base * 2 ** max(0, retry_number - 1))
        # "Equal jitter": half fixed, half random, so parallel cells do not retry in lockstep.
        return exp / 2 + exp / 2 * self.rng()


@dataclass
class FluxClient:
    """One configured connection to the provider (or the offline backend: same contract)."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    timeout: float = 120.0
    connect_timeout: float = 10.0
    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    retry_after_cap: float = 30.0
    max_image_bytes: int = MAX_IMAGE_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS
    extra_headers: dict[str, str] = field(default_factory=dict, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    # May image links (and their redirects) point at loopback/private/link-local hosts? None
    # means "only when the base URL itself is local" (the offline backend, tests): see
    # `local_images_allowed`.
    allow_local_images: bool | None = None
    # Image hosts ("host" or "host:port") fetched even when they resolve to a local address,
    # e.g. a CDN proxy on the company network; redirects are still checked hop by hop.
    trusted_image_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.base_url = (self.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._local = threading.local()

    @property
    def local_images_allowed(self) -> bool:
        """Whether image links may lead to non-public addresses: `allow_local_images` when set,
        else True exactly when the base URL's host is a loopback one (127.0.0.0/8, ::1,
        localhost)."""
        if self.allow_local_images is not None:
            return bool(self.allow_local_images)
        return is_loopback_host(urlparse(self.base_url).hostname)

    def __repr__(self) -> str:
        key = f"...{self.api_key[-4:]}" if self.api_key and len(self.api_key) >= 8 else None
        return f"FluxClient(base_url={self.base_url!r}, key={key!r}, retries={self.max_retries})"

    def _retry(self, generation: bool) -> _ReportingRetry:
        """The retry policy: billing-safe for the generation POST, the plain one otherwise."""
        policy = _RetryPolicy(self.backoff_base, self.backoff_cap, self.retry_after_cap, self.sleep)
        if generation:
            return _ReportingRetry(
                total=self.max_retries,
                # Connect failures (nothing was sent) are retried within `total`. Anything after
                # the request may have left is not: a read timeout or a connection broken
                # mid-answer (read), or e.g. TLS failing mid-answer (other).
                read=0,
                other=0,
                allowed_methods=frozenset({"POST"}),
                status_forcelist=RETRY_STATUSES,
                raise_on_status=False,
                respect_retry_after_header=True,
                policy=policy,
                limited_statuses=GENERATE_ONCE_STATUSES,
                limited_retries=GENERATE_ONCE_RETRIES,
            )
        return _ReportingRetry(
            total=self.max_retries,
            allowed_methods=frozenset({"GET", "POST"}),
            status_forcelist=RETRY_STATUSES,
            raise_on_status=False,
            respect_retry_after_header=True,
            policy=policy,
        )

    def _session(self, generation: bool = False) -> requests.Session:
        """One Session per thread and policy: pooled connections without sharing a Session
        across threads, and the generation POST on its own billing-safe retry policy."""
        sessions: dict[bool, requests.Session] | None = getattr(self._local, "sessions", None)
        if sessions is None:
            sessions = self._local.sessions = {}
        session = sessions.get(generation)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no .netrc or proxy env rewriting our auth header
            adapter = HTTPAdapter(max_retries=self._retry(generation), pool_maxsize=8)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            sessions[generation] = session
        return session

    def _secrets(self) -> tuple[str, ...]:
        return (self.api_key,) if self.api_key else ()

    def _headers(self, with_body: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.extra_headers}
        if with_body:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _send(
        self,
        method: str,
        url: str,
        *,
        generation: bool = False,
        client_request_id: str | None = None,
        **kwargs: Any,
    ) -> tuple[requests.Response, int]:
        """Send with retries; returns the final response and how many attempts it took."""
        _calls.delays = []
        try:
            resp = self._session(generation).request(
                method, url, timeout=(self.connect_timeout, self.timeout), **kwargs
            )
        except requests.RequestException as exc:
            raise self._transport_error(
                exc,
                1 + len(_calls.delays),
                generation=generation,
                client_request_id=client_request_id,
            ) from None
        except (UnicodeError, ValueError):
            # Nothing left this machine: a header (in practice the key, pasted with an
            # invisible character) cannot be written. The text must not echo it.
            raise APIConnectionError(
                "The request could not be sent: the API key holds characters an HTTP header "
                "cannot carry (often an invisible one copied along with it). Set it again.",
                attempts=0,
            ) from None
        return resp, 1 + len(_calls.delays)

    def _transport_error(
        self,
        exc: Exception,
        attempts: int,
        *,
        generation: bool = False,
        client_request_id: str | None = None,
    ) -> FluxError:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        # NewConnectionError subclasses ConnectTimeoutError in urllib3, so test it first.
        refused = isinstance(reason, NewConnectionError)
        connect_timeout = not refused and (
            isinstance(exc, requests.ConnectTimeout) or isinstance(reason, ConnectTimeoutError)
        )
        read_timeout = (
            not refused
            and not connect_timeout
            and (isinstance(exc, requests.Timeout) or isinstance(reason, ReadTimeoutError))
        )
        # The connection broke after the request was (perhaps) sent: reset, closed mid-answer.
        broken = not (refused or connect_timeout or read_timeout) and isinstance(
            reason, ProtocolError
        )
        detail = redact(str(reason), self._secrets())
        tries = f"after {attempts} attempt(s)"
        common: dict[str, Any] = {
            "provider_message": detail,
            "attempts": attempts,
            "client_request_id": client_request_id,
        }
        if connect_timeout:
            return APITimeoutError(
                f"Could not connect to {self.base_url} within {self.connect_timeout:g} s "
                f"{tries}; nothing was sent.",
                **common,
            )
        if read_timeout and generation:
            return APITimeoutError(
                self._unanswered(
                    f"No answer from {self.base_url} within {self.timeout:g} s.",
                    client_request_id,
                ),
                hint=_UNANSWERED_HINT,
                **common,
            )
        if read_timeout:
            return APITimeoutError(
                f"No answer from {self.base_url} within {self.timeout:g} s {tries}.", **common
            )
        if broken and generation:
            return APIConnectionError(
                self._unanswered(
                    f"The connection to {self.base_url} broke before an answer came.",
                    client_request_id,
                ),
                hint=_UNANSWERED_HINT,
                **common,
            )
        return APIConnectionError(f"Could not connect to {self.base_url} {tries}.", **common)

    @staticmethod
    def _unanswered(what: str, client_request_id: str | None) -> str:
        """The plain words for a generation that may have been billed without an answer."""
        where = (
            f"The log keeps its request id {client_request_id} to match a charge later."
            if client_request_id
            else "The log keeps the request, with its time, to match a charge later."
        )
        return (
            f"{what} The provider may still have made the image and billed it. The request was "
            f"NOT sent again, so it cannot be charged twice. {where}"
        )

    @staticmethod
    def _tracing(resp: requests.Response) -> dict[str, Any]:
        """The provider's tracing and cost headers: inference id, credits used, USD spent."""
        inference_id = (resp.headers.get(INFERENCE_ID_HEADER) or "").strip()
        credits = _header_number(resp.headers.get(CREDITS_USED_HEADER))
        usd = _header_number(resp.headers.get(USD_SPENT_HEADER))
        return {
            "inference_id": inference_id[:_HEADER_ID_MAX_CHARS] or None,
            "credits_used": credits,
            "cost_usd": usd if usd is not None else credits_to_usd(credits),
        }

    def _request_id(self, resp: requests.Response, data: Any) -> str | None:
        if isinstance(data, dict):
            rid = data.get("requestId") or data.get("request_id") or data.get("id")
            if isinstance(rid, str | int) and rid != "":
                return str(rid)
        for name in REQUEST_ID_HEADERS:
            if resp.headers.get(name):
                return resp.headers[name]
        return None

    def _status_error(
        self,
        resp: requests.Response,
        attempts: int,
        client_request_id: str | None = None,
        tracing: dict[str, Any] | None = None,
    ) -> FluxError:
        try:
            data = resp.json()
        except ValueError:
            data = None
        provider = data.get("message") if isinstance(data, dict) else None
        if isinstance(provider, list):
            provider = "; ".join(map(str, provider))
        if provider:
            provider = redact(str(provider), self._secrets())
        else:
            # Redact the whole text first, then cut: a key echoed across the cut is still found.
            provider = redact_and_cut(
                resp.text or resp.reason or "", self._secrets(), ERROR_TEXT_MAX_CHARS
            )
        cls = error_for_status(resp.status_code)
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return cls(
            f"The API answered {resp.status_code}{tries}: {provider}",
            status=resp.status_code,
            provider_message=provider,
            request_id=self._request_id(resp, data),
            attempts=attempts,
            client_request_id=client_request_id,
            **(tracing if tracing is not None else self._tracing(resp)),
        )

    def _inspect(self, data: bytes, where: str) -> tuple[int, int, str]:
        """Size and type from the header only, refusing decompression bombs before decoding."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as img:
                    width, height, fmt = img.width, img.height, img.format
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageDownloadError(
                f"The image from {where} declares far too many pixels and was refused."
            ) from None
        except Exception:
            raise ImageDownloadError(f"The file from {where} is not a readable image.") from None
        if width * height > self.max_image_pixels:
            raise ImageDownloadError(
                f"The image from {where} declares {width}x{height} pixels, more than the "
                f"{self.max_image_pixels:,} allowed; it was refused."
            )
        if fmt not in DOWNLOAD_CONTENT_TYPES:
            accepted = ", ".join(DOWNLOAD_CONTENT_TYPES)
            raise ImageDownloadError(f"The file from {where} is a {fmt} image, not {accepted}.")
        return width, height, DOWNLOAD_CONTENT_TYPES[fmt]

    def _image_host_trusted(self, parsed: Any) -> bool:
        if not self.trusted_image_hosts:
            return False
        host = (parsed.hostname or "").lower()
        host_port = _where(parsed.geturl()).lower()
        trusted = {entry.strip().lower() for entry in self.trusted_image_hosts}
        return host in trusted or host_port in trusted

    def _guard_image_url(self, url: str, redirected_from: str | None = None) -> None:
        """Refuse an image link (or a redirect target) that is not http(s), or whose host
        resolves to a non-public address, before anything is requested from it."""
        parsed = urlparse(url)
        scheme = parsed.scheme.lower()
        if scheme not in IMAGE_SCHEMES or not parsed.hostname:
            if redirected_from is None:
                raise ImageDownloadError("The provider gave an image link that is not http(s).")
            shown = f"a {scheme}: link" if scheme else "a link without a scheme"
            if scheme in IMAGE_SCHEMES:
                shown = "a link without a host"
            raise ImageDownloadError(
                f"The image from {redirected_from} redirected to {shown}, refused: "
                "images are only fetched over http(s)."
            )
        if self.local_images_allowed or self._image_host_trusted(parsed):
            return
        host = parsed.hostname
        try:
            port = parsed.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise ImageDownloadError("An image link has an invalid port; it was refused.") from None
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise ImageDownloadError(f"The image host {host} could not be found.") from None
        for info in infos:
            try:
                address = ipaddress.ip_address(str(info[4][0]))
            except ValueError:
                continue
            kind = refused_address_kind(address)
            if kind is None:
                continue
            intro = (
                f"The image link points to {host}"
                if redirected_from is None
                else f"The image from {redirected_from} redirected to {host}"
            )
            shown = "" if str(address) == host else f" ({address})"
            raise ImageDownloadError(
                f"{intro}, a {kind} address{shown}, refused: images are only fetched from "
                "public hosts."
            )

    def _download(self, url: str) -> bytes:
        self._guard_image_url(url)
        current = url
        hops = 0
        while True:
            where = _where(current)
            # No Authorization header: the key is for the API, never for a CDN. Redirects are
            # followed below, one checked hop at a time.
            try:
                resp, attempts = self._send(
                    "GET",
                    current,
                    stream=True,
                    headers={"Accept": "image/*"},
                    allow_redirects=False,
                )
            except (APIConnectionError, APITimeoutError) as exc:
                why = "no answer in time" if isinstance(exc, APITimeoutError) else "no connection"
                raise ImageDownloadError(
                    f"Could not download the image from {where} after {exc.attempts} "
                    f"attempt(s): {why}.",
                    provider_message=exc.provider_message,
                    attempts=exc.attempts,
                ) from None
            if resp.status_code in REDIRECT_STATUSES:
                with resp:
                    location = resp.headers.get("Location", "").strip()
                if not location:
                    raise ImageDownloadError(
                        f"The image from {where} redirected without saying where to.",
                        status=resp.status_code,
                        attempts=attempts,
                    )
                hops += 1
                if hops > IMAGE_MAX_REDIRECTS:
                    raise ImageDownloadError(
                        f"The image from {where} redirected more than {IMAGE_MAX_REDIRECTS} "
                        "times; refused.",
                        status=resp.status_code,
                        attempts=attempts,
                    )
                target = urljoin(current, location)
                self._guard_image_url(target, redirected_from=where)
                current = target
                continue
            return self._read_image(resp, where, attempts)

    def _read_image(self, resp: requests.Response, where: str, attempts: int) -> bytes:
        with resp:
            if resp.status_code != 200:
                raise ImageDownloadError(
                    f"Downloading the image from {where} failed with {resp.status_code}.",
                    status=resp.status_code,
                    attempts=attempts,
                )
            ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype and not ctype.startswith("image/") and ctype != "application/octet-stream":
                raise ImageDownloadError(f"The link from {where} served {ctype}, not an image.")
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_image_bytes:
                raise ImageDownloadError(f"The image from {where} is larger than allowed.")
            chunks, total = [], 0
            try:
                for chunk in resp.iter_content(256 * 1024):
                    total += len(chunk)
                    if total > self.max_image_bytes:
                        raise ImageDownloadError(f"The image from {where} is larger than allowed.")
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise ImageDownloadError(
                    f"The download of the image from {where} broke off.",
                    provider_message=redact(str(exc), self._secrets()),
                    attempts=attempts,
                ) from None
        return b"".join(chunks)

    def _collect_images(self, data: dict[str, Any]) -> list[str | bytes]:
        """Each image of the answer: a link to download (str) or its data, sent inline."""
        items = data.get("images")
        if items is None:
            items = data.get("data")
        if not isinstance(items, list) or not items:
            raise MalformedResponseError("The provider answered but returned no images.")
        out: list[str | bytes] = []
        for item in items:
            if isinstance(item, str):
                item = {"url": item}
            if not isinstance(item, dict):
                raise MalformedResponseError("The provider's image list has an unreadable entry.")
            b64 = item.get("b64_json")
            url = item.get("url")
            if b64:
                try:
                    out.append(base64.b64decode(b64, validate=True))
                except (binascii.Error, ValueError, TypeError):
                    raise MalformedResponseError("An image arrived as broken base64.") from None
            elif isinstance(url, str) and url:
                out.append(url)
            else:
                raise MalformedResponseError("An image in the answer has neither a URL nor data.")
        return out

    def generate(
        self, request: GenerationRequest, *, client_request_id: str | None = None
    ) -> GenerationResult:
        """Validate, send, parse either response shape and download every image.

        `client_request_id` (e.g. the log row's id) goes out as X-Client-Request-Id when it is
        one the provider accepts (1-128 of A-Z a-z 0-9 . _ : -), and is left out otherwise.
        """
        started = time.perf_counter()
        body = request.to_body()  # raises ValidationError before anything is sent
        request = request.validated()
        sent_id = client_request_id if valid_client_request_id(client_request_id) else None
        headers = self._headers(True)
        if sent_id is not None:
            name = CLIENT_REQUEST_ID_HEADER.lower()
            headers = {k: v for k, v in headers.items() if k.lower() != name}
            headers[CLIENT_REQUEST_ID_HEADER] = sent_id
        resp, attempts = self._send(
            "POST",
            self.base_url + GENERATE_PATH,
            json=body,
            headers=headers,
            generation=True,
            client_request_id=sent_id,
        )
        request_s = time.perf_counter() - started
        tracing = self._tracing(resp)
        if resp.status_code not in (200, 201):
            raise self._status_error(resp, attempts, sent_id, tracing)
        answered: dict[str, Any] = {
            "status": resp.status_code,
            "attempts": attempts,
            "client_request_id": sent_id,
            **tracing,
        }
        try:
            data = resp.json()
        except ValueError:
            raise MalformedResponseError(
                f"The API answered {resp.status_code} but not with JSON.",
                request_id=self._request_id(resp, None),
                **answered,
            ) from None
        if not isinstance(data, dict):
            raise MalformedResponseError(
                "The API answered with JSON that is not an object.",
                request_id=self._request_id(resp, None),
                **answered,
            )
        request_id = self._request_id(resp, data)
        # Credits: the body's meta.usage when it has them, else the x-aimlapi-credits-used
        # header; cost: the x-aimlapi-usd-spent header when present, else from the credits.
        meta = data.get("meta")
        usage = meta.get("usage") if isinstance(meta, dict) else None
        credits = usage.get("credits_used") if isinstance(usage, dict) else None
        if isinstance(credits, int | float) and not isinstance(credits, bool):
            credits = float(credits)
        else:
            credits = tracing["credits_used"]
        usd = _header_number(resp.headers.get(USD_SPENT_HEADER))
        cost = usd if usd is not None else credits_to_usd(credits)
        try:
            sources = self._collect_images(data)
            dl_started = time.perf_counter()
            flags = data.get("has_nsfw_concepts")
            images = self._fetch_all(sources, flags if isinstance(flags, list) else [])
        except FluxError as exc:
            # The generation itself succeeded (and was billed): keep what traces the charge.
            exc.status = exc.status or resp.status_code
            exc.request_id = exc.request_id or request_id
            exc.attempts = max(exc.attempts, attempts)
            exc.inference_id = exc.inference_id or tracing["inference_id"]
            exc.credits_used = exc.credits_used if exc.credits_used is not None else credits
            exc.cost_usd = exc.cost_usd if exc.cost_usd is not None else cost
            exc.client_request_id = exc.client_request_id or sent_id
            raise
        download_s = time.perf_counter() - dl_started
        seed = data.get("seed")
        # A seed outside the contract's range could not be sent back to reproduce the image
        # (nor logged exactly): treated as not reported, like a seed that is not a number.
        in_range = (
            isinstance(seed, int) and not isinstance(seed, bool) and SEED_MIN <= seed <= SEED_MAX
        )
        seed = seed if in_range else None
        return GenerationResult(
            request=request,
            body=body,
            images=images,
            seed=seed,
            credits_used=credits,
            cost_usd=cost,
            request_id=request_id,
            attempts=attempts,
            http_status=resp.status_code,
            request_s=request_s,
            download_s=download_s,
            total_s=time.perf_counter() - started,
            inference_id=tracing["inference_id"],
            client_request_id=sent_id,
        )

    def _fetch_all(self, sources: list[str | bytes], nsfw_flags: list[Any]) -> list[GeneratedImage]:
        """Every image's bytes (links fetched in parallel), checked, with its NSFW flag."""
        urls = [source for source in sources if isinstance(source, str)]
        if len(urls) > 1:
            with ThreadPoolExecutor(max_workers=min(4, len(urls))) as pool:
                fetched = dict(zip(urls, pool.map(self._download, urls), strict=True))
        else:
            fetched = {url: self._download(url) for url in urls}
        images = []
        for index, source in enumerate(sources):
            url = source if isinstance(source, str) else None
            blob = fetched[source] if isinstance(source, str) else source
            where = _where(url) if url else "the response"
            width, height, ctype = self._inspect(blob, where)
            nsfw = nsfw_flags[index] if index < len(nsfw_flags) else None
            images.append(
                GeneratedImage(
                    data=blob,
                    width=width,
                    height=height,
                    content_type=ctype,
                    url=url,
                    nsfw=nsfw if isinstance(nsfw, bool) else None,
                )
            )
        return images

    def balance(self) -> Balance:
        """The account balance in USD (GET /v2/billing, falling back to the legacy path)."""
        for path in BALANCE_PATHS:
            resp, attempts = self._send("GET", self.base_url + path, headers=self._headers())
            if resp.status_code == 404 and path != BALANCE_PATHS[-1]:
                continue
            if resp.status_code != 200:
                raise self._status_error(resp, attempts)
            try:
                data = resp.json()
                return Balance(float(data["current_balance"]), str(data.get("currency", "USD")))
            except (ValueError, KeyError, TypeError):
                raise MalformedResponseError(
                    "The balance endpoint answered without a readable balance.",
                    status=resp.status_code,
                    attempts=attempts,
                ) from None
        raise MalformedResponseError("No balance endpoint answered.")  # pragma: no cover


def _where(url: str) -> str:
    """The host[:port] of a link, for messages (never its user:password part)."""
    return urlparse(url).netloc.rpartition("@")[2]


def _header_number(value: str | None) -> float | None:
    """A cost header's number (credits or USD), or None when absent or not a finite number >= 0."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _plain_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[Any]:
    """Every IPv4 address an address embeds (mapped, 6to4, NAT64), then the address itself: the
    embedded one is where a connection really goes, so it names the refusal."""
    out: list[Any] = []
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            out.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            out.append(address.sixtofour)
        if address in _NAT64:
            out.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    out.append(address)
    return out


def refused_address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an image may not be fetched from this address ("loopback", "private"...), or None
    for a public one."""
    for ip in _plain_address(address):
        if ip in METADATA_ADDRESSES:
            return "cloud metadata (link-local)"
        if ip.is_loopback:
            return "loopback"
        if ip.is_link_local:
            return "link-local"
        if ip.is_unspecified:
            return "unspecified"
        if ip.is_multicast:
            return "multicast"
        if ip.is_reserved:
            return "reserved"
        if ip.is_private:
            return "private"
        if not ip.is_global:
            return "non-public"
    return None


def is_loopback_host(host: str | None) -> bool:
    """True for localhost names and loopback addresses (127.0.0.0/8, ::1, ::ffff:127.x)."""
    if not host:
        return False
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return any(ip.is_loopback for ip in _plain_address(address))
