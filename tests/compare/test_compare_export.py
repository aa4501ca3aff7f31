"""Sheets from the log and from a run, the contact sheet and the ZIP, against real files."""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile

import pytest
from PIL import Image

from components.api.client import FluxClient
from components.api.contract import GenerationRequest
from components.compare.export import contact_sheet, export_zip, geometry, metadata_csv
from components.compare.plan import axis_for, grid_plan, seeds_plan
from components.compare.sheet import (
    box_aspect,
    differing_labels,
    fill_headers,
    sheet_from_rows,
    sheet_from_run,
)
from components.images.store import read_params
from components.offline.server import OfflineBackend
from components.runner import Runner


@pytest.fixture(scope="module")
def backend():
    with OfflineBackend(latency=0) as server:
        yield server


def run_plan(plan, backend, stores, group_id="g1"):
    log_store, image_store = stores
    runner = Runner(
        FluxClient(base_url=backend.base_url, sleep=lambda s: None),
        log_store,
        image_store,
        backend="offline",
        session_id="s1",
        concurrency=4,
    )
    jobs = plan.jobs(group_id)
    run = runner.submit(jobs)
    assert run.wait(60)
    return jobs, run


def test_a_group_reopens_exactly_as_it_was_laid_out(backend, stores):
    plan = grid_plan(
        "a lighthouse",
        GenerationRequest(),
        axis_for("aspect_ratio", ["1:1", "21:9", "9:21"]),
        axis_for("raw", [False, True]),
    )
    jobs, run = run_plan(plan, backend, stores)
    live = sheet_from_run(plan, jobs, run.outcomes, group_id="g1")
    reopened = sheet_from_rows(stores[0].query(group_id="g1"))
    assert reopened.mode == "grid" and reopened.group_id == "g1"
    assert reopened.x_labels == list(plan.x_labels) and reopened.y_labels == list(plan.y_labels)
    for key, cell in live.cells.items():
        again = reopened.cells[key]
        assert (again.status, again.seed, again.label) == ("ok", cell.seed, cell.label)
        assert again.image_path == cell.image_path
    assert reopened.box_aspect() == pytest.approx(1.0)  # 21:9 and 9:21 meet in a square box


def test_cancelled_cells_leave_visible_gaps_when_reopened(backend, stores):
    plan = seeds_plan(GenerationRequest("gap"), [1, 2, 3, 4])
    jobs, _ = run_plan(plan, backend, stores, "g2")
    stores[0].delete([jobs[1].id, jobs[3].id])  # as if cancelled before they started
    sheet = sheet_from_rows(stores[0].query(group_id="g2"))
    assert [c.status for c in sheet.ordered()] == ["ok", "missing", "ok", "missing"]
    assert sheet.x_labels == ["seed=1", "—", "seed=3", "—"]  # the log never heard of them
    fill_headers(sheet, plan.x_labels, plan.y_labels)  # the plan of this session has
    assert sheet.ordered()[3].label == "seed=4"


def test_hand_picked_rows_are_labelled_by_what_differs():
    rows = [
        {"prompt": "a", "seed": 1, "aspect_ratio": "1:1", "raw": False, "output_format": "jpeg"},
        {"prompt": "a", "seed": 2, "aspect_ratio": "1:1", "raw": True, "output_format": "jpeg"},
    ]
    assert differing_labels(rows) == ["seed=1 · raw=off", "seed=2 · raw=on"]
    assert differing_labels([rows[0], dict(rows[0])]) == ["#1", "#2"]
    assert box_aspect([16 / 9, 16 / 9]) == pytest.approx(16 / 9)
    assert box_aspect([21 / 9, 9 / 21]) == pytest.approx(1.0)
    assert math.isclose(box_aspect([]), 16 / 9)


def test_contact_sheet_has_the_expected_size_and_the_zip_holds_everything(backend, stores):
    plan = seeds_plan(GenerationRequest("a fox, =SUM(A1)"), [7, 8, 9, 10, 11])
    jobs, _ = run_plan(plan, backend, stores, "g3")
    log_store, image_store = stores
    log_store.update(jobs[0].id, rating=5, note="the winner")
    sheet = sheet_from_rows(log_store.query(group_id="g3"))
    png = contact_sheet(sheet, image_store)
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and img.size == geometry(sheet).size
    geo = geometry(sheet)
    assert (geo.columns, geo.rows) == (4, 2)  # five seeds wrap into rows of four

    archive = zipfile.ZipFile(io.BytesIO(export_zip(sheet, image_store, png)))
    names = archive.namelist()
    assert {"metadata.json", "metadata.csv", "contact-sheet.png"} <= set(names)
    originals = sorted(n for n in names if n.startswith("images/"))
    assert originals[0] == "images/r01-c01_seed=7.jpg" and len(originals) == 5
    assert read_params(archive.read(originals[0]))["seed"] == 7  # the original, stamped
    meta = json.loads(archive.read("metadata.json"))
    assert meta["group_id"] == "g3" and meta["x_labels"][0] == "seed=7"
    assert meta["cells"][0]["rating"] == 5 and meta["cells"][0]["note"] == "the winner"
    rows = list(csv.DictReader(io.StringIO(metadata_csv(sheet).decode())))
    assert rows[0]["seed"] == "7" and rows[0]["prompt"] == "a fox, =SUM(A1)"


def test_failed_and_pending_cells_still_draw(stores):
    plan = seeds_plan(GenerationRequest("x"), [1, 2])
    jobs = plan.jobs("g4")
    sheet = sheet_from_run(plan, jobs, {}, cancelled=[jobs[1].id])
    assert [c.status for c in sheet.ordered()] == ["pending", "cancelled"]
    with Image.open(io.BytesIO(contact_sheet(sheet, stores[1]))) as img:
        assert img.size == geometry(sheet).size


def test_metadata_csv_keeps_formulas_as_text_empties_empty_and_rows_whole():
    from components.compare.sheet import CellStatus, Sheet, SheetCell

    tricky = ["=cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "-2+3", "@SUM(A1)", "a\rb", "", "ok"]
    cells = {
        (0, n): SheetCell(
            0,
            n,
            CellStatus.ERROR,
            x=f"seed={n}",
            params={"prompt": text},
            seed=-n,  # numbers stay numbers, even negative ones
            seconds=-1.5 if n == 0 else None,
            note=text,
            error_message=text,
        )
        for n, text in enumerate(tricky)
    }
    sheet = Sheet("seeds", "t", [f"seed={n}" for n in range(len(tricky))], cells)
    data = metadata_csv(sheet)
    rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    assert len(rows) == len(tricky)  # a lone '\r' did not split a row
    for text, row in zip(tricky, rows, strict=True):
        expected = text if text[:1] not in ("=", "+", "-", "@", "\t", "\r") else "'" + text
        assert row["prompt"] == row["note"] == row["error_message"] == expected
        assert row["rating"] == "" and row["request_id"] == ""  # empty stays empty, not "'"
    assert rows[1]["seed"] == "-1" and rows[0]["seconds"] == "-1.5"
