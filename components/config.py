"""Every environment variable and default of the studio, read in one place.

A value comes from the environment first, then from a `secrets.toml` (the files Streamlit reads:
`~/.streamlit/secrets.toml`, then `.streamlit/secrets.toml` beside app.py, the later winning),
then from the default here. Values are read on every call, not at import, so a test or a
deployment that changes the environment is seen at once.

Imports: api
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from components.api.contract import DEFAULT_BASE_URL

APP_ROOT = Path(__file__).resolve().parent.parent

API_KEY = "AIMLAPI_API_KEY"
BASE_URL = "AIMLAPI_BASE_URL"
DATA_DIR = "FLUX_STUDIO_DATA_DIR"
DB_URL = "FLUX_STUDIO_DB_URL"
OFFLINE_LATENCY = "FLUX_STUDIO_OFFLINE_LATENCY"
CONCURRENCY = "FLUX_STUDIO_CONCURRENCY"
# Sharing: the presenter's passcode, and the accounts that are presenters when Streamlit's
# native sign-in (`[auth]` in secrets.toml) is configured.
PASSCODE = "FLUX_STUDIO_PASSCODE"
PRESENTERS = "FLUX_STUDIO_PRESENTERS"
# The address others reach the studio by (a vote's link and QR code): the one the presenter has
# open is often localhost, which a phone cannot reach.
PUBLIC_URL = "FLUX_STUDIO_PUBLIC_URL"
# "0" turns off answering a repeated seeded request from the log (every click is then sent:
# for measuring the provider, as the benchmarks do).
REUSE = "FLUX_STUDIO_REUSE"
# Images in an S3-compatible bucket (s3://bucket/prefix) instead of the data folder, with the
# endpoint (MinIO, R2, ...) and region; credentials are boto3's own (environment, profile).
MEDIA_URL = "FLUX_STUDIO_MEDIA_URL"
S3_ENDPOINT = "FLUX_STUDIO_S3_ENDPOINT"
S3_REGION = "FLUX_STUDIO_S3_REGION"

DEFAULT_OFFLINE_LATENCY_S = 1.5
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_RETRIES = 2
DB_FILE = "studio.db"


def _secret_files() -> tuple[Path, ...]:
    return (Path.home() / ".streamlit" / "secrets.toml", APP_ROOT / ".streamlit" / "secrets.toml")


@lru_cache(maxsize=8)
def _parse(path: str, mtime_ns: int) -> dict[str, Any]:
    # Keyed on the file's mtime, so an edited secrets file is read again and an unchanged one
    # costs a stat per call.
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def secrets() -> dict[str, Any]:
    """The merged secrets files; a missing or broken file counts as empty."""
    merged: dict[str, Any] = {}
    for path in _secret_files():
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            continue
        merged.update(_parse(str(path), mtime))
    return merged


def lookup(name: str) -> tuple[str | None, str]:
    """A setting's text and where it came from ('environment', 'secrets' or 'none')."""
    env = os.environ.get(name, "").strip()
    if env:
        return env, "environment"
    value = secrets().get(name)
    if isinstance(value, str | int | float) and str(value).strip():
        return str(value).strip(), "secrets"
    return None, "none"


def _number(name: str, default: float) -> float:
    text, _ = lookup(name)
    try:
        return float(text) if text is not None else default
    except ValueError:
        return default


def api_key() -> tuple[str | None, str]:
    """The studio-wide key (environment or secrets) and where it came from; never logged."""
    return lookup(API_KEY)


def base_url() -> str:
    """The base URL configured with the studio-wide key (environment or secrets, else the
    provider's): the only one that key is ever sent to (components/ui/connection.py decides)."""
    text, _ = lookup(BASE_URL)
    return (text or DEFAULT_BASE_URL).rstrip("/")


def offline_latency() -> float:
    return max(0.0, _number(OFFLINE_LATENCY, DEFAULT_OFFLINE_LATENCY_S))


def concurrency() -> int:
    return max(1, int(_number(CONCURRENCY, DEFAULT_CONCURRENCY)))


def data_dir() -> Path:
    """The data folder: FLUX_STUDIO_DATA_DIR, else data/ beside app.py (created on demand)."""
    raw, _ = lookup(DATA_DIR)
    path = Path(raw).expanduser() if raw else APP_ROOT / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path(folder: Path | None = None) -> Path:
    return (folder or data_dir()) / DB_FILE


def db_url() -> str:
    """FLUX_STUDIO_DB_URL, else the SQLite file studio.db in the data folder (WAL mode), as
    text for people to read. The log store opens the default from the path itself (a folder
    name with '%' or '?' would change meaning inside a URL). The text may hold a password:
    show it only through the log store's `describe`."""
    text, _ = lookup(DB_URL)
    return text or f"sqlite:///{db_path()}"


def passcode() -> str | None:
    """The presenter's passcode (environment or secrets); None: no passcode sign-in."""
    text, _ = lookup(PASSCODE)
    return text


def presenters() -> tuple[str, ...]:
    """Accounts (e-mail addresses) that sign in as presenters: a comma-separated text in the
    environment, or a text or a list in secrets."""
    env = os.environ.get(PRESENTERS, "").strip()
    value: Any = env or secrets().get(PRESENTERS)
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def auth_configured() -> bool:
    """Whether Streamlit's native sign-in is set up: an `[auth]` table in secrets.toml."""
    return isinstance(secrets().get("auth"), dict)


def public_url() -> str | None:
    """FLUX_STUDIO_PUBLIC_URL without a trailing slash (None: not set)."""
    text, _ = lookup(PUBLIC_URL)
    return text.rstrip("/") if text else None


def reuse() -> bool:
    """Whether a seeded request identical to an earlier success is answered from the log."""
    text, _ = lookup(REUSE)
    return (text or "1").strip().lower() not in ("0", "false", "no", "off")


def media() -> tuple[str, str, str]:
    """The bucket URL ("" for the data folder), its endpoint and its region."""
    url, endpoint, region = (lookup(name)[0] or "" for name in (MEDIA_URL, S3_ENDPOINT, S3_REGION))
    return url, endpoint, region
