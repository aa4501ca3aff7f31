"""One vote on the presenter's screen: its link and QR code, voters and answers as they
arrive, close / reopen / reveal, the results and the exports."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from urllib.parse import urlsplit

import segno
import streamlit as st

from components import config
from components.api.client import is_loopback_host
from components.log.rows import rerun_request
from components.ui import access, handoff, resources, vote_results
from components.ui.report_download import report_button
from components.ui.safe import md_escape
from components.vote.export import Card, ballots_csv, contact_sheet
from components.vote.store import Status, Vote

LIVE_EVERY_S = 2.0


def vote_link(vote_id: str) -> tuple[str, str | None]:
    """The link to share, and why a phone could not open it (None: it can)."""
    public = config.public_url()
    if public:
        return f"{public}/?vote={vote_id}", None
    parts = urlsplit(st.context.url or "")
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    link = f"{base}/?vote={vote_id}"
    if not parts.hostname or is_loopback_host(parts.hostname) or parts.hostname == "localhost":
        return link, (
            f"This address only works on this computer. Set `{config.PUBLIC_URL}` to the "
            "address others reach it by (for example `http://192.168.1.20:8501`) and restart."
        )
    return link, None


def qr_png(link: str) -> bytes:
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=8, border=2)
    return out.getvalue()


def _set_status(vote_id: str, status: Status) -> None:
    if access.is_presenter():
        resources.votes().set_status(vote_id, status)


def share(vote: Vote) -> None:
    link, problem = vote_link(vote.id)
    left, right = st.columns([3, 1], vertical_alignment="top")
    with left:
        st.markdown("**Link for voters** (it opens this vote and nothing else):")
        st.code(link, language=None)
        if problem:
            st.warning(problem, icon=":material/wifi_off:")
        controls(vote)
    if problem is None:
        right.image(qr_png(link), caption="Scan to vote", width=200)


def controls(vote: Vote) -> None:
    cols = st.columns(3)
    if vote.status == Status.OPEN:
        cols[0].button(
            "Close the vote", icon=":material/stop_circle:", key="votes_close",
            on_click=_set_status, args=(vote.id, Status.CLOSED), width="stretch",
        )  # fmt: skip
    else:
        cols[0].button(
            "Reopen", icon=":material/play_circle:", key="votes_reopen",
            on_click=_set_status, args=(vote.id, Status.OPEN), width="stretch",
            disabled=vote.status == Status.REVEALED,
        )  # fmt: skip
    cols[1].button(
        "Reveal the results", icon=":material/visibility:", key="votes_reveal", type="primary",
        on_click=_set_status, args=(vote.id, Status.REVEALED), width="stretch",
        disabled=vote.status == Status.REVEALED,
        help="Closes the vote and shows what each image was, here and to viewers.",
    )  # fmt: skip


@st.fragment(run_every=LIVE_EVERY_S)
def live(vote_id: str) -> None:
    """Voters and answers as they land (every 2 s), then the results table."""
    vote = resources.votes().get(vote_id)
    if vote is None:
        return
    voters = resources.votes().voters(vote_id)
    answers = int(voters["answers"].sum()) if not voters.empty else 0
    cols = st.columns(3)
    cols[0].metric("Voters", len(voters))
    cols[1].metric("Answers", answers)
    cols[2].metric("Status", vote.status.value)
    s = vote_results.scored(vote)
    vote_results.table(s, key=f"votes_table_{vote_id}")
    vote_results.variants(s, key=f"votes_variants_{vote_id}")


def winner_actions(vote: Vote) -> None:
    """After the reveal: carry on from the winner (its prompt, seed and settings in Generate;
    the next generation is recorded as made from the vote's winner)."""
    if vote.status != Status.REVEALED:
        return
    s = vote_results.scored(vote)
    if not s.result.items:
        return
    best = s.result.items[0]
    info = next(i for i in vote.items if i.item == best.item)
    row = s.rows.get(info.row_id) or {}
    if not row.get("prompt") or not st.button(
        f"Refine the winner ({s.letters[best.item]}) in Generate",
        icon=":material/emoji_events:",
        key="votes_refine_winner",
        help="Its prompt, seed and settings in the form; what you make next is linked to it",
    ):
        return
    handoff.to_generate(rerun_request(row), parent=(info.row_id, "vote"))


def downloads(vote: Vote) -> None:
    s = vote_results.scored(vote)
    store = resources.votes()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    cols = st.columns(3)
    with cols[2]:
        rows = list({i.row_id: s.rows.get(i.row_id, {}) for i in vote.items}.values())
        report_button(
            rows,
            title=vote.title,
            subtitle=vote.question,
            kind="vote",
            key="votes_report",
            vote=vote,
        )
    cols[0].download_button(
        "Answers (CSV)",
        data=lambda: ballots_csv(vote, store.ballots(vote.id), store.voters(vote.id), s.letters),
        file_name=f"vote-{stamp}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="votes_csv",
        width="stretch",
    )
    cols[1].download_button(
        "Contact sheet with scores (PNG)",
        data=lambda: contact_sheet(vote.title, _cards(s), columns=4),
        file_name=f"vote-{stamp}.png",
        mime="image/png",
        icon=":material/grid_on:",
        on_click="ignore",
        key="votes_sheet",
        width="stretch",
    )


def _cards(s: vote_results.Scored) -> list[Card]:
    _, images = resources.all_stores()
    by_item = {i.item: i for i in s.vote.items}
    revealed = s.vote.status == Status.REVEALED
    cards = []
    for rank, scored in enumerate(s.result.items, start=1):
        info = by_item[scored.item]
        thumbs = s.rows.get(info.row_id, {}).get("thumb_paths") or []
        data = (
            images.thumbnail_bytes(thumbs[info.image_index])
            if info.image_index < len(thumbs)
            else None
        )
        rate = "-" if scored.win_rate is None else f"{100 * scored.win_rate:.0f}%"
        detail = f"win {rate} · 95% {scored.low:+.2f} to {scored.high:+.2f}"
        if revealed:
            detail += f" · {info.label}"
        cards.append(
            Card(data, f"#{rank} · {s.letters[scored.item]} · score {scored.score:+.2f}", detail)
        )
    return cards


def heading(vote: Vote) -> None:
    st.subheader(md_escape(vote.title), anchor=False)
    st.caption(
        f"{md_escape(vote.question)} · {len(vote.items)} images · "
        f"{'pairwise' if vote.mode.value == 'pairwise' else 'best of the grid'}"
        f"{' · skips allowed' if vote.allow_skip else ''}"
    )
