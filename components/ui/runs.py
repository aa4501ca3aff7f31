"""This session's runner, and the one door every generation goes through: `submit` checks
that this visitor may send now and holds the run's cost against the day's budgets first."""

from __future__ import annotations

import time

import streamlit as st

from components import config
from components.runner import Job, Run, Runner
from components.sharing.budget import BudgetRefused, Limits
from components.ui import access, balance, connection, keys, resources, state

RUNNER_STATE = "_studio_runner"


class RunRefused(Exception):
    """A run this session may not send now; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def runner() -> Runner:
    """This session's runner, rebuilt when the backend, key, limits or visitor change."""
    conf, info = state.settings(), connection.backend()
    key, _ = keys.api_key()
    who = access.current()
    log_store, image_store = resources.stores()
    signature = connection.fingerprint(
        info.name, info.base_url, key, conf, who.id, log_store.read_scope
    )
    current = st.session_state.get(RUNNER_STATE)
    if current is None or current[0] != signature:
        fresh = Runner(
            connection.make_client(conf),
            log_store,
            image_store,
            backend=info.name,
            session_id=state.session_id(),
            concurrency=conf.concurrency,
            made_by=who.id,
            gate=resources.provider_gate(),
            ledger=resources.sharing().ledger,
            reuse_from_log=config.reuse(),
        )
        if current is not None:
            current[1].shutdown()  # running jobs finish and are logged; nothing is cut short
        st.session_state[RUNNER_STATE] = (signature, fresh)
        current = st.session_state[RUNNER_STATE]
    return current[1]


def limits() -> Limits:
    """What a run is checked against now: the presenter's budgets (read fresh) and the last
    balance read in the background (never fetched on the click path)."""
    rules = resources.policy(fresh=True)
    own = None if access.is_presenter() else rules.viewer_budget_usd
    return Limits(rules.studio_budget_usd, own, balance.known_balance_usd())


DEPARTURE_WAIT_S = 0.1


def submit(jobs: list[Job], first_look_side: int | None = None) -> Run:
    """Send jobs for this session, or raise RunRefused (nothing sent, nothing held).
    `first_look_side`: the page shows the pictures smaller than a thumbnail (Runner.submit)."""
    if why := access.may_generate():
        raise RunRefused(why)
    try:
        run = runner().submit(jobs, limits(), first_look_side)
    except BudgetRefused as exc:
        raise RunRefused(exc.message) from None
    # The page is drawn once the requests have left (Run.wait_departures says why); a gate
    # full of other sessions' requests delays the drawing no longer than this.
    run.wait_departures(DEPARTURE_WAIT_S)
    return run


# Measured (bench/latency.py, browser-side timings): a rerun sent right after the picture made
# the browser apply the whole page's ~70 deltas before it inserted the <img>, 0.33 s click ->
# picture at latency 0; letting the picture go first took that to 0.22 s. A click in this
# pause waits for it, no longer.
REDRAW_PAUSE_S = 0.2


def before_redraw(drawn_at: float | None = None) -> None:
    """Give the browser the picture before the page's full redraw reaches it: the pause runs
    from `drawn_at` (perf_counter) when the picture went out earlier, else from now."""
    waited = 0.0 if drawn_at is None else time.perf_counter() - drawn_at
    time.sleep(max(0.0, REDRAW_PAUSE_S - waited))
    # A click in the pause (a page switch above all) is taken here, where Streamlit can stop
    # the run, rather than merged into the rerun that follows and lost.
    st.empty()
