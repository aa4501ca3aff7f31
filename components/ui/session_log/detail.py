"""One log row in full: its images, prompt, every parameter, timings, error, rating and note.

User and provider text (prompt, error, note) is shown through st.code, dataframe cells, widget
values or md_escape, never rendered as markdown.
"""

from __future__ import annotations

from datetime import tzinfo
from types import SimpleNamespace
from typing import Any

import pandas as pd
import streamlit as st

from components.api.errors import ErrorType
from components.compare.plan import label_text
from components.log.schema import RowStatus
from components.ui import judging, reveal, state, vote_results
from components.ui.image_card import CardImage, cards_from_row, full_size
from components.ui.messages import error_box
from components.ui.safe import md_escape
from components.ui.session_log import data as log_data
from components.ui.session_log.family import family

IMAGE_WIDTH, IMAGE_HEIGHT = 520, 380  # largest box an image takes in the detail view


def _seconds(value: Any) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _yes_no(value: Any) -> str:
    return "–" if value is None else ("yes" if value else "no")


def facts(row: dict[str, Any], tz: tzinfo, me: str | None = None) -> dict[str, list[tuple]]:
    """Every stored field as (name, text), in the groups people ask about: what was asked,
    what came back, and where the row belongs."""
    when = pd.Timestamp(row["created_at"]).tz_convert(tz)
    size = f"{row['width']}×{row['height']}" if row.get("width") else None
    session_text = row.get("session_id")
    if me and session_text == me:
        session_text += " (this browser session)"
    cost, credits = row.get("cost_usd"), row.get("credits_used")
    sections: dict[str, list[tuple[str, Any]]] = {
        "Request": [
            ("Model", row.get("model")),
            ("Aspect ratio", row.get("aspect_ratio")),
            ("Raw mode", _yes_no(row.get("raw"))),
            ("Images", row.get("num_images")),
            ("Seed requested", row.get("seed_requested") or "random"),
            ("Output format", row.get("output_format")),
            ("Safety tolerance", row.get("safety_tolerance")),
            ("Safety checker", _yes_no(row.get("enable_safety_checker"))),
            ("Backend", row.get("backend")),
            ("When", f"{when:%Y-%m-%d %H:%M:%S}"),
        ],
        "Result": [
            ("Status", row.get("status")),
            ("Seed used", row.get("seed")),
            ("Size", size),
            ("Request id", row.get("request_id")),
            ("Inference id", row.get("inference_id")),
            ("HTTP status", row.get("http_status")),
            ("Attempts", row.get("attempts")),
            ("Request time", _seconds(row.get("request_s"))),
            ("Download time", _seconds(row.get("download_s"))),
            ("Total time", _seconds(row.get("total_s"))),
            ("Credits", None if credits is None else f"{credits:,.0f}"),
            ("Cost (USD)", None if cost is None else f"{cost:.4f}"),
            ("Flagged NSFW", _yes_no(row.get("nsfw"))),
        ],
        "Bookkeeping": [
            ("Row id", row.get("id")),
            ("Browser session", session_text),
            ("Comparison group", row.get("group_id")),
            ("Comparison cell", label_text(row.get("group_label")) or None),
            ("Image files", ", ".join(row.get("image_paths") or []) or None),
        ],
    }
    return {
        title: [(name, "–" if value is None else str(value)) for name, value in pairs]
        for title, pairs in sections.items()
    }


def summary(row: dict[str, Any], tz: tzinfo) -> str:
    """One line a person can read at a glance (and a browser test can find)."""
    parts = [f"seed {row['seed']}" if row.get("seed") else "no seed reported"]
    parts.append(f"{row.get('aspect_ratio')}" + (" raw" if row.get("raw") else ""))
    if row.get("request_s") is not None:
        parts.append(f"request {row['request_s']:.2f} s")
    if row.get("total_s") is not None:
        parts.append(f"total {row['total_s']:.2f} s")
    parts.append(f"{pd.Timestamp(row['created_at']).tz_convert(tz):%d %b %H:%M:%S}")
    return " · ".join(parts)


def _image(card: CardImage) -> None:
    if reveal.hidden(card.nsfw, card.row_id, card.index):
        return
    _, images = log_data.stores()
    data = images.thumbnail_bytes(card.thumb_path) if card.thumb_path else None
    if data is None:
        st.warning("The image file is no longer in the data folder.", icon=":material/warning:")
        return
    st.image(data, width=log_data.fit_width(card.width, card.height, IMAGE_WIDTH, IMAGE_HEIGHT))
    if st.button("Full size", key=f"log_full_{card.key}", icon=":material/zoom_in:"):
        full_size(card)


def curation(row: dict[str, Any]) -> None:
    """Stars and a note, saved the moment they change."""
    rating_key, note_key = f"log_rate_{row['id']}", f"log_note_{row['id']}"
    st.caption("Rating")
    rating = row.get("rating")
    st.feedback(
        "stars",
        key=rating_key,
        default=rating - 1 if rating else None,
        on_change=judging.save_stars,
        args=(row["id"], rating_key),
    )
    st.text_input(
        "Note",
        value=row.get("note") or "",
        key=note_key,
        placeholder="What to remember about this one",
        on_change=judging.save_note,
        args=(row["id"], note_key),
    )


def row_detail(row: dict[str, Any]) -> None:
    tz = log_data.local_tz()
    st.markdown(f"**{md_escape(summary(row, tz))}**")
    left, right = st.columns([2, 3], gap="large")
    with left:
        cards = cards_from_row(row)
        for card in cards:
            _image(card)
        if not cards:
            st.info("No image: this request did not produce one.", icon=":material/image:")
        curation(row)
    with right:
        st.caption("Prompt")
        st.code(row.get("prompt") or "", language=None, wrap_lines=True)
        if row.get("status") == RowStatus.SENT:
            st.warning(
                "Sent, but no answer was recorded (the app stopped, or the answer was lost). "
                "The provider may have made and billed the image: match it in the provider's "
                f"usage log by the client request id `{row.get('id')}`.",
                icon=":material/help:",
            )
        elif row.get("status") == RowStatus.FROM_LOG:
            st.info(
                "Answered from the log: an identical earlier request (same settings, same "
                f"seed) already had these images, so nothing was sent and no credits were used "
                f"(row `{row.get('parent_id')}`).",
                icon=":material/savings:",
            )
        elif row.get("status") != RowStatus.OK or row.get("error_message"):
            error_box(
                SimpleNamespace(
                    error_type=row.get("error_type") or ErrorType.ERROR,
                    message=row.get("error_message") or "No error text was recorded.",
                    request_id=row.get("request_id"),
                    attempts=row.get("attempts"),
                ),
                compact=True,
            )
        sections = facts(row, tz, state.session_id())
        for title, column in zip(sections, [*st.columns(2), st.container()], strict=False):
            frame = pd.DataFrame(sections[title], columns=[title, ""])
            height = 30 * (len(frame) + 1) + 3  # every field visible, no inner scrolling
            column.dataframe(frame, hide_index=True, width="stretch", row_height=30, height=height)
        vote_results.summary_for_rows([str(row.get("id"))], key="log_vote")
        family(row)
