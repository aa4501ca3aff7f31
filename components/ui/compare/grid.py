"""The comparison grid: column and row headers, and one same-sized cell per image.

Every picture is letterboxed into one box shape for the whole sheet, so a grid mixing 21:9 and
9:16 still lines up. Headers get their own row of columns, so a long label that wraps never
pushes one picture lower than its neighbours.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import streamlit as st

from components.api.errors import ErrorType
from components.compare.sheet import WRAP, CellStatus, Sheet, SheetCell
from components.images import letterbox
from components.runner import UPLOAD_PENDING
from components.ui import inline_image, resources, reveal
from components.ui.compare import judge as compare_judge
from components.ui.messages import error_box
from components.ui.safe import md_escape

BOX_LONG_SIDE = 512
# A first look for a grid of 3 or more columns, whose cells are about 350 px wide in the wide
# layout: the JPEG decoder makes it from 1/8 of a 16:9 or 21:9 original (1/4 of a squarer one)
# without a full decode (16:9: 6 ms against 14 for a thumbnail, measured), and it is about
# half the bytes (9 KB against 17 KB). The judging view that follows shows the thumbnails.
FIRST_LOOK_SIDE = 344
# The grid's container key names the comparison (st-key-cmp_grid_<group id>): a run's live
# grid and its judging view share it, and tests tell a new run's cells from the last one's.
GRID_KEY = "cmp_grid"
STATUS_TEXT = {
    CellStatus.PENDING: ":material/hourglass_top: waiting for its result…",
    CellStatus.CANCELLED: ":material/cancel: cancelled before it started",
    CellStatus.MISSING: ":material/block: not run (cancelled)",
}


@st.cache_data(max_entries=512, show_spinner=False)
def _boxed(thumb_path: str | None, image_path: str | None, aspect: float) -> bytes | None:
    """The cell picture: the thumbnail (or original) in the sheet's box. Files never change
    under a path, so the path is a safe cache key."""
    _, images = resources.stores()
    data = images.thumbnail_bytes(thumb_path) if thumb_path else None
    if data is None and image_path:
        data = images.read_bytes(image_path)
    return letterbox.letterboxed_jpeg(data, aspect, BOX_LONG_SIDE)


@st.cache_data(max_entries=64, show_spinner=False)
def _empty_box(aspect: float, status: str) -> str:
    """A placeholder as a tiny data URL rather than a media file: it is redrawn on every rerun
    while a grid fills, and this way costs the browser no request and the server no file."""
    colour = letterbox.FAILED if status == CellStatus.ERROR else letterbox.PENDING
    box = letterbox.box_size(aspect, BOX_LONG_SIDE // 4)
    jpeg = letterbox.to_jpeg(
        letterbox.placeholder(box, colour, cross=status != CellStatus.PENDING), 70
    )
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def columns(x_count: int, two_d: bool) -> int:
    """How many picture columns a grid has: every x value in 2-D, else rows of WRAP."""
    return x_count if two_d else min(WRAP, max(1, x_count))


def first_look_side(x_count: int, two_d: bool) -> int | None:
    """How large a run's first looks are (None: the thumbnail) for a grid of this shape."""
    return FIRST_LOOK_SIDE if columns(x_count, two_d) >= 3 else None


def _picture(cell: SheetCell, aspect: float, *, inline: bool = False, into: Any = None) -> None:
    """The cell's picture (letterboxed to the grid's shape), the flagged notice, or a
    placeholder, written `into` a cell's picture slot (else where the page is). `inline`: a
    fresh preview, sent inside the page's message (inline_image)."""
    into = into or st
    if cell.has_image and reveal.is_hidden(cell.nsfw, cell.row_id):
        with into.container():
            # The placeholder goes above the notice, which reveal.hidden draws as it decides.
            slot = st.container()
            reveal.hidden(cell.nsfw, cell.row_id, compact=True)
            with slot:
                _placeholder(cell, aspect)
        return
    if cell.has_image:
        if cell.data is not None:
            # A first look keeps its own size: boxed at it, one of the sheet's shape goes as is.
            side = (letterbox.long_side(cell.data) if inline else None) or BOX_LONG_SIDE
            data = letterbox.letterboxed_jpeg(cell.data, aspect, min(side, BOX_LONG_SIDE))
        else:
            data = _boxed(cell.thumb_path, cell.image_path, round(aspect, 4))
        if data is not None:
            # alt names the cell: a result is told apart from a placeholder by it (tests too).
            picture = inline_image.data_url(data) if inline else data
            into.image(picture, width="stretch", alt=f"result {cell.label}")
            return
    _placeholder(cell, aspect, into)


def _placeholder(cell: SheetCell, aspect: float, into: Any = None) -> None:
    status = str(cell.status)
    (into or st).image(_empty_box(round(aspect, 4), status), width="stretch", alt=status)


@dataclass
class Slot:
    """A cell's bordered box and, while it waits, the places of its picture and its note: a
    landing cell replaces those two elements in place, where a new box in its place cost the
    browser a bigger render pass while the other cells landed (measured, bench/latency.py's
    rounds alternating with the code before: provider's last byte -> last cell visible
    0.130 -> 0.101 s for 4 cells, 0.207 -> 0.162 s for 8). A drawn cell's three are its box."""

    box: Any
    picture: Any
    note: Any


def _slot(cell: SheetCell, waiting: bool = False) -> Slot:
    box = st.container(border=True, key=f"cmp_cell_{cell.row}_{cell.col}")
    if not waiting:
        return Slot(box, box, box)
    with box:
        return Slot(box, st.empty(), st.empty())


Later = list[tuple[Any, SheetCell]]  # judging controls still to draw, and where


def fill(slot: Slot, cell: SheetCell, aspect: float, later: Later) -> None:
    """Draw a cell whose result just landed into its waiting slot; its judging controls are
    drawn by `fill_later`, after every picture that landed with it (the pictures reach the
    browser first)."""
    _cell(cell, aspect, later, slot)


def fill_preview(slot: Slot, cell: SheetCell, aspect: float) -> Any:
    """Draw a cell whose first look exists while its original and row are still being written:
    its picture and facts now; returns the cell's box, which `complete` adds to once its
    outcome lands."""
    _picture(cell, aspect, inline=True, into=slot.picture)
    slot.note.caption(md_escape(cell.facts))
    return slot.box


def complete(box: Any, cell: SheetCell, later: Later) -> bool:
    """The rest of a previewed cell, from its outcome: its judging controls (drawn by
    `fill_later`) and, if saving failed, the error first. True when something was drawn
    now (the error); a cell that saved sends the browser nothing yet."""
    drew = _failed(cell)
    if drew:
        with box:
            _error(cell)
    _controls(cell, later, box)
    return drew


def _failed(cell: SheetCell) -> bool:
    """An error to show: the request's, or a live cell's storage failure (its status stays OK:
    the provider answered and the picture is here, but its file or its log row was not
    saved). A saved picture still waiting for the bucket is not an error here."""
    if cell.status == CellStatus.ERROR:
        return True
    note = cell.error_message or ""
    return cell.error_type == ErrorType.STORAGE and not note.startswith(_UPLOAD_PENDING)


_UPLOAD_PENDING = UPLOAD_PENDING.split("{", 1)[0]


def fill_later(later: Later) -> None:
    for box, cell in later:
        with box:
            compare_judge.cell_controls(cell)
    later.clear()


def _error(cell: SheetCell) -> None:
    error = SimpleNamespace(
        error_type=cell.error_type or ErrorType.ERROR,
        message=cell.error_message or "The request failed.",
        request_id=cell.request_id,
        attempts=None,
        hint=None,
    )
    error_box(error, compact=True)


def _controls(cell: SheetCell, later: Later | None, box: Any) -> None:
    # Judging starts as soon as a cell lands: stars given mid-run are saved at once. Later
    # ones go at the end of the cell's box, drawn after the pictures that landed with them.
    if cell.row_id and cell.status in (CellStatus.OK, CellStatus.ERROR):
        if later is None:
            with box:
                compare_judge.cell_controls(cell)
        else:
            later.append((box, cell))


def _cell(
    cell: SheetCell, aspect: float, later: Later | None = None, slot: Slot | None = None
) -> None:
    slot = slot or _slot(cell)
    _picture(cell, aspect, into=slot.picture)
    if cell.status in (CellStatus.OK, CellStatus.ERROR):
        slot.note.caption(md_escape(cell.facts))
    else:
        slot.note.caption(STATUS_TEXT.get(cell.status, ""))
    if _failed(cell):
        with slot.box:
            _error(cell)
    _controls(cell, later, slot.box)


def render(
    sheet: Sheet, *, live: bool, key: str, waiting: dict[str, tuple[Slot, SheetCell]] | None = None
) -> None:
    """Draw the sheet; `live`: the grid is still filling (no winner pickers yet), and each
    pending cell gets a Slot, put in `waiting` by job id, for the page to fill.
    `key` names the comparison (its group id, or the picked rows)."""
    aspect = sheet.box_aspect()
    offset = 1 if sheet.two_d else 0
    slots = columns(len(sheet.x_labels), sheet.two_d)
    weights = [0.8] * offset + [1.0] * slots
    with st.container(key=f"{GRID_KEY}_{key}"):
        for index, (row_header, cols, grid_row) in enumerate(sheet.display_rows()):
            if not sheet.two_d or index == 0:
                header = st.columns(weights, vertical_alignment="bottom")
                if sheet.two_d and sheet.y_title:
                    header[0].caption(md_escape(f"{sheet.y_title} ↓ · {sheet.x_title} →"))
                for slot, col in enumerate(cols):
                    header[slot + offset].markdown(f"**{md_escape(sheet.x_labels[col])}**")
            line = st.columns(weights)
            if row_header is not None:
                line[0].markdown(f"**{md_escape(row_header)}**")
            for slot, col in enumerate(cols):
                with line[slot + offset]:
                    cell = sheet.cells.get((grid_row, col)) or SheetCell(
                        grid_row, col, CellStatus.MISSING
                    )
                    if waiting is not None and cell.status == CellStatus.PENDING:
                        held = _slot(cell, waiting=True)
                        _placeholder(cell, aspect, held.picture)
                        held.note.caption(STATUS_TEXT[cell.status])
                        waiting[cell.row_id or ""] = (held, cell)
                    else:
                        _cell(cell, aspect)
            if not live and sheet.two_d:
                compare_judge.winner_picker(sheet, grid_row, key)
        if not live and not sheet.two_d:
            compare_judge.winner_picker(sheet, 0, key)
