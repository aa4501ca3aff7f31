"""Take a comparison away: a contact-sheet PNG (the grid with its headers, drawn with Pillow)
and a ZIP of the originals with the metadata as JSON and CSV. No Streamlit here.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Protocol

from PIL import Image, ImageDraw, ImageFilter

from components.compare.sheet import (
    MODE_TITLES,
    WRAP,
    CellStatus,
    Sheet,
    SheetCell,
    common_text,
)
from components.images import letterbox
from components.images.text import FONT_LOCK, fit_line, font, wrap_lines
from components.log.formats import csv_bytes, spreadsheet_cell

CELL_LONG = 384  # longer side of every cell's picture box, in pixels
MARGIN = 32
GAP = 16
TITLE_H = 84
HEADER_H = 40
CAPTION_H = 52
ROW_HEADER_W = 200
INK = (232, 230, 227)
MUTED = (150, 150, 160)
ACCENT = (242, 169, 59)
ERROR_INK = (255, 150, 150)
PAPER = (15, 17, 21)

STATUS_TEXT = {
    CellStatus.PENDING: "not finished",
    CellStatus.CANCELLED: "cancelled before it started",
    CellStatus.MISSING: "not run",
}

CSV_FIELDS = (
    "row",
    "col",
    "x",
    "y",
    "status",
    "id",
    "file",
    "prompt",
    "seed",
    "aspect_ratio",
    "raw",
    "output_format",
    "safety_tolerance",
    "enable_safety_checker",
    "model",
    "width",
    "height",
    "seconds",
    "rating",
    "note",
    "error_type",
    "error_message",
    "request_id",
)


class ImageSource(Protocol):
    """The two reads an export needs (ImageStore provides both)."""

    def read_bytes(self, rel: str) -> bytes | None: ...

    def thumbnail_bytes(self, rel_thumb: str) -> bytes | None: ...


@dataclass(frozen=True)
class Geometry:
    """Where everything goes; the test checks the PNG against `size`."""

    box: tuple[int, int]
    columns: int
    rows: int
    row_header: int
    headers: int  # how many header bands (one per displayed row in 1-D, one in 2-D)

    @property
    def size(self) -> tuple[int, int]:
        w, h = self.box
        width = 2 * MARGIN + self.row_header + self.columns * w + max(0, self.columns - 1) * GAP
        height = (
            2 * MARGIN
            + TITLE_H
            + self.headers * HEADER_H
            + self.rows * (h + CAPTION_H)
            + max(0, self.rows - 1) * GAP
        )
        return width, height


def geometry(sheet: Sheet, wrap: int = WRAP) -> Geometry:
    rows = sheet.display_rows(wrap)
    columns = max((len(cols) for _, cols, _ in rows), default=1) or 1
    box = letterbox.box_size(sheet.box_aspect(), CELL_LONG)
    row_header = ROW_HEADER_W + GAP if sheet.two_d else 0
    return Geometry(box, columns, len(rows), row_header, 1 if sheet.two_d else len(rows))


def _cell_picture(cell: SheetCell, box: tuple[int, int], images: ImageSource) -> Image.Image:
    data = cell.data
    if cell.has_image and data is None:
        data = images.thumbnail_bytes(cell.thumb_path) if cell.thumb_path else None
        data = data or (images.read_bytes(cell.image_path) if cell.image_path else None)
    picture = letterbox.open_image(data) if cell.has_image else None
    if picture is None:
        colour = letterbox.FAILED if cell.status == CellStatus.ERROR else letterbox.PENDING
        return letterbox.placeholder(box, colour, cross=cell.status != CellStatus.PENDING)
    if cell.nsfw:  # hidden on screen until revealed: never shown sharp in a shared sheet
        picture = picture.filter(ImageFilter.GaussianBlur(max(picture.size) // 20))
    return letterbox.fit(picture, box)


def _status_text(cell: SheetCell) -> str:
    if cell.status == CellStatus.ERROR:
        return cell.error_message or "failed"
    return STATUS_TEXT.get(cell.status, "")


def contact_sheet(sheet: Sheet, images: ImageSource, wrap: int = WRAP) -> bytes:
    """The comparison as one PNG: title, what all cells share, headers, cells, captions."""
    geo = geometry(sheet, wrap)
    rows = sheet.display_rows(wrap)
    cells = {
        (grid_row, col): sheet.cells.get((grid_row, col))
        or SheetCell(grid_row, col, CellStatus.MISSING)
        for _, cols, grid_row in rows
        for col in cols
    }
    # Decoded before taking the font lock, which the offline previews wait on too.
    pictures = {key: _cell_picture(cell, geo.box, images) for key, cell in cells.items()}
    canvas = Image.new("RGB", geo.size, PAPER)
    draw = ImageDraw.Draw(canvas)
    inner_w = geo.size[0] - 2 * MARGIN
    title = f"Compare · {MODE_TITLES.get(sheet.mode, sheet.mode)} · {sheet.title}"
    sub = " · ".join(p for p in (common_text(sheet), "FLUX Ultra Studio", _today()) if p)
    bw, bh = geo.box
    y = MARGIN + TITLE_H
    x0 = MARGIN + geo.row_header
    with FONT_LOCK:
        title_font = font(24, True)
        draw.text((MARGIN, MARGIN), fit_line(draw, title, title_font, inner_w), INK, title_font)
        draw.text((MARGIN, MARGIN + 38), fit_line(draw, sub, font(16), inner_w), MUTED, font(16))
        for index, (row_header, cols, grid_row) in enumerate(rows):
            if not sheet.two_d or index == 0:
                for slot, col in enumerate(cols):
                    x = x0 + slot * (bw + GAP)
                    text = fit_line(draw, sheet.x_labels[col], font(17, True), bw)
                    draw.text((x, y + 8), text, ACCENT, font(17, True))
                y += HEADER_H
            if row_header is not None:
                lines = wrap_lines(draw, row_header, font(17, True), ROW_HEADER_W, 4)
                for n, line in enumerate(lines):
                    top = y + bh / 2 - 12 * len(lines) + 24 * n
                    draw.text((MARGIN, top), line, ACCENT, font(17, True))
            for slot, col in enumerate(cols):
                x = x0 + slot * (bw + GAP)
                canvas.paste(pictures[(grid_row, col)], (x, y))
                _caption(draw, cells[(grid_row, col)], x, y + bh, bw)
            y += bh + CAPTION_H + GAP
    out = io.BytesIO()
    canvas.save(out, "PNG", optimize=False)
    return out.getvalue()


def _caption(draw: ImageDraw.ImageDraw, cell: SheetCell, x: int, y: int, width: int) -> None:
    first = cell.facts if cell.status == CellStatus.OK else _status_text(cell)
    if cell.status == CellStatus.OK:
        colour = INK
    else:
        colour = ERROR_INK if cell.status == CellStatus.ERROR else MUTED
    draw.text((x, y + 6), fit_line(draw, first, font(15), width), colour, font(15))
    second = []
    if cell.rating:
        second.append("★" * cell.rating + "☆" * (5 - cell.rating))
    if cell.note:
        second.append(cell.note)
    if second:
        text = fit_line(draw, "  ".join(second), font(14), width)
        draw.text((x, y + 28), text, ACCENT, font(14))


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-.")
    return slug[:limit] or "cell"


def file_name(cell: SheetCell) -> str | None:
    """The original's name inside the ZIP: position first, so files sort like the grid."""
    if not cell.has_image:
        return None
    suffix = PurePosixPath(cell.image_path).suffix if cell.image_path else ".jpg"
    return f"images/r{cell.row + 1:02d}-c{cell.col + 1:02d}_{_slug(cell.label)}{suffix}"


def records(sheet: Sheet) -> list[dict[str, Any]]:
    """One flat record per cell: position, headers, every parameter, judging, any error."""
    out = []
    for cell in sheet.ordered():
        p = cell.params
        out.append(
            {
                "row": cell.row + 1,
                "col": cell.col + 1,
                "x": cell.x,
                "y": cell.y,
                "status": cell.status,
                "id": cell.row_id,
                "file": file_name(cell),
                "prompt": p.get("prompt"),
                "seed": cell.seed,
                "aspect_ratio": p.get("aspect_ratio"),
                "raw": p.get("raw"),
                "output_format": p.get("output_format"),
                "safety_tolerance": p.get("safety_tolerance"),
                "enable_safety_checker": p.get("enable_safety_checker"),
                "model": p.get("model"),
                "width": cell.width,
                "height": cell.height,
                "seconds": None if cell.seconds is None else round(cell.seconds, 3),
                "rating": cell.rating,
                "note": cell.note,
                "error_type": cell.error_type,
                "error_message": cell.error_message,
                "request_id": cell.request_id,
            }
        )
    return out


def metadata(sheet: Sheet) -> dict[str, Any]:
    return {
        "app": "FLUX Ultra Studio",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": sheet.mode,
        "title": sheet.title,
        "group_id": sheet.group_id,
        "common": common_text(sheet),
        "x_labels": sheet.x_labels,
        "y_labels": sheet.y_labels,
        "cells": records(sheet),
    }


def metadata_csv(sheet: Sheet) -> bytes:
    """The cells as CSV for spreadsheets: text that would run as a formula is kept as text
    (the Session log's CSV does the same), line breaks stay inside their cell."""
    return csv_bytes(
        CSV_FIELDS,
        ([spreadsheet_cell(record[name]) for name in CSV_FIELDS] for record in records(sheet)),
    )


def export_zip(sheet: Sheet, images: ImageSource, sheet_png: bytes | None = None) -> bytes:
    """Originals (as generated, parameters embedded), metadata.json, metadata.csv and the
    contact sheet. Images are stored, not deflated: they are compressed already."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for cell in sheet.ordered():
            name = file_name(cell)
            data = cell.data
            if name and data is None and cell.image_path:
                data = images.read_bytes(cell.image_path)
            if name and data:
                archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
        archive.writestr("metadata.json", json.dumps(metadata(sheet), indent=2, ensure_ascii=False))
        archive.writestr("metadata.csv", metadata_csv(sheet))
        png = sheet_png if sheet_png is not None else contact_sheet(sheet, images)
        archive.writestr("contact-sheet.png", png, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()
