"""Per-process resources shared by every session (st.cache_resource, never mutated per user):
the offline backend, the stores, the sharing tables' objects and the provider gate.

`stores()` is where a viewer's view of the log is made: the log store comes back scoped to
what this session's visitor may read and change (see `LogStore.scoped`), so no page can show a
viewer rows that are not theirs to see, or change rows that are not theirs."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from components import config
from components.gate import ProviderGate
from components.images.bucket import BucketError, S3Bucket, parse_media_url
from components.images.store import ImageStore
from components.log.database import DatabaseURLError
from components.log.store import LogStore
from components.offline.process import OfflineBackendProcess
from components.sharing.budget import Ledger
from components.sharing.leases import SharedGate
from components.sharing.passcode import SignInThrottle
from components.sharing.policy import Policy, PolicyStore
from components.sharing.presence import Presence
from components.ui import state
from components.ui.safe import md_escape
from components.vote.store import VoteStore


@st.cache_resource(show_spinner=False)
def offline_backend() -> OfflineBackendProcess:
    """One offline server per app process, run as a child process so drawing previews never
    holds up the page scripts; each session picks its latency by request header."""
    backend = OfflineBackendProcess(latency=config.offline_latency())
    backend.start()
    return backend


FLUSH_EVERY_S = 60.0


@st.cache_resource(show_spinner=False)
def _stores(folder: str, db_url: str, media: tuple[str, str, str]) -> tuple[LogStore, ImageStore]:
    # Keyed on the URL as set, password included, but cache keys never reach a page or a log.
    # No URL set: the data folder's studio.db, passed as a path (never re-parsed as a URL).
    log = LogStore(db_url or config.db_path(Path(folder)))
    media_url, endpoint, region = media
    bucket = None
    if media_url:
        bucket = S3Bucket(parse_media_url(media_url), endpoint_url=endpoint, region=region)
        bucket.check()  # a wrong bucket or endpoint stops the app at start, saying which
    images = ImageStore(Path(folder), bucket)
    if bucket is not None:
        _flush_forever(log, images)
    return log, images


def _flush_forever(log: LogStore, images: ImageStore) -> None:
    """Uploads that failed are tried again every minute; rows whose images are all in the
    bucket then stop saying the upload is pending."""

    def loop() -> None:
        while True:
            time.sleep(FLUSH_EVERY_S)
            try:
                images.flush()
                clear_upload_notes(log, images)
            except Exception:
                logging.getLogger(__name__).exception("could not upload pending images")

    threading.Thread(target=loop, name="flux-uploads", daemon=True).start()


def clear_upload_notes(log: LogStore, images: ImageStore) -> list[str]:
    """Rows that say their upload is pending, whose files no longer are (uploaded by this
    app server's flush, or by the save itself just before the row was written): the note
    goes. Returns their ids."""
    pending = set(images.pending())
    cleared = []
    for row_id, paths in log.upload_notes():
        if not pending.intersection(paths):
            log.update(row_id, error_type=None, error_message=None)
            cleared.append(row_id)
    return cleared


def all_stores() -> tuple[LogStore, ImageStore]:
    """The stores unscoped: for the presenter's tools and the sharing tables only."""
    setting, _ = config.lookup(config.DB_URL)
    return _stores(str(config.data_dir()), setting or "", config.media())


def stores() -> tuple[LogStore, ImageStore]:
    """The stores as this session's visitor may use them: a viewer reads every row or only
    their own (the presenter's setting) and changes only their own."""
    log, images = all_stores()
    who = state.visitor()
    if who is None or who.presenter:
        return log, images
    own = who.id if policy().viewers_see_own_rows_only else None
    return log.scoped(read=own, write=who.id, hide_unrevealed=True), images


@dataclass(frozen=True)
class Sharing:
    policies: PolicyStore
    ledger: Ledger
    presence: Presence
    throttle: SignInThrottle


@st.cache_resource(show_spinner=False)
def _sharing(_log: LogStore, key: str) -> Sharing:
    return Sharing(PolicyStore(_log), Ledger(_log), Presence(_log), SignInThrottle(_log))


def sharing() -> Sharing:
    log, _ = all_stores()
    return _sharing(log, f"{log.name}|{id(log)}")


@st.cache_resource(show_spinner=False)
def _votes(_log: LogStore, key: str) -> VoteStore:
    return VoteStore(_log)


def votes() -> VoteStore:
    """The votes (unscoped: the presenter's pages and the ballot page use it; what a voter
    may do is checked by the store itself and by the ballot page)."""
    log, _ = all_stores()
    return _votes(log, f"{log.name}|{id(log)}")


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=4)
def _policy(key: str) -> dict[str, Any]:
    # A plain dict in the cache, not the dataclass: a cached class instance cannot be read
    # back (pickled) once its module is reloaded, as Streamlit does when a file changes.
    return asdict(sharing().policies.load())


def policy(fresh: bool = False) -> Policy:
    """The presenter's studio-wide settings, read at most once a second for display; pass
    `fresh` where a decision is made (may this viewer send, has the passcode changed)."""
    if fresh:
        _policy.clear()
    log, _ = all_stores()
    return Policy(**_policy(f"{log.name}|{id(log)}"))


def provider_gate() -> ProviderGate | SharedGate:
    """The provider slots, sized by the presenter's setting: one pool for this process on a
    SQLite file (one machine), or slots in the database that every replica shares."""
    log, _ = all_stores()
    return _gate(log.name, log.engine.dialect.name != "sqlite")


@st.cache_resource(show_spinner=False)
def _gate(database: str, shared: bool) -> ProviderGate | SharedGate:
    if shared:
        return SharedGate(all_stores()[0], config.concurrency())
    return ProviderGate(config.concurrency())


def require_stores() -> None:
    """Called by the frame before any page: a database URL the studio cannot use stops the
    app with the reason (naming the setting, never a password), not a traceback. Nothing is
    cached on failure, so the next rerun tries again (a server that was down may be up)."""
    try:
        all_stores()
    except DatabaseURLError as err:
        st.error(f"**The session log cannot open.** {md_escape(str(err))}", icon=":material/error:")
        st.stop()
    except BucketError as err:
        st.error(
            f"**The image bucket cannot open.** {md_escape(str(err))}", icon=":material/error:"
        )
        st.stop()
