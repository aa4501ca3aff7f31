"""A vote's results, wherever they show: the Votes page, the Compare view of the group it came
from, and the Session log's detail of a row in it. Before the reveal, images are letters; after,
each image says what it was."""

from __future__ import annotations

import base64
import string
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from components.ui import access, resources
from components.ui.safe import md_escape
from components.vote import labels, scoring
from components.vote.store import Status, Vote


@dataclass(frozen=True)
class Scored:
    vote: Vote
    result: scoring.Result
    letters: dict[str, str]  # item -> "A", "B", ...
    rows: dict[str, dict[str, Any]]  # row id -> log row (unscoped: the presenter's view)


def letter(position: int) -> str:
    return string.ascii_uppercase[position] if position < 26 else f"#{position + 1}"


def scored(vote: Vote) -> Scored:
    log, _ = resources.all_stores()
    rows: dict[str, dict[str, Any]] = {}
    for item in vote.items:
        if item.row_id not in rows:
            rows[item.row_id] = log.get(item.row_id) or {"id": item.row_id}
    described = labels.dimensions([rows[i.row_id] for i in vote.items])
    variants = {item.item: d for item, d in zip(vote.items, described, strict=True)}
    ballots = resources.votes().ballots(vote.id)
    answers = list(ballots[["voter", "pair", "choice"]].itertuples(index=False, name=None))
    result = scoring.score(vote.mode.value, vote.item_ids, answers, variants)
    letters = {item.item: letter(item.position) for item in vote.items}
    return Scored(vote, result, letters, rows)


@st.cache_data(max_entries=256, show_spinner=False)
def _thumb_url(rel_thumb: str) -> str | None:
    _, images = resources.all_stores()
    data = images.thumbnail_bytes(rel_thumb)
    if not data:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _thumb(row: dict[str, Any], index: int) -> str | None:
    thumbs = row.get("thumb_paths") or []
    return _thumb_url(thumbs[index]) if index < len(thumbs) else None


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def table(s: Scored, *, key: str) -> None:
    """Ranked images: win rate, wins/losses/ties, the score and its interval; after the
    reveal, what each image was."""
    revealed = s.vote.status == Status.REVEALED
    by_item = {i.item: i for i in s.vote.items}
    records = []
    for rank, item in enumerate(s.result.items, start=1):
        info = by_item[item.item]
        row = s.rows.get(info.row_id, {})
        records.append(
            {
                "rank": rank,
                "image": s.letters[item.item],
                "thumbnail": _thumb(row, info.image_index),
                "win rate": _pct(item.win_rate),
                "wins": item.wins,
                "losses": item.losses,
                "ties": item.ties,
                "skips": item.skips,
                "score": round(item.score, 2),
                "interval": f"{item.low:+.2f} to {item.high:+.2f}",
                **({"what it was": info.label} if revealed else {}),
            }
        )
    st.dataframe(
        pd.DataFrame(records),
        hide_index=True,
        width="stretch",
        key=key,
        column_config={
            "thumbnail": st.column_config.ImageColumn("image", width="small"),
            "image": st.column_config.TextColumn("letter", width="small"),
            "win rate": st.column_config.NumberColumn(format="%.1f%%"),
            "score": st.column_config.NumberColumn(
                help="Bradley-Terry score (log-odds; 0 is average), regularised so a clean "
                "sweep on a small table still gets a finite score"
            ),
            "interval": st.column_config.TextColumn("95% interval"),
        },
    )
    r = s.result
    agree = (
        f"voters agreed on {100 * r.agreement:.0f}% of the answers they shared "
        f"({r.agreement_pairs} pair{'s' if r.agreement_pairs != 1 else ''} with two answers "
        "or more)"
        if r.agreement is not None
        else "no pair has two answers yet, so agreement is not known"
    )
    st.caption(
        f"{r.voters} voter{'s' if r.voters != 1 else ''} · {r.answers} answers · {r.ties} ties "
        f"· {r.skips} skips · {agree}. A voter is one browser: a private window counts as a new "
        "voter."
    )


def variants(s: Scored, *, key: str) -> None:
    """Win rates pooled per value of what varied (after the reveal only: it names values)."""
    if s.vote.status != Status.REVEALED or not s.result.variants:
        return
    frame = pd.DataFrame(
        [
            {
                "what varied": v.dimension,
                "value": v.value,
                "images": v.images,
                "comparisons": v.comparisons,
                "win rate": _pct(v.win_rate),
            }
            for v in s.result.variants
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key=key,
        column_config={"win rate": st.column_config.NumberColumn(format="%.1f%%")},
    )


def visible(vote: Vote) -> bool:
    """May this session see the vote's results? The presenter always; anyone else once it is
    revealed, and only if every voted row is one they may read (own rows only, say)."""
    if access.is_presenter():
        return True
    if vote.status != Status.REVEALED:
        return False
    log, _ = resources.stores()
    rows = list({i.row_id for i in vote.items})
    return log.count(ids=tuple(rows)) == len(rows)


def summary_for_rows(row_ids: list[str], *, key: str) -> None:
    """The votes these rows took part in, each with its results (Compare, Session log). Only
    the presenter sees them before the reveal."""
    found = [v for v in resources.votes().for_rows(row_ids) if visible(v)]
    for vote in found:
        status = {"open": "open", "closed": "closed", "revealed": "revealed"}[vote.status.value]
        with st.expander(f":material/how_to_vote: Vote: {md_escape(vote.title)} ({status})"):
            s = scored(vote)
            table(s, key=f"{key}_{vote.id}")
            variants(s, key=f"{key}_{vote.id}_variants")
