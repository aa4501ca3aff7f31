"""The "Report (HTML)" button wherever a set of images can be handed over: a comparison, the
Session log's filtered rows, a vote. The file is built on the server only when clicked, only
for someone who may export, and only from log rows (never settings: no key can reach it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from components.log.rows import row_dict
from components.report.build import MAX_IMAGES, Report, VoteSection, build_report, report_items
from components.ui import access, resources, vote_results
from components.vote.store import Status, Vote

NOT_ALLOWED = b"Exporting was turned off by the presenter before this file was made.\n"


def _file_name(kind: str) -> str:
    return f"flux-studio-{kind}-{datetime.now(UTC):%Y%m%d-%H%M%S}.html"


def _vote_section(vote: Vote) -> VoteSection:
    s = vote_results.scored(vote)
    by_item = {i.item: i for i in vote.items}
    revealed = vote.status == Status.REVEALED
    ranking = [
        (
            s.letters[scored.item],
            by_item[scored.item].label if revealed else "",
            scored.win_rate,
            scored.score,
            scored.low,
            scored.high,
        )
        for scored in s.result.items
    ]
    r = s.result
    return VoteSection(vote.title, vote.question, r.voters, r.answers, r.agreement, ranking)


def report_button(
    rows: Sequence[dict[str, Any]] | Callable[[], Sequence[dict[str, Any]]],
    *,
    title: str,
    subtitle: str,
    kind: str,
    key: str,
    vote: Vote | None = None,
) -> None:
    """A download button for these rows' images (at most MAX_IMAGES, said so in the file)."""
    if not access.may_export():
        return
    _, images = resources.stores()
    allowed = access.export_check()

    def build() -> bytes:  # runs on click only: embedding 16 images is work
        if not allowed():  # the presenter may have said no since the button was drawn
            return NOT_ALLOWED
        chosen = rows() if callable(rows) else rows
        items, left_out = report_items([row_dict(r) for r in chosen], images, limit=MAX_IMAGES)
        section = _vote_section(vote) if vote is not None else None
        report = Report(title, subtitle, items, left_out, section, datetime.now(UTC))
        return build_report(report)

    st.download_button(
        "Report (HTML)",
        data=build,
        file_name=_file_name(kind),
        mime="text/html",
        icon=":material/description:",
        on_click="ignore",
        key=key,
        help=f"One file that opens anywhere with no network: up to {MAX_IMAGES} images with "
        "their prompts, settings, seeds, timings, costs, ratings and notes",
        width="content",
    )
