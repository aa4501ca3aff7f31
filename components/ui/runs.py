"""This session's runner: built from the session's settings, rebuilt when they change."""

from __future__ import annotations

import streamlit as st

from components.runner import Runner
from components.ui import connection, keys, resources, state

RUNNER_STATE = "_studio_runner"


def runner() -> Runner:
    """This session's runner, rebuilt when the backend, key or limits change."""
    conf, info = state.settings(), connection.backend()
    key, _ = keys.api_key()
    signature = connection.fingerprint(info.name, info.base_url, key, conf)
    current = st.session_state.get(RUNNER_STATE)
    if current is None or current[0] != signature:
        log_store, image_store = resources.stores()
        fresh = Runner(
            connection.make_client(conf),
            log_store,
            image_store,
            backend=info.name,
            session_id=state.session_id(),
            concurrency=conf.concurrency,
        )
        if current is not None:
            current[1].shutdown()  # running jobs finish and are logged; nothing is cut short
        st.session_state[RUNNER_STATE] = (signature, fresh)
        current = st.session_state[RUNNER_STATE]
    return current[1]
