"""The account balance for the sidebar, cached so a rerun does not call the provider."""

from __future__ import annotations

import streamlit as st

from components.api.client import Balance, FluxClient
from components.api.errors import FluxError
from components.ui import connection, state


@st.cache_data(ttl=60, show_spinner=False, max_entries=16)
def _cached_balance(_client: FluxClient, fingerprint: str) -> tuple[Balance | None, str | None]:
    try:
        return _client.balance(), None
    except FluxError as exc:
        return None, exc.message


def balance(fresh: bool = False) -> tuple[Balance | None, str | None]:
    """The account balance, cached for a minute so the sidebar does not call on every rerun.
    The client (and so the key it carries) comes from `connection.make_client`, never from
    here: the cache key names the base URL and key together, so one never answers for another."""
    conf = state.settings()
    info = connection.backend(conf)
    key = None if info.offline else connection.endpoint(conf).key
    client = connection.make_client(conf)
    if fresh:
        _cached_balance.clear()
    return _cached_balance(client, connection.fingerprint(info.base_url, key, conf.retries))
