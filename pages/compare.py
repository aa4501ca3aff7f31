"""Compare: images side by side, produced at once, labelled with what differs, judged and
exported. Layout and wiring only; the pieces live in components/ui/compare/."""

import streamlit as st

from components.compare.plan import CompareMode
from components.ui.compare import log_pick as compare_log_pick
from components.ui.compare import run as compare_run
from components.ui.compare import setup as compare_setup
from components.ui.compare import view as compare_view
from components.ui.frame_guard import require_frame
from components.ui.safe import md_escape

require_frame()

# A hand-off from the Session log (a group to reopen, rows to compare) before any widget.
compare_run.take_handoffs()

st.title("Compare", anchor=False)
st.caption(
    "Which prompt, seed or setting is better? Every cell is sent at once and labelled with "
    "what differs; judge them, then export a contact sheet or a ZIP."
)
mode = compare_setup.mode_picker()
# Read once, for the Run button and the grid alike (see pages/generate.py).
in_flight = compare_run.busy()

with st.container(border=True):
    if mode == CompareMode.LOG:
        compare_log_pick.picker()
        for note in st.session_state.get(compare_run.ERRORS_STATE) or []:
            st.caption(f":material/info: {md_escape(note)}")
    else:
        compare_setup.FORMS[mode]()
        compare_run.run_controls(mode, in_flight)

# A run in flight is drawn as far as it has landed; otherwise the current view is shown.
filling = compare_run.follow_or_announce(in_flight)
if filling is None:
    compare_view.show(st.session_state.get(compare_run.VIEW_STATE), compare_run.plan_shown())
compare_run.finish(filling)  # last: the page is on screen while it waits for the cells
