"""The account balance for the sidebar and the budget check, read in the background
(`api.watch.BalanceWatch`): one watch per base URL and key for the whole process, so a rerun
or a click never waits for the billing endpoint."""

from __future__ import annotations

import streamlit as st

from components.api.client import Balance, FluxClient
from components.api.watch import BalanceWatch
from components.ui import connection, state

FIRST_WAIT_S = 0.5  # only a watch's very first read waits, so the first page shows a figure


@st.cache_resource(show_spinner=False, max_entries=16)
def _watch(_client: FluxClient, fingerprint: str) -> BalanceWatch:
    # Keyed by base URL and key together (hashed), so one never answers for another.
    return BalanceWatch(_client.balance)


def _current() -> BalanceWatch | None:
    conf = state.settings()
    info = connection.backend(conf)
    if info.offline:
        return None
    key = connection.endpoint(conf).key
    print_ = connection.fingerprint(info.base_url, key, conf.retries)
    return _watch(connection.make_client(conf), print_)


def balance(fresh: bool = False) -> tuple[Balance | None, str | None]:
    """The last balance read for this session's backend (None, None on the offline demo)."""
    watch = _current()
    if watch is None:
        return None, None
    if fresh:
        watch.invalidate()
    return watch.get(first_wait_s=FIRST_WAIT_S)


def known_balance_usd() -> float | None:
    """The balance a run is checked against: the last one read, never fetched here."""
    watch = _current()
    if watch is None:
        return None
    value, _ = watch.get()
    return value.current_balance if value is not None else None
