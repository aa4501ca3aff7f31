"""Per-process resources shared by every session (st.cache_resource, never mutated per user):
the offline backend and the stores."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import config
from components.images.store import ImageStore
from components.log.database import DatabaseURLError
from components.log.store import LogStore
from components.offline.process import OfflineBackendProcess
from components.ui.safe import md_escape


@st.cache_resource(show_spinner=False)
def offline_backend() -> OfflineBackendProcess:
    """One offline server per app process, run as a child process so drawing previews never
    holds up the page scripts; each session picks its latency by request header."""
    backend = OfflineBackendProcess(latency=config.offline_latency())
    backend.start()
    return backend


@st.cache_resource(show_spinner=False)
def _stores(folder: str, db_url: str) -> tuple[LogStore, ImageStore]:
    # Keyed on the URL as set, password included, but cache keys never reach a page or a log.
    # No URL set: the data folder's studio.db, passed as a path (never re-parsed as a URL).
    return LogStore(db_url or config.db_path(Path(folder))), ImageStore(Path(folder))


def stores() -> tuple[LogStore, ImageStore]:
    setting, _ = config.lookup(config.DB_URL)
    return _stores(str(config.data_dir()), setting or "")


def require_stores() -> None:
    """Called by the frame before any page: a database URL the studio cannot use stops the
    app with the reason (naming the setting, never a password), not a traceback. Nothing is
    cached on failure, so the next rerun tries again (a server that was down may be up)."""
    try:
        stores()
    except DatabaseURLError as err:
        st.error(f"**The session log cannot open.** {md_escape(str(err))}", icon=":material/error:")
        st.stop()
