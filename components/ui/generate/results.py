"""Generate page results: the run in flight (polled) and earlier runs of this session."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components.api.contract import GenerationRequest
from components.api.snippets import curl_snippet, python_snippet
from components.log.schema import BackendName
from components.runner import Job, Outcome, Run
from components.ui import connection, inline_image, reveal, runs, state
from components.ui.image_card import CardImage, image_card, thumb_source
from components.ui.messages import error_box
from components.ui.safe import md_escape, shorten

RUNS_STATE = "gen_runs"
REFUSED_STATE = "gen_refused"  # why the last click sent nothing (budget, viewer rules)
MAX_RUNS = 8  # results kept on the page per session; everything stays in the log anyway
CARD_MIN_WIDTH = 240  # px: two cards across in the results column at 1440 px, one on a phone


@dataclass
class GenEntry:
    run: Run
    job: Job
    body: dict
    backend: str
    api_base: str


def entries() -> list[GenEntry]:
    return st.session_state.setdefault(RUNS_STATE, [])


PARENT_STATE = "gen_parent"  # (row id, how) the next generation is made from


def set_parent(row_id: str | None, how: str) -> None:
    st.session_state[PARENT_STATE] = (row_id, how)


def submit(request: GenerationRequest, *, reuse: bool = True) -> GenEntry:
    """Send a request (or answer it from the log when an identical seeded one succeeded
    before; `reuse=False` sends it anyway). It records what it was made from, if anything."""
    info = connection.backend()
    parent, how = st.session_state.pop(PARENT_STATE, None) or (None, None)
    job = Job(request, reuse=reuse, parent_id=parent, lineage=how)
    run = runs.submit([job])  # RunRefused: not allowed or over budget, nothing sent
    api_base = state.settings().base_url
    entry = GenEntry(run, job, request.to_body(), info.name, api_base)
    history = entries()
    history.insert(0, entry)
    del history[MAX_RUNS:]
    return entry


def cards_for(outcome: Outcome) -> list[CardImage]:
    result = outcome.result
    if result is None:
        return []
    params = {"model": result.model, **result.request.to_params()}
    cards = []
    for index, image in enumerate(result.images):
        stored = outcome.stored[index] if index < len(outcome.stored) else None
        cards.append(
            CardImage(
                key=f"{outcome.job.id}_{index}",
                row_id=outcome.job.id,
                index=index,
                params=params,
                seed=result.seed,
                width=image.width,
                height=image.height,
                seconds=result.total_s,
                nsfw=image.nsfw,
                path=stored.path if stored else None,
                thumb_path=stored.thumb_path if stored else None,
                data=None if stored else image.data,
            )
        )
    return cards


def _summary(entry: GenEntry, outcome: Outcome | None) -> str:
    req = entry.job.request
    parts = [f"“{shorten(req.prompt, 70)}”", req.aspect_ratio, f"{req.num_images} image(s)"]
    if outcome is not None and outcome.ok:
        parts.insert(0, "Done")
    if req.raw:
        parts.append("raw")
    if outcome is not None:
        parts.append(f"{outcome.elapsed_s:.1f} s")
        if outcome.result and outcome.result.credits_used is not None:
            credits = outcome.result.credits_used
            parts.append(f"{credits:,.0f} credits (${outcome.result.cost_usd:.3f})")
        elif entry.backend == BackendName.OFFLINE:
            parts.append("offline: no credits used")
    return md_escape(" · ".join(parts))


def request_view(entry: GenEntry) -> None:
    # Drawn only when opened: code blocks pull in a large highlighter script on first use.
    box = st.expander(
        "Show request", icon=":material/code:", key=f"req_{entry.job.id}", on_change="rerun"
    )
    if not box.open:
        return
    with box:
        st.caption(
            "The exact JSON body sent, and ready-to-run snippets. Replace the placeholder with "
            "your key; the snippets call the API at the base URL set in Settings."
        )
        tabs = st.tabs(["JSON body", "curl", "Python"])
        tabs[0].code(json.dumps(entry.body, indent=2, ensure_ascii=False), language="json")
        tabs[1].code(curl_snippet(entry.body, entry.api_base), language="bash")
        tabs[2].code(python_snippet(entry.body, entry.api_base), language="python")


def _grid(outcome: Outcome) -> None:
    if outcome.error is not None:
        error_box(outcome.error)
        return
    if outcome.storage_error:
        st.warning(md_escape(outcome.storage_error), icon=":material/warning:")
    cards = cards_for(outcome)
    # A grid that reflows: two cards across in the results column at 1440 px, one on a phone,
    # so a card is never so narrow that its caption or button labels get cut.
    grid = st.grid(min_column_width=CARD_MIN_WIDTH, gap="small")
    for card in cards:
        with grid:
            image_card(card)


def render_entry(entry: GenEntry, *, latest: bool) -> None:
    outcome = entry.run.outcomes.get(entry.job.id)
    st.markdown(f"**{_summary(entry, outcome)}**" if latest else _summary(entry, outcome))
    if outcome is not None and outcome.from_row is not None:
        from_log_note(entry, outcome, latest=latest)
    if outcome is not None:
        _grid(outcome)
    request_view(entry)


def _send_anyway(entry: GenEntry) -> None:
    try:
        submit(entry.job.request, reuse=False)
    except runs.RunRefused as exc:
        st.session_state[REFUSED_STATE] = exc.message


def from_log_note(entry: GenEntry, outcome: Outcome, *, latest: bool) -> None:
    """Nothing was sent: say so, what it saved, and offer to send it anyway."""
    saved = "" if entry.backend == BackendName.OFFLINE else f" (saved \\${outcome.from_cost:.2f})"
    cols = st.columns([4, 1], vertical_alignment="center")
    cols[0].info(
        "**From the log, no credits.** The same request with the same seed already made "
        f"these images, so they were shown at once{saved}.",
        icon=":material/savings:",
    )
    if latest:
        cols[1].button(
            "Generate anyway",
            key=f"gen_anyway_{entry.job.id}",
            on_click=_send_anyway,
            args=(entry,),
            help="Send the request to the provider (it is billed)",
            width="stretch",
        )


WAIT_SLICE_S = 0.05  # how often a waiting script run looks for the answer (and can be stopped)


def _waiting(slot: Any, entry: GenEntry) -> None:
    n = entry.job.request.num_images
    elapsed = time.perf_counter() - entry.run.started
    where = (
        "offline demo backend" if entry.backend == BackendName.OFFLINE else "FLUX 1.1 [pro] Ultra"
    )
    with slot.container():
        st.info(
            f"Generating {n} image(s) on {where}… {elapsed:.1f} s",
            icon=":material/hourglass_top:",
        )
        st.caption(md_escape(shorten(entry.job.request.prompt, 200)))


def _preview(slot: Any, entry: GenEntry, early: Outcome) -> bool:
    """The pictures the moment their thumbnails exist, in the cards' places (their buttons
    come once the originals are saved and the row is final: a download must get the
    original). False, drawing nothing, while an image must stay hidden (flagged)."""
    result = early.result
    if result is None or any(
        reveal.is_hidden(image.nsfw, entry.job.id, index)
        for index, image in enumerate(result.images)
    ):
        return False
    with slot.container():
        st.markdown(f"**{_summary(entry, early)}**")
        grid = st.grid(min_column_width=CARD_MIN_WIDTH, gap="small")
        for image in result.images:
            with grid, st.container(border=True):
                picture = inline_image.data_url(image.data)  # see components/ui/inline_image.py
                st.image(picture, width="stretch", alt=f"result, seed {result.seed}")
    return True


@dataclass
class Pending:
    """Where the run in flight is drawn, and when its pictures (or its card) were, if yet."""

    slot: Any
    drawn_at: float | None = None  # perf_counter


EARLY_WAIT_S = 0.15


def _early(slot: Any, entry: GenEntry) -> bool:
    """In the click's own script run, before the rest of the page: wait for the pictures until
    EARLY_WAIT_S after the run was submitted, so a quick answer (an instant one from the log,
    a fast provider) reaches the browser among the first deltas rather than after the whole
    form (measured: 0.38-0.45 -> 0.30-0.35 s click -> image at latency 0). Later runs only
    look. True when the pictures (or, if it has ended, the whole result) are drawn."""
    deadline = entry.run.started + EARLY_WAIT_S
    while True:
        if entry.run.finished:
            with slot.container():
                render_entry(entry, latest=True)
            return True
        if (early := entry.run.previews.get(entry.job.id)) is not None:
            return _preview(slot, entry, early)
        left = deadline - time.perf_counter()
        if left <= 0:
            return False
        entry.run.wait_news(min(left, WAIT_SLICE_S))


def finish(pending: Pending | None) -> None:
    """Called at the very end of the page: wait for the run in flight in short slices and draw
    its pictures the moment their thumbnails exist (the cards come with the redraw once the
    run has landed), in this same script run: no polling interval, no extra rerun before the
    picture. A click elsewhere stops this run at its next slice, and the next
    run picks the wait up again (the run lives in the session, its work in the runner)."""
    if pending is None:
        return
    slot, entry, drawn_at = pending.slot, entries()[0], pending.drawn_at
    # The label was just drawn (render_all); look before each wait, as `_early` may have
    # taken the news of a preview it was too late for.
    shown = round(time.perf_counter() - entry.run.started, 1)
    while not entry.run.finished:
        early = entry.run.previews.get(entry.job.id) if drawn_at is None else None
        if early is not None and _preview(slot, entry, early):
            drawn_at = time.perf_counter()
        elapsed = round(time.perf_counter() - entry.run.started, 1)
        if drawn_at is None and elapsed != shown:  # the label moves by tenths, no more often
            shown = elapsed
            _waiting(slot, entry)
        elif drawn_at is not None and round((elapsed - shown) * 10) >= 2:
            # Saving is slow (a busy disk or log): an empty mark now and then is where a click
            # elsewhere can stop this run, as the label's updates were.
            shown = elapsed
            st.empty()
        entry.run.wait_news(WAIT_SLICE_S)
    if drawn_at is None:
        with slot.container():
            render_entry(entry, latest=True)
    # Else the pictures are up; the card's buttons come with the redraw.
    runs.before_redraw(drawn_at)
    st.rerun()  # the picture is on screen; this redraw re-enables the Generate button


def render_all(in_flight: bool) -> Pending | None:
    """The results column; returns where the run in flight is drawn (None when nothing is in
    flight): the page waits for it last, after everything else is drawn. `in_flight` is what
    the page read before drawing its button, even if the run has landed since: it is then
    drawn at once and the page reruns with the button enabled."""
    history = entries()
    pending = None
    if not history:
        st.caption("Results appear here. Every request is also kept in the Session log.")
        return pending
    first = history[0]
    if in_flight:
        pending = Pending(st.empty())
        if _early(pending.slot, first):
            pending.drawn_at = time.perf_counter()
        else:
            _waiting(pending.slot, first)
    else:
        # No "done" toast: it landed on top of the offline banner's text. The summary line
        # above the cards says it (with the time) where the eye already is.
        render_entry(first, latest=True)
    if len(history) > 1:
        st.divider()
        _earlier(history[1:])
    return pending


# Earlier results as one strip of thumbnails, their cards one click away: every element on this
# page costs the browser time on each click before the new picture can show. Measured with
# bench/latency.py (alternating rounds, 20 each): two earlier cards of a dozen elements each
# made click -> picture 0.234 s against 0.196 s without them.
STRIP_MAX = 8  # pictures; the cards below (and the Session log) have every one
STRIP_WIDTH = 132  # px: four across the results column at 1440 px


def _earlier(older: list[GenEntry]) -> None:
    done = [e for e in older if e.run.finished]
    if not done:
        return
    pictures: list[str | bytes] = []
    captions: list[str] = []
    alts: list[str] = []
    for entry in done:
        outcome = entry.run.outcomes.get(entry.job.id)
        if outcome is None:
            continue
        for card in cards_for(outcome):
            if len(pictures) >= STRIP_MAX or reveal.is_hidden(card.nsfw, card.row_id, card.index):
                continue  # a flagged picture stays out until it is revealed on its card
            source = thumb_source(card)
            if source is None:
                continue
            pictures.append(source)
            captions.append(_strip_caption(card, outcome))
            alts.append(f"earlier result, seed {card.seed}")
    st.caption(f"Earlier in this session ({len(done)})")
    if pictures:
        st.image(pictures, caption=captions, width=STRIP_WIDTH, alt=alts)
    # A fixed label: Streamlit ties an expander's open state to its label as well as its key,
    # so a count in it would close the expander at every new result.
    box = st.expander(
        "Each in full: view, download, reuse, errors",
        icon=":material/history:",
        key="gen_older",
        on_change="rerun",  # drawn only when opened
    )
    if box.open:
        with box:
            for entry in done:
                render_entry(entry, latest=False)


def _strip_caption(card: CardImage, outcome: Outcome) -> str:
    """Short enough for one line under a small picture: times and the rest are on its card."""
    seed = f"seed {card.seed}" if card.seed is not None else "no seed"
    return f"{seed} · from the log" if outcome.from_row is not None else seed
