"""A comparison as it is shown and exported: headers, and one cell per grid position.

Built from a run in flight (plan + outcomes) or from log rows (a reopened group, or past
generations picked by hand), so the page, the contact sheet and the ZIP share one shape.
Plain Python: no Streamlit here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

from components.api.contract import ASPECT_SIZES, GenerationRequest
from components.api.errors import ErrorType
from components.compare.plan import (
    SHORT_NAMES,
    CompareMode,
    Plan,
    parse_label,
    prompt_labels,
    value_label,
)
from components.log.rows import plain, row_dict
from components.log.schema import WITH_IMAGES
from components.runner import Job, Outcome, Status

WRAP = 4  # a one-axis comparison wraps into rows of this many cells
# The parameters that can tell two log rows apart, in the order labels name them.
DIFF_PARAMS = ("prompt", "seed", "aspect_ratio", "raw", "safety_tolerance", "output_format")
# Keyed by text, not CompareMode: a sheet reopened from the log holds its mode as text.
MODE_TITLES: dict[str, str] = {
    CompareMode.SEEDS: "Seeds",
    CompareMode.PROMPTS: "Prompts",
    CompareMode.GRID: "Grid",
    CompareMode.LOG: "From the log",
}


class CellStatus(StrEnum):
    """What a grid position shows: a finished job (as the log's Status), or why there is none."""

    OK = Status.OK.value
    ERROR = Status.ERROR.value
    PENDING = "pending"  # sent, no answer yet
    CANCELLED = "cancelled"  # cancelled before it started, so never sent
    MISSING = "missing"  # a reopened comparison's cell with no log row


@dataclass
class SheetCell:
    row: int
    col: int
    status: CellStatus
    x: str = ""
    y: str | None = None
    row_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    seconds: float | None = None
    width: int | None = None
    height: int | None = None
    nsfw: bool | None = None
    image_path: str | None = None
    thumb_path: str | None = None
    data: bytes | None = None  # in memory when the runner could not save the file
    error_type: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    rating: int | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        return f"{self.x} · {self.y}" if self.y else self.x

    @property
    def aspect(self) -> float:
        """Width over height: from the image when known, else from the requested ratio."""
        if self.width and self.height:
            return self.width / self.height
        w, h = ASPECT_SIZES.get(str(self.params.get("aspect_ratio")), (16, 9))
        return w / h

    @property
    def has_image(self) -> bool:
        return self.status == CellStatus.OK and (bool(self.image_path) or self.data is not None)

    @property
    def facts(self) -> str:
        """Seed and time, the two facts every cell shows."""
        seed = f"seed {self.seed}" if self.seed is not None else "seed not reported"
        if self.seconds is None:
            return seed
        return f"{seed} · {self.seconds:.1f} s"


@dataclass
class Sheet:
    mode: str  # a CompareMode value (one reopened from the log may be unknown to this version)
    title: str
    x_labels: list[str]
    cells: dict[tuple[int, int], SheetCell]
    y_labels: list[str] = field(default_factory=list)
    group_id: str | None = None
    x_title: str = ""
    y_title: str | None = None

    @property
    def two_d(self) -> bool:
        return bool(self.y_labels)

    def ordered(self) -> list[SheetCell]:
        return [self.cells[k] for k in sorted(self.cells)]

    def display_rows(self, wrap: int = WRAP) -> list[tuple[str | None, list[int], int]]:
        """(row header, columns, grid row) per displayed row: a 2-D grid row by row, a 1-D
        comparison cut into chunks of `wrap` so cells stay big enough to judge."""
        if self.two_d:
            cols = list(range(len(self.x_labels)))
            return [(label, cols, r) for r, label in enumerate(self.y_labels)]
        cols = list(range(len(self.x_labels)))
        return [(None, cols[i : i + wrap], 0) for i in range(0, len(cols), wrap)] or [(None, [], 0)]

    def box_aspect(self) -> float:
        """One box shape for every cell, so a mixed-ratio grid still lines up (letterboxed)."""
        return box_aspect(c.aspect for c in self.cells.values())

    def images(self) -> list[SheetCell]:
        return [c for c in self.ordered() if c.has_image]


def box_aspect(aspects: Iterable[float]) -> float:
    """The shape of the common box: the ratio itself when all agree, else halfway between the
    widest and the tallest (geometric mean), so neither extreme shrinks too much."""
    found = [a for a in aspects if a and math.isfinite(a)]
    if not found:
        return 16 / 9
    low, high = min(found), max(found)
    return low if high / low < 1.01 else math.sqrt(low * high)


def cell_from_outcome(row: int, col: int, x: str, y: str | None, outcome: Outcome) -> SheetCell:
    req = outcome.job.request
    status = CellStatus.OK if outcome.ok else CellStatus.ERROR
    cell = SheetCell(row, col, status, x, y, outcome.job.id)
    cell.params = {"model": req.model, **req.to_params()}
    cell.seconds = outcome.elapsed_s
    if outcome.result is not None:
        result = outcome.result
        cell.seed = result.seed
        cell.params["seed"] = result.seed
        image = result.images[0] if result.images else None
        stored = outcome.stored[0] if outcome.stored else None
        if image is not None:
            cell.width, cell.height, cell.nsfw = image.width, image.height, image.nsfw
        if stored is not None:
            cell.image_path, cell.thumb_path = stored.path, stored.thumb_path
        elif image is not None:
            cell.data = image.data
        if outcome.storage_error:
            cell.error_type, cell.error_message = ErrorType.STORAGE, outcome.storage_error
    else:
        cell.seed = req.seed
        error = outcome.error
        cell.error_type = getattr(error, "error_type", ErrorType.ERROR)
        cell.error_message = getattr(error, "message", None) or str(error)
        cell.request_id = getattr(error, "request_id", None)
    return cell


def sheet_from_run(
    plan: Plan,
    jobs: Sequence[Job],
    outcomes: Mapping[str, Outcome],
    cancelled: Iterable[str] = (),
    group_id: str | None = None,
) -> Sheet:
    """The live view: finished cells filled, the rest waiting (or cancelled)."""
    cancelled = set(cancelled)
    cells: dict[tuple[int, int], SheetCell] = {}
    for spec, job in zip(plan.cells, jobs, strict=True):
        outcome = outcomes.get(job.id)
        if outcome is not None:
            cell = cell_from_outcome(spec.row, spec.col, spec.x, spec.y, outcome)
        else:
            status = CellStatus.CANCELLED if job.id in cancelled else CellStatus.PENDING
            cell = SheetCell(spec.row, spec.col, status, spec.x, spec.y, job.id)
            cell.params = {"model": job.request.model, **job.request.to_params()}
            cell.seed = job.request.seed
        cells[(spec.row, spec.col)] = cell
    return Sheet(
        plan.mode,
        plan.title,
        list(plan.x_labels),
        cells,
        list(plan.y_labels),
        group_id,
        plan.x_title,
        plan.y_title,
    )


def cell_from_row(row: Mapping[str, Any], r: int, c: int, x: str, y: str | None) -> SheetCell:
    row = row_dict(row)
    status = CellStatus.OK if row.get("status") in WITH_IMAGES else CellStatus.ERROR
    paths = row.get("image_paths") or []
    thumbs = row.get("thumb_paths") or []
    params = GenerationRequest.from_params(row).to_params()
    params["model"] = row.get("model")
    # A failed request has no reported seed; the one it asked for still names the cell.
    seed = row.get("seed") if row.get("seed") is not None else row.get("seed_requested")
    params["seed"] = seed
    return SheetCell(
        r,
        c,
        status,
        x,
        y,
        row.get("id"),
        params,
        seed=seed,
        seconds=row.get("total_s"),
        width=row.get("width"),
        height=row.get("height"),
        nsfw=row.get("nsfw"),
        image_path=paths[0] if paths else None,
        thumb_path=thumbs[0] if thumbs else None,
        error_type=row.get("error_type"),
        error_message=row.get("error_message"),
        request_id=row.get("request_id"),
        rating=row.get("rating"),
        note=row.get("note"),
    )


def _short(param: str, value: Any) -> str:
    if param == "raw":
        return value_label("raw", bool(value))
    return f"{SHORT_NAMES[param]}={value}"


def differing_labels(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """A label per row naming only what differs between the rows ("seed=1 · ratio=1:1")."""
    values = [{p: plain(r.get(p)) for p in DIFF_PARAMS} for r in rows]
    differ = [p for p in DIFF_PARAMS if len({repr(v[p]) for v in values}) > 1]
    prompts = prompt_labels([v["prompt"] or "" for v in values], 40)
    labels = []
    for index, v in enumerate(values):
        parts = [prompts[index] if p == "prompt" else _short(p, v[p]) for p in differ]
        labels.append(" · ".join(parts) or f"#{index + 1}")
    if len(set(labels)) < len(labels):  # same parameters twice: number them apart
        labels = [f"#{i + 1} · {label}" for i, label in enumerate(labels)]
    return labels


def _common_title(rows: Sequence[Mapping[str, Any]]) -> str:
    prompts = {str(plain(r.get("prompt")) or "") for r in rows}
    return prompts.pop() if len(prompts) == 1 else f"{len(prompts)} prompts"


def sheet_from_rows(frame: pd.DataFrame, order: Sequence[str] | None = None) -> Sheet:
    """Log rows side by side. Rows whose group_label is a cell label are placed exactly where
    they were; anything else (hand-picked rows, foreign groups) goes in one labelled row."""
    records = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    if order is not None:
        position = {row_id: i for i, row_id in enumerate(order)}
        records.sort(key=lambda r: position.get(r["id"], len(position)))
    else:
        records.sort(key=lambda r: (r.get("created_at"), r.get("id")))
    if not records:
        return Sheet(CompareMode.LOG, "Nothing to show", [], {})
    group_ids = {plain(r.get("group_id")) for r in records}
    group_id = group_ids.pop() if len(group_ids) == 1 else None
    labels = [parse_label(plain(r.get("group_label"))) for r in records]
    if order is None and group_id and all(labels):
        return _laid_out(records, labels, group_id)
    texts = differing_labels(records)
    cells = {(0, i): cell_from_row(r, 0, i, texts[i], None) for i, r in enumerate(records)}
    return Sheet(CompareMode.LOG, _common_title(records), texts, cells, group_id=group_id)


def _laid_out(records: list[dict[str, Any]], labels: list[Any], group_id: str) -> Sheet:
    x_labels: dict[int, str] = {}
    y_labels: dict[int, str] = {}
    cells: dict[tuple[int, int], SheetCell] = {}
    for record, label in zip(records, labels, strict=True):
        x_labels.setdefault(label.col, label.x)
        if label.y is not None:
            y_labels.setdefault(label.row, label.y)
        key = (label.row, label.col)
        if key not in cells:
            cells[key] = cell_from_row(record, label.row, label.col, label.x, label.y)
    width = max(max(x_labels) + 1, *(lb.cols for lb in labels))
    height = max(max(y_labels) + 1, *(lb.rows for lb in labels)) if y_labels else 0
    xs = [x_labels.get(i, "—") for i in range(width)]
    ys = [y_labels.get(i, "—") for i in range(height)]
    for r in range(max(height, 1)):  # cancelled cells were never logged: show the gap
        for c in range(width):
            if (r, c) not in cells:
                cells[(r, c)] = SheetCell(r, c, CellStatus.MISSING, xs[c], ys[r] if ys else None)
    mode = labels[0].mode
    return Sheet(mode, _common_title(records), xs, cells, ys, group_id)


def fill_headers(sheet: Sheet, x_labels: Sequence[str], y_labels: Sequence[str]) -> None:
    """Name the gaps: the headers of cancelled cells are unknown to the log but known to the
    plan of a run made in this session."""
    if len(x_labels) != len(sheet.x_labels) or len(y_labels) != len(sheet.y_labels):
        return
    sheet.x_labels, sheet.y_labels = list(x_labels), list(y_labels)
    for (r, c), cell in sheet.cells.items():
        cell.x, cell.y = sheet.x_labels[c], sheet.y_labels[r] if sheet.y_labels else None


def common_text(sheet: Sheet) -> str:
    """What every cell shares ("ratio=16:9 · raw=off · format=jpeg · tolerance=2"), so the
    headers only have to name what differs."""
    cells = [c for c in sheet.ordered() if c.params]
    parts = []
    for param in DIFF_PARAMS[2:]:
        values = {repr(c.params.get(param)) for c in cells}
        if len(values) == 1 and cells[0].params.get(param) is not None:
            parts.append(_short(param, cells[0].params[param]))
    seeds = {c.seed for c in cells}
    if len(seeds) == 1 and None not in seeds and len(cells) > 1:
        parts.insert(0, f"seed={seeds.pop()}")
    return " · ".join(parts)
