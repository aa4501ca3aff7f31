"""CSV for spreadsheets: formulas stay text, line breaks stay in their cell, and the studio's own
CSV imports back exactly."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.images.store import ImageStore
from components.log import archive as log_archive
from components.log.formats import (
    csv_bytes,
    export_csv,
    parse_records,
    spreadsheet_cell,
    unguard_cell,
)
from components.log.store import LogFilter, LogStore

# Text a spreadsheet would run, text that only looks close, and line breaks of every kind.
TRICKY = [
    '=HYPERLINK("http://evil","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''+twice",
    "'plain apostrophe",
    "a lighthouse\rat dusk",
    "line one\r\nline two\nline three",
    "ends with a return\r",
    "\r",
    'say "cheese", twice',
    "-",
    "ünïcode ✓ =not a formula",
]


def _reader_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("'x", "'x"),
        ("plain", "plain"),
        ("", ""),
        (None, None),
        (-5, -5),
        (-1.5, -1.5),
        (0, 0),
        (True, True),
    ],
)
def test_spreadsheet_cell_keeps_formulas_as_text_and_leaves_the_rest(value, cell):
    assert spreadsheet_cell(value) == cell
    if isinstance(value, str):
        assert unguard_cell(spreadsheet_cell(value)) == value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("'=+-@\t\r\na ,\"")))
def test_guarding_is_undone_exactly(text):
    cell = spreadsheet_cell(text)
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert unguard_cell(cell) == text


def test_a_lone_carriage_return_is_quoted_so_the_row_stays_whole():
    data = csv_bytes(["a", "b", "c"], [["x\ry", "z", 1], ["\r", "", 2.5]])
    assert _reader_rows(data) == [["a", "b", "c"], ["x\ry", "z", "1"], ["\r", "", "2.5"]]
    assert data.count(b"\n") == 3  # one line end per row, none inside a cell


def _store_with(tmp_path: Path, name: str, prompts: list[str]) -> LogStore:
    log = LogStore(tmp_path / name / "studio.db")
    for n, prompt in enumerate(prompts):
        log.append(
            {
                "id": f"row{n}",
                "created_at": f"2026-05-01T10:00:{n:02d}+00:00",
                "status": "error",
                "prompt": prompt,
                "note": prompt,
                "error_message": prompt,
                "seed": 7,
                "request_s": -1.5,  # a number that starts with '-': stays a number
            }
        )
    return log


def test_the_session_log_csv_keeps_formulas_as_text_and_imports_back_exactly(tmp_path):
    source = _store_with(tmp_path, "a", TRICKY)
    images = ImageStore(tmp_path / "a")
    data = log_archive.export_bytes(source, images, LogFilter(), "CSV")

    rows = _reader_rows(data)
    assert len(rows) == len(TRICKY) + 1  # no row split by a '\r'
    header = rows[0]
    for row in rows[1:]:
        cells = dict(zip(header, row, strict=True))
        for column in ("prompt", "note", "error_message"):
            assert cells[column][:1] not in ("=", "+", "-", "@", "\t", "\r")
        assert cells["request_s"] == "-1.5" and cells["seed"] == "7"

    target = LogStore(tmp_path / "b" / "studio.db")
    report = target.import_rows(data, "csv")
    assert (report.added, report.rejected) == (len(TRICKY), 0)
    back = target.query().set_index("id")
    for n, prompt in enumerate(TRICKY):
        for column in ("prompt", "note", "error_message"):
            assert back.loc[f"row{n}", column] == prompt
        assert back.loc[f"row{n}", "request_s"] == -1.5


def test_the_csv_inside_the_zip_is_guarded_too(tmp_path):
    source = _store_with(tmp_path, "a", ["=1+1", "a\rb"])
    data = log_archive.export_bytes(
        source, ImageStore(tmp_path / "a"), LogFilter(), "ZIP with images"
    )
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inner = archive.read(log_archive.LOG_CSV)
    assert inner == export_csv(source.query())
    rows = _reader_rows(inner)
    assert len(rows) == 3
    assert {r[rows[0].index("prompt")] for r in rows[1:]} == {"'=1+1", "a\rb"}


def test_export_csv_round_trips_every_tricky_prompt(tmp_path):
    source = _store_with(tmp_path, "a", TRICKY)
    records = parse_records(export_csv(source.query()), "csv")
    assert sorted(r["prompt"] for r in records) == sorted(TRICKY)


def test_log_store_export_csv_keeps_a_lone_carriage_return(tmp_path):
    source = _store_with(tmp_path, "a", ["a\rb"])
    target = LogStore(tmp_path / "b" / "studio.db")
    target.import_rows(LogStore.export(source.query(), "csv"), "csv")
    assert target.get("row0")["prompt"] == "a\rb"


def test_log_store_export_csv_keeps_formulas_as_text(tmp_path):
    source = _store_with(tmp_path, "a", ["=1+1", "'=x"])
    data = LogStore.export(source.query(), "csv")
    cells = {r[_reader_rows(data)[0].index("prompt")] for r in _reader_rows(data)[1:]}
    assert cells == {"'=1+1", "''=x"}
    target = LogStore(tmp_path / "b" / "studio.db")
    target.import_rows(data, "csv")
    assert {target.get("row0")["prompt"], target.get("row1")["prompt"]} == {"=1+1", "'=x"}


def test_deeply_nested_json_is_refused_with_a_message():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValueError, match="nested"):
        parse_records(deep.encode(), "json")
    nested: list = []
    for _ in range(200):  # under the parser's limit, over the importer's
        nested = [nested]
    with pytest.raises(ValueError, match="nested"):
        parse_records(json.dumps([{"id": "a", "extra": nested}]).encode(), "json")
