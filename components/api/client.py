"""THE API helper: the only code in the app that speaks HTTP to the image provider.

One `FluxClient` holds the key, base URL, timeouts and retry policy. It validates a request before
sending, retries only what is safe to retry (urllib3's `Retry` on a requests `Session`), accepts
both response shapes of the contract, keeps the image bytes (CDN links expire) and turns every
failure into an error from `components.api.errors` whose text never contains the key.
"""

from __future__ import annotations

import base64
import binascii
import io
import random
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests
from PIL import Image
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from components.api.contract import (
    BALANCE_PATHS,
    DEFAULT_BASE_URL,
    DOWNLOAD_CONTENT_TYPES,
    GENERATE_PATH,
    GenerationRequest,
    credits_to_usd,
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
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REQUEST_ID_HEADERS = ("x-request-id", "x-requestid", "request-id", "x-amzn-requestid")

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

    @property
    def model(self) -> str:
        return self.body["model"]


@dataclass(frozen=True)
class Balance:
    current_balance: float
    currency: str = "USD"


class _ReportingRetry(Retry):
    """urllib3's Retry with our own delay rule (capped, jittered, injectable sleep)."""

    def __init__(self, *args: Any, policy: _RetryPolicy | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.policy = policy or _RetryPolicy()

    def new(self, **kw: Any) -> _ReportingRetry:
        retry = super().new(**kw)
        retry.policy = self.policy
        return retry

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
    max_image_bytes: int = 64 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    extra_headers: dict[str, str] = field(default_factory=dict, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        self.base_url = (self.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._local = threading.local()

    def __repr__(self) -> str:
        key = f"...{self.api_key[-4:]}" if self.api_key and len(self.api_key) >= 8 else None
        return f"FluxClient(base_url={self.base_url!r}, key={key!r}, retries={self.max_retries})"

    def _session(self) -> requests.Session:
        """One Session per thread: pooled connections without sharing a Session across threads."""
        session = getattr(self._local, "session", None)
        if session is None:
            retry = _ReportingRetry(
                total=self.max_retries,
                allowed_methods=frozenset({"GET", "POST"}),
                status_forcelist=RETRY_STATUSES,
                raise_on_status=False,
                respect_retry_after_header=True,
                policy=_RetryPolicy(
                    self.backoff_base, self.backoff_cap, self.retry_after_cap, self.sleep
                ),
            )
            session = requests.Session()
            session.trust_env = False  # no .netrc or proxy env rewriting our auth header
            adapter = HTTPAdapter(max_retries=retry, pool_maxsize=8)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
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

    def _send(self, method: str, url: str, **kwargs: Any) -> tuple[requests.Response, int]:
        """Send with retries; returns the final response and how many attempts it took."""
        _calls.delays = []
        try:
            resp = self._session().request(
                method, url, timeout=(self.connect_timeout, self.timeout), **kwargs
            )
        except requests.RequestException as exc:
            raise self._transport_error(exc, 1 + len(_calls.delays)) from None
        return resp, 1 + len(_calls.delays)

    def _transport_error(self, exc: Exception, attempts: int) -> FluxError:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        # NewConnectionError subclasses ConnectTimeoutError in urllib3, so test it first.
        refused = isinstance(reason, NewConnectionError)
        timed_out = not refused and (
            isinstance(exc, requests.Timeout)
            or isinstance(reason, ReadTimeoutError | ConnectTimeoutError)
        )
        detail = redact(str(reason), self._secrets())
        if timed_out:
            return APITimeoutError(
                f"No answer from {self.base_url} within {self.timeout:g} s "
                f"after {attempts} attempt(s).",
                provider_message=detail,
                attempts=attempts,
            )
        return APIConnectionError(
            f"Could not connect to {self.base_url} after {attempts} attempt(s).",
            provider_message=detail,
            attempts=attempts,
        )

    def _request_id(self, resp: requests.Response, data: Any) -> str | None:
        if isinstance(data, dict):
            rid = data.get("requestId") or data.get("request_id") or data.get("id")
            if isinstance(rid, str | int) and rid != "":
                return str(rid)
        for name in REQUEST_ID_HEADERS:
            if resp.headers.get(name):
                return resp.headers[name]
        return None

    def _status_error(self, resp: requests.Response, attempts: int) -> FluxError:
        try:
            data = resp.json()
        except ValueError:
            data = None
        provider = data.get("message") if isinstance(data, dict) else None
        if isinstance(provider, list):
            provider = "; ".join(map(str, provider))
        if not provider:
            provider = resp.text[:500] or resp.reason or ""
        provider = redact(str(provider), self._secrets())
        cls = error_for_status(resp.status_code)
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return cls(
            f"The API answered {resp.status_code}{tries}: {provider}",
            status=resp.status_code,
            provider_message=provider,
            request_id=self._request_id(resp, data),
            attempts=attempts,
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

    def _download(self, url: str) -> bytes:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ImageDownloadError("The provider gave an image link that is not http(s).")
        where = parsed.netloc
        # No Authorization header: the key is for the API, never for a CDN.
        resp, attempts = self._send("GET", url, stream=True, headers={"Accept": "image/*"})
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
            for chunk in resp.iter_content(256 * 1024):
                total += len(chunk)
                if total > self.max_image_bytes:
                    raise ImageDownloadError(f"The image from {where} is larger than allowed.")
                chunks.append(chunk)
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

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Validate, send, parse either response shape and download every image."""
        started = time.perf_counter()
        body = request.to_body()  # raises ValidationError before anything is sent
        request = request.validated()
        resp, attempts = self._send(
            "POST", self.base_url + GENERATE_PATH, json=body, headers=self._headers(True)
        )
        request_s = time.perf_counter() - started
        if resp.status_code not in (200, 201):
            raise self._status_error(resp, attempts)
        try:
            data = resp.json()
        except ValueError:
            raise MalformedResponseError(
                f"The API answered {resp.status_code} but not with JSON.",
                status=resp.status_code,
                request_id=self._request_id(resp, None),
                attempts=attempts,
            ) from None
        if not isinstance(data, dict):
            raise MalformedResponseError("The API answered with JSON that is not an object.")
        request_id = self._request_id(resp, data)
        try:
            sources = self._collect_images(data)
            dl_started = time.perf_counter()
            flags = data.get("has_nsfw_concepts")
            images = self._fetch_all(sources, flags if isinstance(flags, list) else [])
        except FluxError as exc:
            exc.status = exc.status or resp.status_code
            exc.request_id = exc.request_id or request_id
            exc.attempts = max(exc.attempts, attempts)
            raise
        download_s = time.perf_counter() - dl_started
        seed = data.get("seed")
        seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
        usage = ((data.get("meta") or {}).get("usage") or {}) if isinstance(data, dict) else {}
        credits = usage.get("credits_used") if isinstance(usage, dict) else None
        credits = float(credits) if isinstance(credits, int | float) else None
        return GenerationResult(
            request=request,
            body=body,
            images=images,
            seed=seed,
            credits_used=credits,
            cost_usd=credits_to_usd(credits),
            request_id=request_id,
            attempts=attempts,
            http_status=resp.status_code,
            request_s=request_s,
            download_s=download_s,
            total_s=time.perf_counter() - started,
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
            where = urlparse(url).netloc if url else "the response"
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
