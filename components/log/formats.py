"""Export and import formats of the log: CSV, Parquet and JSON, losslessly.

CSV is written for spreadsheets: text a spreadsheet would run as a formula gets a leading
apostrophe (`spreadsheet_cell`, shared with Compare's metadata.csv) and any cell holding a line
break is quoted. Reading the studio's own CSV takes that apostrophe off again (`unguard_cell`),
so prompts come back exactly.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import pandas_dtype

from components.log.codec import is_missing
from components.log.schema import COLUMN_TYPES, EXPORT_FORMATS, KIND_DTYPES


def _plain(value: Any) -> Any:
    """A cell of a column the log does not know (or a list item) as a JSON-ready value."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if is_missing(value):
        return None
    if isinstance(value, (datetime, date, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _column_values(series: pd.Series, kind: str | None) -> list[Any]:
    """One column as JSON-ready Python values, converted column-wise (per-cell is 5x slower)."""
    if kind is None:
        return [_plain(v) for v in series.tolist()]
    if kind == "json":
        return [_plain(v) or [] for v in series.tolist()]
    if kind == "datetime":
        moments = pd.to_datetime(series, utc=True, format="ISO8601")
        series = moments.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    elif kind == "float":
        values = pd.to_numeric(series).astype("float64").tolist()
        return [v if math.isfinite(v) else None for v in values]
    else:
        series = series.astype(pandas_dtype(KIND_DTYPES[kind]))
    return [None if is_missing(v) else v for v in series.astype(object).tolist()]


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in df.columns]
    data = [_column_values(df.iloc[:, i], COLUMN_TYPES.get(name)) for i, name in enumerate(columns)]
    return [dict(zip(columns, values, strict=True)) for values in zip(*data, strict=True)]


# A text cell starting with one of these is run as a formula by Excel, LibreOffice or Google
# Sheets (TAB and CR too: some of them drop the whitespace and read the = that follows).
FORMULA_STARTS = frozenset("=+-@\t\r")
# JSON nesting an import accepts: a log row needs 3 levels (list, record, list of paths); this
# leaves room for unknown columns while keeping every later step far from the recursion limit.
MAX_JSON_DEPTH = 32
_CSV_QUOTE = re.compile(r'[",\r\n]')


def _guarded(text: str) -> bool:
    """Whether text needs (or, read back, carries) the apostrophe: its first character after
    any leading apostrophes starts a formula. Counting the apostrophes already there keeps the
    mapping reversible: "'=x" is written "''=x" and read back as "'=x"."""
    return text.lstrip("'")[:1] in FORMULA_STARTS


def spreadsheet_cell(value: Any) -> Any:
    """A cell as a spreadsheet must get it: text that would run as a formula (starting with
    = + - @ TAB or CR) behind a leading apostrophe, which spreadsheets show as text and hide;
    empty text stays empty, numbers and everything else stay as they are."""
    if isinstance(value, str) and _guarded(value):
        return "'" + value
    return value


def unguard_cell(text: str) -> str:
    """The text spreadsheet_cell was given, from the text it returned."""
    if text[:1] == "'" and _guarded(text):
        return text[1:]
    return text


def _csv_field(value: Any) -> str:
    """One CSV field, quoted when it holds a quote, a comma, or a line break of either kind
    (csv.writer with lineterminator "\n" leaves a lone "\r" unquoted, which splits the row)."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if _CSV_QUOTE.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with "\n" line ends; cells are written as given (pass them through
    spreadsheet_cell first)."""
    lines: list[str] = []
    for row in (header, *rows):
        fields = [_csv_field(v) for v in row]
        lines.append('""' if fields == [""] else ",".join(fields))
    return "".join(line + "\n" for line in lines).encode("utf-8")


def csv_cell(value: Any) -> Any:
    """A log value (from frame_records) as a CSV cell, formula-safe."""
    if isinstance(value, str):
        return spreadsheet_cell(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return value


def export_csv(df: pd.DataFrame) -> bytes:
    """A frame as CSV: one header line, then one line per row (cells as csv_cell makes them)."""
    records = frame_records(df)
    return csv_bytes(
        [str(c) for c in df.columns], ([csv_cell(v) for v in r.values()] for r in records)
    )


def export_parquet(df: pd.DataFrame) -> bytes:
    """Typed columns (UTC timestamps, nullable ints and booleans, lists of paths as lists)."""
    out = df.copy()
    for name in out.columns:
        kind = COLUMN_TYPES.get(str(name))
        if kind == "json":
            lists = np.empty(len(out), dtype=object)
            lists[:] = _column_values(out[name], kind)
            out[name] = lists
        elif kind == "datetime":
            out[name] = pd.to_datetime(out[name], utc=True, format="ISO8601").dt.as_unit("us")
        elif kind is not None:
            out[name] = out[name].astype(pandas_dtype(KIND_DTYPES[kind]))
    buffer = io.BytesIO()
    out.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _check_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """ValueError when lists and dicts nest deeper than limit (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                raise ValueError(
                    f"not a session log export: values nested over {limit} levels deep"
                )
            stack.extend((child, depth + 1) for child in item if isinstance(child, (list, dict)))


def _csv_value(text: str | None) -> str | None:
    if text is None or text == "":
        return None
    return unguard_cell(text)


def parse_records(data: bytes, fmt: str) -> list[Any]:
    """Rows of an exported file as dicts; ValueError when the file is not that format."""
    try:
        if fmt == "json":
            parsed = json.loads(data.decode("utf-8-sig"))
            if isinstance(parsed, dict) and isinstance(parsed.get("records"), list):
                parsed = parsed["records"]
            if not isinstance(parsed, list):
                raise ValueError("expected a JSON list of records")
            _check_depth(parsed)
            return parsed
        if fmt == "csv":
            reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
            return [{k: _csv_value(v) for k, v in row.items() if k is not None} for row in reader]
        if fmt == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
            records = frame_records(frame)
            _check_depth(records)
            return records
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise ValueError(f"not a readable {fmt} export: {exc}") from exc
    except RecursionError:
        raise ValueError(f"not a readable {fmt} export: values nested too deeply") from None
    except Exception as exc:  # pyarrow raises its own error types for non-parquet bytes
        if fmt == "parquet":
            raise ValueError(f"not a readable parquet export: {exc}") from exc
        raise
    raise ValueError(f"unknown import format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
