"""A vote to keep: its answers as CSV, and a contact sheet of its images annotated with their
scores (PNG). Both are the presenter's."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from PIL import Image, ImageDraw

from components.images import letterbox
from components.images.text import fit_line, font
from components.log.formats import export_csv
from components.vote.store import Vote

CELL = 360
CAPTION = 64
GAP = 12
TEXT = (232, 234, 240)
MUTED = (160, 166, 180)


def ballots_csv(
    vote: Vote, ballots: pd.DataFrame, voters: pd.DataFrame, letters: Mapping[str, str]
) -> bytes:
    """One line per answer: the voter (a number, and their name if they gave one), the two
    images as letters and what each was, and the answer."""
    number = {v: n for n, v in enumerate(voters["voter"], start=1)}
    names = dict(zip(voters["voter"], voters["name"], strict=True))
    label = {i.item: i.label for i in vote.items}
    rows = []
    for voter, pair, choice, cast_at in ballots.itertuples(index=False, name=None):
        shown = [p for p in pair.split("|") if p in letters]
        rows.append(
            {
                "vote": vote.title,
                "voter": number.get(voter, 0),
                "name": names.get(voter),
                "images": " vs ".join(letters[p] for p in shown) or "grid",
                "answer": letters.get(choice, choice),
                "answer_was": label.get(choice, ""),
                "cast_at": cast_at,
            }
        )
    columns = ["vote", "voter", "name", "images", "answer", "answer_was", "cast_at"]
    return export_csv(pd.DataFrame(rows, columns=columns))


@dataclass(frozen=True)
class Card:
    thumbnail: bytes | None
    heading: str  # "#1 · A · score +1.20"
    detail: str  # "win 80% · 95% +0.1 to +2.3" (and what it was, after the reveal)


def contact_sheet(title: str, cards: Sequence[Card], columns: int = 4) -> bytes:
    """The images in rank order, each letterboxed with two lines under it."""
    cols = max(1, min(columns, len(cards)))
    rows = (len(cards) + cols - 1) // cols
    width = cols * CELL + (cols + 1) * GAP
    head = 56
    height = head + rows * (CELL + CAPTION + GAP) + GAP
    sheet = Image.new("RGB", (width, height), letterbox.BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    big, small = font(26, bold=True), font(18)
    draw.text((GAP, 14), fit_line(draw, title, big, width - 2 * GAP), font=big, fill=TEXT)
    for n, card in enumerate(cards):
        x = GAP + (n % cols) * (CELL + GAP)
        y = head + (n // cols) * (CELL + CAPTION + GAP)
        picture = letterbox.open_image(card.thumbnail)
        cell = (
            letterbox.fit(picture, (CELL, CELL))
            if picture is not None
            else letterbox.placeholder((CELL, CELL), cross=True)
        )
        sheet.paste(cell, (x, y))
        draw.text(
            (x, y + CELL + 6), fit_line(draw, card.heading, small, CELL), font=small, fill=TEXT
        )
        draw.text(
            (x, y + CELL + 32), fit_line(draw, card.detail, small, CELL), font=small, fill=MUTED
        )
    out = io.BytesIO()
    sheet.save(out, "PNG", optimize=True)
    return out.getvalue()
