"""What the Session log reads, cached per filter and per state of the log.

Every cached function takes the log's fingerprint (one cheap SQL scan) as part of its key, so a
new generation in another tab, a deletion or an import shows on the next rerun, while a rerun
that changed nothing (a row selected, a tab switched) reuses the figures. Caches are bounded.
"""

from __future__ import annotations

import base64
import io
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st
from PIL import Image

from components.images.store import ImageStore
from components.log import stats as log_stats
from components.log.store import LogFilter, LogFingerprint, LogStore
from components.ui import resources

THUMB_SIDE = 96  # table thumbnails: small enough that 200 of them stay well under a megabyte


def stores() -> tuple[LogStore, ImageStore]:
    return resources.stores()


def cache_key(log: LogStore) -> str:
    """The log's name for cache keys, with the rows this session may read: a viewer limited
    to their own rows must never be answered from the presenter's cached figures."""
    return f"{log.name}|{log.read_scope or '*'}|{log.hidden_token()}"


def fingerprint() -> LogFingerprint:
    log, _ = stores()
    return log.fingerprint()


@st.cache_data(max_entries=64, show_spinner=False)
def count(_log: LogStore, db: str, filt: LogFilter, fp: LogFingerprint) -> int:
    return _log.count(filt)


@st.cache_data(max_entries=16, show_spinner=False)
def overview(_log: LogStore, db: str, filt: LogFilter, fp: LogFingerprint) -> log_stats.Overview:
    """Metrics and chart data from a narrow query (9 of 34 columns: 4x quicker to read)."""
    return log_stats.overview(_log.query(filt, columns=log_stats.STATS_COLUMNS))


@st.cache_data(max_entries=8, show_spinner=False)
def groups(_log: LogStore, db: str, session_id: str | None, fp: LogFingerprint) -> pd.DataFrame:
    return _log.groups(session_id)


def page_rows(filt: LogFilter, limit: int, offset: int) -> pd.DataFrame:
    """One page of full rows (LIMIT/OFFSET in SQL): at most a few hundred, never cached, so an
    action always sees the rows as they are now."""
    log, _ = stores()
    return log.query(filt, limit=limit, offset=offset)


@st.cache_data(max_entries=2_000, show_spinner=False)
def thumb_url(_images: ImageStore, root: str, rel_thumb: str) -> str | None:
    """A tiny JPEG data URL for the table; built once per image (thumbnails never change)."""
    data = _images.thumbnail_bytes(rel_thumb)
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
            im = opened.convert("RGB")
            im.thumbnail((THUMB_SIDE, THUMB_SIDE))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=70)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def fit_width(width: int | None, height: int | None, box_w: int, box_h: int) -> int:
    """The display width that keeps an image inside a box: a 9:16 portrait at full column width
    would push everything else off the screen."""
    if not width or not height:
        return box_w
    return max(1, min(box_w, round(box_h * width / height)))


def local_tz() -> tzinfo:
    """The browser's time zone (st.context knows it), else UTC: times read as the user's."""
    name = st.context.timezone
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
