"""Generate: prompt and parameters in, images out."""

import streamlit as st

from components.api.contract import estimate_cost_usd, price_text
from components.api.errors import ValidationError
from components.ui import access, connection, handoff, param_form, runs
from components.ui.frame_guard import require_frame
from components.ui.generate import presets as gen_presets
from components.ui.generate import results as gen_results
from components.ui.safe import md_escape

require_frame()

REFUSED_STATE = gen_results.REFUSED_STATE


def on_generate() -> None:
    """Validate first (errors shown next to their fields), then hand the job to the runner."""
    if busy():
        # A second click (or Ctrl+Enter) can arrive before the disabled button is drawn: it
        # must not send, and pay for, the same request again.
        return
    if why := access.may_generate():
        st.session_state[REFUSED_STATE] = why  # checked before anything, even a log row
        return
    request = param_form.current_request()
    try:
        request = request.validated()
    except ValidationError as exc:
        st.session_state[param_form.ERRORS_STATE] = exc.problems
        runs.runner().log_rejected(request, exc)
        return
    st.session_state[param_form.ERRORS_STATE] = {}
    try:
        gen_results.submit(request)
    except runs.RunRefused as exc:
        st.session_state[REFUSED_STATE] = exc.message


def busy() -> bool:
    entries = gen_results.entries()
    return bool(entries) and not entries[0].run.finished


def controls(in_flight: bool) -> None:
    """The Generate button, the cost line and the share hint."""
    request = param_form.current_request()
    closed = access.may_generate()  # the click is checked again on the server (runs.submit)
    st.button(
        "Generate",
        type="primary",
        icon=":material/auto_awesome:",
        shortcut="Ctrl+Enter",
        key=param_form.SUBMIT_KEY,
        on_click=on_generate,
        disabled=in_flight or bool(closed),
        width="stretch",
    )
    if closed:
        st.info(md_escape(closed), icon=":material/visibility:")
    images = request.num_images if isinstance(request.num_images, int) else 1
    if connection.backend().offline:
        st.caption(f"{images} image(s) · offline demo: no credits used.")
    else:
        st.caption(
            f"{images} image(s) · estimated \\${estimate_cost_usd(images):.2f} at the list price "
            f"of {md_escape(price_text())}; credits actually used show when the provider reports "
            "them."
        )
    if param_form.errors():
        st.error("Nothing was sent: fix the fields marked above.", icon=":material/error:")
    if refused := st.session_state.pop(REFUSED_STATE, None):
        st.error(f"Nothing was sent. {md_escape(refused)}", icon=":material/block:")
    st.caption(
        ":material/link: The address bar holds these settings: copy it to share a pre-filled form "
        "(it never contains your key)."
    )


# A hand-off from the Session log or a card: pre-fill before any widget exists.
gen_presets.from_link()  # ?preset=<name>: fill the form once, before the widgets
if (parent := handoff.take(handoff.PARENT)) is not None:
    gen_results.set_parent(*parent)
if (incoming := handoff.take(handoff.GENERATE_REQUEST)) is not None:
    param_form.load_request(incoming)
    if handoff.take(handoff.GENERATE_AUTORUN, False):
        on_generate()
if (seed := handoff.take(handoff.GENERATE_SEED)) is not None:
    st.session_state[param_form.K_SEED] = seed

st.title("Generate", anchor=False)
# Read once, for the button and the results alike: a run landing in between would otherwise
# leave the button disabled on a finished page.
in_flight = busy()
form_col, results_col = st.columns([5, 7], gap="large")
with results_col:
    # Drawn first: a quick answer's pictures go out before the form's deltas.
    pending = gen_results.render_all(in_flight)
with form_col:
    param_form.prompt_area()
    param_form.parameters()
    controls(in_flight)
    gen_presets.panel()
gen_results.finish(pending)  # last: everything above is on screen while it waits
