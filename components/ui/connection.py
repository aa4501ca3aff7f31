"""Which backend this session talks to, and the client configured for it.

Where requests go and which key they carry is decided in one place, `decide` (pure, so it is
tested without Streamlit), fed by `endpoint` from this session and the configuration:

- a studio-wide key (environment or secrets) is only ever sent to the base URL configured with
  it, never to one typed on the page;
- a session that points the studio elsewhere brings its own key (typed in Settings);
- plain http:// is refused for any base URL that is not on this machine, typed or configured.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from components import config
from components.api.client import FluxClient, is_loopback_host
from components.api.contract import LATENCY_HEADER
from components.log.schema import BackendName
from components.ui import keys, resources, state

NEEDS_OWN_KEY = (
    "This base URL needs its own key: the studio's key is only sent to the base URL "
    "configured with it. Paste a key in Settings, or set the base URL back."
)
NO_KEY = "none"


def _is_loopback_host(host: str) -> bool:
    return is_loopback_host(host)


def base_url_problem(url: str) -> str | None:
    """Why a base URL cannot be used (None: it can). Plain http:// only for this machine."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "Base URL is not a valid address."
    if parts.scheme not in ("http", "https") or not host:
        return "Base URL must start with http:// or https:// and name a host."
    if parts.username is not None or parts.password is not None:
        return "Base URL must not hold a user name or password."
    if parts.query or parts.fragment:
        return "Base URL must not hold a query (?…) or a fragment (#…)."
    if parts.scheme == "http" and not _is_loopback_host(host):
        return (
            "Plain http:// is only allowed for this machine (localhost, 127.0.0.1, ::1): a key "
            "sent over it can be read on the way. Use https://."
        )
    return None


def same_base_url(a: str, b: str) -> bool:
    """Equal after the harmless differences: case of scheme and host, trailing slashes."""
    try:
        one, two = urlsplit(a.strip()), urlsplit(b.strip())
        return (
            one.scheme.lower() == two.scheme.lower()
            and (one.hostname or "") == (two.hostname or "")
            and one.port == two.port
            and one.username == two.username
            and one.password == two.password
            and one.path.rstrip("/") == two.path.rstrip("/")
            and (one.query, one.fragment) == (two.query, two.fragment)
        )
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoint:
    """Where this session's requests go and the key they carry (None: none is sent)."""

    base_url: str
    key: str | None = field(repr=False)
    key_source: str  # for display, never the key: "this browser session", "none", ...
    problem: str | None = None  # why no key is used although one may exist, for the page


def decide(
    base_url: str,
    configured_base_url: str,
    session_key: str | None,
    studio_key: str | None,
    studio_key_source: str = NO_KEY,
) -> Endpoint:
    """THE decision: which key, if any, goes to `base_url` (the one this session chose).

    A key typed in this session goes wherever the session points; the studio-wide key only
    to the base URL configured with it; no key at all over plain http:// to another machine.
    """
    url = base_url.strip().rstrip("/")
    if problem := base_url_problem(url):
        return Endpoint(url, None, NO_KEY, problem)
    if session_key:
        return Endpoint(url, session_key, keys.SESSION_SOURCE)
    if studio_key:
        if same_base_url(url, configured_base_url):
            return Endpoint(url, studio_key, studio_key_source)
        return Endpoint(url, None, NO_KEY, NEEDS_OWN_KEY)
    return Endpoint(url, None, NO_KEY)


def endpoint(conf: state.StudioSettings | None = None) -> Endpoint:
    """`decide` for this session: its base URL and typed key, the configured base URL and key."""
    conf = conf or state.settings()
    studio_key, studio_source = keys.studio_key()
    who = state.visitor()
    # A viewer's requests go where the studio is configured to send them, whatever the session
    # holds: the base URL is the presenter's to choose.
    base = conf.base_url if who is None or who.presenter else config.base_url()
    return decide(base, config.base_url(), keys.typed_key(), studio_key, studio_source)


@dataclass(frozen=True)
class Backend:
    name: BackendName
    base_url: str
    key_source: str  # where the key came from, for display; never the key
    problem: str | None = None  # why the AI/ML API is not used although a key exists

    @property
    def offline(self) -> bool:
        return self.name == BackendName.OFFLINE

    @property
    def label(self) -> str:
        return "Offline demo" if self.offline else "AI/ML API"


def backend(conf: state.StudioSettings | None = None) -> Backend:
    conf = conf or state.settings()
    chosen = endpoint(conf)
    if chosen.key and not conf.force_offline:
        return Backend(BackendName.AIMLAPI, chosen.base_url, chosen.key_source)
    problem = None if conf.force_offline else chosen.problem
    offline_url = resources.offline_backend().base_url
    return Backend(BackendName.OFFLINE, offline_url, chosen.key_source, problem)


def make_client(conf: state.StudioSettings | None = None) -> FluxClient:
    """The client for this session: the offline backend, or the chosen base URL with the key
    `decide` allows there (and no other)."""
    conf = conf or state.settings()
    info = backend(conf)
    headers = {LATENCY_HEADER: f"{conf.offline_latency:g}"} if info.offline else {}
    return FluxClient(
        api_key=None if info.offline else endpoint(conf).key,
        base_url=info.base_url,
        timeout=conf.timeout,
        max_retries=conf.retries,
        extra_headers=headers,
    )


def fingerprint(*parts: object) -> str:
    """A short hash of what a cached object depends on (the key among them, never shown)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]
