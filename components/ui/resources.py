"""Per-process resources shared by every session (st.cache_resource, never mutated per user):
the offline backend and the stores."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import config
from components.images.store import ImageStore
from components.log.store import LogStore
from components.offline.process import OfflineBackendProcess


@st.cache_resource(show_spinner=False)
def offline_backend() -> OfflineBackendProcess:
    """One offline server per app process, run as a child process so drawing previews never
    holds up the page scripts; each session picks its latency by request header."""
    backend = OfflineBackendProcess(latency=config.offline_latency())
    backend.start()
    return backend


@st.cache_resource(show_spinner=False)
def _stores(folder: str) -> tuple[LogStore, ImageStore]:
    root = Path(folder)
    return LogStore(config.db_path(root)), ImageStore(root)


def stores() -> tuple[LogStore, ImageStore]:
    return _stores(str(config.data_dir()))
