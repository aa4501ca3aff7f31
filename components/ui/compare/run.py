"""Sending a comparison and following it: cost guard, Run, the live grid, Cancel, hand-offs.

A run is one runner batch with one group_id. While it is in flight every script run draws it
and then, at the very end of the page, waits for it in short slices, drawing each cell's
picture the moment its thumbnail exists and the rest (judging controls, a storage error) when
its outcome lands; once it is done the page shows the group as the log holds it, which is also
exactly what "reopen" shows later.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import streamlit as st

from components.api.contract import price_text
from components.compare.plan import CompareMode, Plan, PlanError
from components.compare.sheet import CellStatus, Sheet, SheetCell, cell_from_outcome, sheet_from_run
from components.experiments.presets import PresetError, PresetStore
from components.log.rows import row_dict
from components.runner import Job, Run
from components.ui import access, connection, handoff, resources, runs
from components.ui.compare import grid as compare_grid
from components.ui.compare import setup as compare_setup
from components.ui.safe import md_escape

LIVE_STATE = "cmp_live"
VIEW_STATE = "cmp_view"
ERRORS_STATE = "cmp_errors"
MAX_PICKED = 4


@dataclass
class LiveCompare:
    plan: Plan
    jobs: list[Job]
    run: Run
    group_id: str
    announced: bool = False
    waits: bool = False  # a script run has ended since the run began: pages may wait for it


@dataclass(frozen=True)
class View:
    """What the results area shows: a group (a run, fresh or reopened) or hand-picked rows."""

    group_id: str | None = None
    ids: tuple[str, ...] = ()
    from_log: bool = True  # False only for the run just sent from this page

    @property
    def key(self) -> str:
        return self.group_id or "ids_" + "_".join(i[:8] for i in self.ids)


def live() -> LiveCompare | None:
    return st.session_state.get(LIVE_STATE)


def plan_shown() -> Plan | None:
    """The plan behind the view, when the view is the run made here (its headers name the
    cells that were cancelled and so never reached the log)."""
    current, view = live(), st.session_state.get(VIEW_STATE)
    if current is not None and view is not None and view.group_id == current.group_id:
        return current.plan
    return None


def busy() -> bool:
    current = live()
    return current is not None and not current.run.finished


def show_group(group_id: str | None) -> None:
    if group_id:
        st.session_state[VIEW_STATE] = View(group_id=group_id)
        st.session_state[ERRORS_STATE] = []


def show_ids(ids: list[str]) -> None:
    st.session_state[VIEW_STATE] = View(ids=tuple(ids[:MAX_PICKED]))
    st.session_state[ERRORS_STATE] = []


PARENT_STATE = "cmp_parent"  # (row id, how) the next run's cells are made from
VARY_SEEDS = 4


def take_handoffs() -> None:
    """From the Session log: a group to reopen, or rows to put side by side (no request);
    from a card: Vary, which sends new seeds of one image's request at once."""
    if (vary := handoff.take(handoff.VARY)) is not None:
        request, row_id, seeds = vary
        compare_setup.load_for_seeds(request, VARY_SEEDS, seeds)
        st.session_state[PARENT_STATE] = (row_id, "vary" if row_id else "preset")
        _submit(CompareMode.SEEDS)
        return
    group = handoff.take(handoff.COMPARE_GROUP)
    ids = handoff.take(handoff.COMPARE_IDS)
    if ids:
        show_ids(list(ids))
        if len(ids) > MAX_PICKED:
            st.session_state[ERRORS_STATE] = [f"Showing the first {MAX_PICKED} of {len(ids)}."]
    if group:
        show_group(group)
    if group or ids:
        st.session_state[compare_setup.K_MODE] = CompareMode.LOG


def _confirm_key(plan: Plan) -> str:
    # The count is in the key: confirming 12 images does not carry over to 24.
    return f"cmp_confirm_{plan.count}"


def _submit(mode: CompareMode) -> None:
    """Run callback: build with real random seeds, validate every cell, send all at once."""
    st.session_state[ERRORS_STATE] = []
    try:
        plan = compare_setup.build_plan(mode, random.Random())
    except PlanError as exc:
        st.session_state[ERRORS_STATE] = [str(exc)]
        return
    problems = plan.problems()
    if plan.needs_confirmation and not st.session_state.get(_confirm_key(plan)):
        problems.append(f"Confirm the {plan.count} images first.")
    if problems or busy():
        st.session_state[ERRORS_STATE] = problems or ["A comparison is still running."]
        return
    group_id = uuid.uuid4().hex
    jobs = plan.jobs(group_id)
    if (parent := st.session_state.pop(PARENT_STATE, None)) is not None:
        # Every cell of a Vary is a child of the image it varies.
        jobs = [replace(j, parent_id=parent[0], lineage=parent[1]) for j in jobs]
    try:
        run = runs.submit(
            jobs, compare_grid.first_look_side(len(plan.x_labels), bool(plan.y_labels))
        )
    except runs.RunRefused as exc:
        st.session_state[ERRORS_STATE] = [exc.message]
        return
    st.session_state[LIVE_STATE] = LiveCompare(plan, jobs, run, group_id)
    st.session_state[VIEW_STATE] = View(group_id=group_id, from_log=False)
    st.session_state.pop(_confirm_key(plan), None)


def cost_line(plan: Plan, offline: bool) -> str:
    images = f"{plan.count} image{'s' if plan.count != 1 else ''}"
    if offline:
        return f"{images} · offline demo: no credits used"
    # A bare $ would start LaTeX in Streamlit markdown.
    price = md_escape(price_text())
    return f"{images} · estimated \\${plan.cost_usd:.2f} at the list price of {price}"


def run_controls(mode: CompareMode, in_flight: bool) -> None:
    """Count and cost, the confirmation above the limit, the Run button and what blocks it."""
    plan: Plan | None
    try:
        plan = compare_setup.build_plan(mode)
        problems = plan.problems()
    except PlanError as exc:
        plan, problems = None, [str(exc)]
    confirmed = True
    cols = st.columns([2, 5], vertical_alignment="center")
    with cols[1]:
        if plan is not None:
            st.markdown(f"**{cost_line(plan, connection.backend().offline)}**")
            if plan.needs_confirmation:
                confirmed = st.checkbox(
                    f"Yes, send {plan.count} requests at once (more than 8)",
                    key=_confirm_key(plan),
                )
        for problem in problems:
            st.caption(f":material/info: {md_escape(problem)}")
        closed = access.may_generate()  # checked again at the click (runs.submit)
        if closed:
            st.caption(f":material/visibility: {md_escape(closed)}")
    cols[0].button(
        "Run comparison",
        type="primary",
        icon=":material/grid_view:",
        on_click=_submit,
        args=(mode,),
        disabled=in_flight or bool(problems) or not confirmed or bool(closed),
        width="stretch",
        key="cmp_run",
    )
    for error in st.session_state.get(ERRORS_STATE) or []:
        st.error(md_escape(error), icon=":material/error:")
    if mode == CompareMode.SEEDS and access.is_presenter():
        _save_as_preset()


def _save_preset() -> None:
    if not access.is_presenter():
        return
    name = (st.session_state.get("cmp_preset_name") or "").strip()
    try:
        preset = compare_setup.preset_from_form(name)
        PresetStore(resources.all_stores()[0]).save(preset)
    except (PresetError, PlanError) as exc:
        st.session_state["cmp_preset_flash"] = ("error", str(exc))
        return
    st.session_state["cmp_preset_name"] = ""
    st.session_state["cmp_preset_flash"] = ("success", f"Saved as preset “{preset.name}”.")


def _save_as_preset() -> None:
    """This prompt, these settings and these seeds as a preset (applied from Generate)."""
    with st.popover("Save as preset", icon=":material/bookmark_add:"):
        st.text_input("Preset name", key="cmp_preset_name", placeholder="e.g. Poster, 4 seeds")
        st.button("Save", key="cmp_preset_save", on_click=_save_preset)
    if flash := st.session_state.pop("cmp_preset_flash", None):
        kind, text = flash
        (st.error if kind == "error" else st.success)(md_escape(text))


def _cancel(current: LiveCompare) -> None:
    stopped = current.run.cancel()
    st.toast(f"Cancelled {stopped} request(s) not yet started.", icon=":material/cancel:")


@dataclass
class Filling:
    """A run in flight as drawn by this script run: its progress line and the slots of the
    cells still waiting, which `finish` fills at the end of the page as results land."""

    current: LiveCompare
    progress: Any
    aspect: float
    waiting: dict[str, tuple[compare_grid.Slot, SheetCell]] = field(default_factory=dict)
    previewed: dict[str, Any] = field(default_factory=dict)  # job id -> where its rest goes


def _progress(filling: Filling) -> None:
    run, total = filling.current.run, len(filling.current.jobs)
    done = len(set(run.outcomes) | set(run.previews))  # a picture on screen is done to the eye
    elapsed = time.perf_counter() - run.started
    filling.progress.progress(
        done / total, text=f"Running: {done} of {total} done · {elapsed:.1f} s"
    )


def _judged(current: LiveCompare, sheet: Sheet) -> None:
    """Stars and notes given while the run goes on are in the log, not in the outcomes."""
    landed = [c for c in sheet.cells.values() if c.status != CellStatus.PENDING and c.row_id]
    if not landed:
        return
    frame = resources.stores()[0].query(ids=[c.row_id for c in landed if c.row_id])
    judged = {str(r["id"]): row_dict(r) for _, r in frame.iterrows()}
    for cell in landed:
        row = judged.get(cell.row_id or "")
        if row is not None:
            cell.rating, cell.note = row.get("rating"), row.get("note")


def _draw(current: LiveCompare) -> Filling:
    """The progress line, Cancel (a plain button: one in a fragment waits for the run) and
    the grid as far as it has landed, with a slot for each cell still waiting."""
    cols = st.columns([6, 1], vertical_alignment="center")
    with cols[0]:
        progress = st.empty()
    cols[1].button(
        "Cancel",
        icon=":material/cancel:",
        key="cmp_cancel",
        on_click=_cancel,
        args=(current,),
        help="Stop the requests not yet started; running ones finish and are kept.",
        width="stretch",
    )
    sheet = sheet_from_run(
        current.plan, current.jobs, current.run.outcomes, current.run.cancelled, current.group_id
    )
    _judged(current, sheet)
    filling = Filling(current, progress, sheet.box_aspect())
    _progress(filling)
    compare_grid.render(sheet, live=True, key=current.group_id, waiting=filling.waiting)
    return filling


WAIT_SLICE_S = 0.05  # how often the waiting script run looks for results (and can be stopped)


# Mounted once at the end of the first run after Run: a moment later (that run has ended and
# the page has been cleared) it asks for the next run, which waits for the cells. Once per run
# (keyed by its group), unlike a fragment's timer, which would keep firing during the wait.
_NEXT_RUN_JS = """
export default function(component) {
  const { setTriggerValue, data } = component;
  if (window.__fluxStudioNextRun === data) return;
  window.__fluxStudioNextRun = data;
  setTimeout(() => setTriggerValue('go', data), 30);
}
"""
_next_run_component = st.components.v2.component("flux_studio_next_run", js=_NEXT_RUN_JS)


def _next_run(group_id: str) -> None:
    _next_run_component(key="cmp_next_run", data=group_id, on_go_change=lambda: None)


def finish(filling: Filling | None) -> None:
    """Called at the very end of the page: wait in short slices and draw each cell into its
    slot the moment its picture exists (the runner's preview, before the original is saved and
    the row completed), in this same script run (no polling interval). A click
    elsewhere stops this run at its next slice; the next run draws what landed meanwhile and
    waits again. When the last cell is drawn, a rerun swaps in the judging view."""
    if filling is None:
        return
    if not filling.current.waits:
        # The first script run after Run ends at once: Streamlit clears what the last view
        # left on the page (its stars, winner row, buttons) only when a run ends, and they
        # would stay, faded, under the new grid for the whole wait. The next run waits.
        filling.current.waits = True
        _next_run(filling.current.group_id)
        return
    run, shown = filling.current.run, -1.0
    drawn_at: float | None = None  # when a picture last went out in this wait
    later: compare_grid.Later = []
    while True:
        # Look first, wait at the end: a stopped run before this one may have taken the news.
        finished = run.finished  # read before the outcomes: none can land unseen after it
        outcomes, cancelled, previews = run.outcomes, run.cancelled, run.previews
        filled_now = False
        for job_id, (slot, cell) in list(filling.waiting.items()):
            spec = (cell.row, cell.col, cell.x, cell.y)
            drew = True
            if job_id in outcomes:
                landed = cell_from_outcome(*spec, outcomes[job_id])
                if (holder := filling.previewed.pop(job_id, None)) is not None:
                    drew = compare_grid.complete(holder, landed, later)
                else:
                    compare_grid.fill(slot, landed, filling.aspect, later)
            elif job_id in previews and job_id not in filling.previewed:
                # Its picture now; the cell stays waiting for its outcome (controls, errors).
                early = cell_from_outcome(*spec, previews[job_id])
                filling.previewed[job_id] = compare_grid.fill_preview(slot, early, filling.aspect)
                filled_now = True
                continue
            elif job_id in cancelled:
                cell.status = CellStatus.CANCELLED
                compare_grid.fill(slot, cell, filling.aspect, later)
            else:
                continue
            del filling.waiting[job_id]
            filled_now = filled_now or drew
        # A burst's pictures first; their controls once no picture went out for as long as
        # the redraw's pause (the browser may still be applying the last one), and not at the
        # end: the judging view that follows draws them. Sent sooner, they reached the browser
        # with the pictures it still owed (measured: 20 deltas, 90 ms before the last <img>).
        if filled_now:
            drawn_at = time.perf_counter()
        quiet = drawn_at is None or time.perf_counter() - drawn_at >= runs.REDRAW_PAUSE_S
        if quiet and not finished:
            compare_grid.fill_later(later)
        elapsed = round(time.perf_counter() - run.started, 1)
        # The label moves by tenths, and not while cells land (the same pause): each delta
        # costs the browser a render pass of the page. Each draw is also where a stop lands,
        # so a click during a burst of landings is taken within the pause and a slice.
        if elapsed != shown and quiet:
            shown = elapsed
            _progress(filling)
        if finished and not filling.waiting:
            break
        run.wait_news(WAIT_SLICE_S)
    runs.before_redraw(drawn_at)
    st.rerun()


def follow_or_announce(in_flight: bool) -> Filling | None:
    """While a run is in flight (as the page read it before drawing its Run button, even if
    it has landed since): draw it and return what `finish` fills at the end of the page.
    Otherwise (None) announce a finished run once."""
    current = live()
    if current is None:
        return None
    if in_flight:
        return _draw(current)
    if not current.announced:
        current.announced = True
        outcomes = list(current.run.outcomes.values())
        ok = sum(o.ok for o in outcomes)
        last = max((o.finished for o in outcomes), default=current.run.started)
        st.toast(
            f"{ok} of {len(current.jobs)} images in {last - current.run.started:.1f} s",
            icon=":material/check_circle:",
        )
        if because := current.run.stopped_because:
            # Out of credits (a 403): the cells not yet sent were kept home, and say so here.
            note = f"The rest of the batch was not sent. {because}"
            st.session_state[ERRORS_STATE] = [note]  # stays beside the Run button after this
            st.error(md_escape(note), icon=":material/money_off:")
    return None
