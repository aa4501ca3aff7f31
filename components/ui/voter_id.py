"""A voter is one browser: a random id kept in the browser's own storage (localStorage), made
the first time a vote link is opened. A private window has its own storage, so it counts as a
new voter (the results say so). The id never leaves this studio and holds nothing else."""

from __future__ import annotations

import streamlit as st

from components.vote.store import valid_voter

_JS = """
export default function(component) {
  const { setStateValue, data } = component;
  const KEY = 'flux_studio_voter';
  let id = null;
  try { id = window.localStorage.getItem(KEY); } catch (e) { id = null; }
  if (!id || !/^[0-9a-f]{32}$/.test(id)) {
    // getRandomValues works on plain http too (randomUUID needs a secure context).
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    try { window.localStorage.setItem(KEY, id); } catch (e) { /* storage off: per tab */ }
  }
  if (data !== id) setStateValue('voter', id);
}
"""

_component = st.components.v2.component("flux_studio_voter_id", js=_JS)
STATE = "_studio_voter_id"


def voter_id() -> str | None:
    """This browser's voter id, or None on the very first run (the browser reports it and the
    page reruns at once)."""
    known = st.session_state.get(STATE)
    result = _component(key="vote_voter_id", data=known, on_voter_change=lambda: None)
    reported = getattr(result, "voter", None)
    if isinstance(reported, str) and valid_voter(reported):
        st.session_state[STATE] = reported
        return reported
    return known if isinstance(known, str) and valid_voter(known) else None
