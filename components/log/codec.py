"""Values in and out of the log: Python/pandas values to SQLite cells and rows to DataFrames."""

from __future__ import annotations

import json
import math
import numbers
import reprlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

from components.api.contract import SEED_MAX
from components.log.schema import (
    COLUMN_TYPES,
    COLUMNS,
    ID_PATTERN,
    RATING_MAX,
    RATING_MIN,
)

# Whole numbers are stored as 64-bit integers (BigInteger); Python's are unbounded.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Seeds past the contract's SEED_MAX would change on their way through the page (browsers hold
# numbers as doubles), so the log refuses them rather than keep a seed that cannot be replayed.
SEED_COLUMNS = ("seed", "seed_requested")

# Values in messages: short, and safe for huge or deeply nested input (no recursion limit hit).
_SHORT = reprlib.Repr()
_SHORT.maxlevel = 2
_SHORT.maxstring = 60
_SHORT.maxlong = 40
_SHORT.maxother = 60


def shown(value: Any) -> str:
    """A value as a message may quote it: repr, cut short."""
    try:
        return _SHORT.repr(value)
    except Exception:  # a repr that fails (or an int past the digit limit): name the type
        return f"<{type(value).__name__}>"


def is_missing(value: Any) -> bool:
    """None, NaN, NaT and pd.NA all mean NULL; containers never do."""
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple, dict, np.ndarray)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def to_utc_iso(value: Any) -> str:
    """The one text form of a moment the table stores: UTC, microseconds, '+00:00'.

    One fixed form makes text order equal time order, so SQL can sort and range-filter it.
    Naive datetimes are taken as UTC; a bare date means its midnight (UTC).
    """
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime(warn=False)
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value).to_pydatetime(warn=False)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = pd.Timestamp(text).to_pydatetime(warn=False)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC).isoformat(timespec="microseconds")
    raise ValueError(f"not a date/time: {shown(value)}")


def _to_int(value: Any) -> int:
    number = _whole(value)
    if not INT_MIN <= number <= INT_MAX:
        raise ValueError(f"{shown(number)} is too large to store")
    return number


def _whole(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError("a boolean is not a number")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(float(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = float(text)
            if math.isfinite(number) and number.is_integer():
                return int(number)
    raise ValueError(f"not a whole number: {shown(value)}")


def _to_float(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError("a boolean is not a number")
    if isinstance(value, (numbers.Real, str)):
        return float(value)
    raise ValueError(f"not a number: {shown(value)}")


_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}


def _to_bool(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        return int(bool(value))
    if isinstance(value, numbers.Real) and value in (0, 1):
        return int(value == 1)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return 1
        if text in _FALSE:
            return 0
    raise ValueError(f"not true/false: {shown(value)}")


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "text with characters UTF-8 cannot hold (lone surrogates)"
                ) from None
        return value
    if isinstance(value, (numbers.Number, np.generic)):
        return str(value.item() if isinstance(value, np.generic) else value)
    raise ValueError(f"not text: {shown(value)}")


def _to_json_list(value: Any) -> str:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"not a list: {shown(value)}")
    return json.dumps([_to_text(item) for item in value], ensure_ascii=False)


_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "text": _to_text,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "datetime": to_utc_iso,
    "json": _to_json_list,
}


def encode_value(column: str, value: Any) -> Any:
    """The SQLite value for one column, or ValueError naming the column."""
    if is_missing(value):
        return None
    try:
        encoded = _ENCODERS[COLUMN_TYPES[column]](value)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        reason = str(exc)  # some quote the whole input: keep messages short
        raise ValueError(f"{column}: {reason[:200]}{'…' if len(reason) > 200 else ''}") from None
    if column == "id" and not ID_PATTERN.fullmatch(encoded):
        raise ValueError(
            f"id: must be 1-64 characters of A-Z a-z 0-9 _ -, starting with a letter or digit "
            f"(got {shown(value)})"
        )
    if column == "rating" and not RATING_MIN <= encoded <= RATING_MAX:
        raise ValueError(f"rating: must be {RATING_MIN} to {RATING_MAX} (got {shown(value)})")
    if column in SEED_COLUMNS and encoded > SEED_MAX:
        raise ValueError(f"{column}: must be at most {SEED_MAX} (got {shown(value)})")
    return encoded


def check_names(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(unknown)}")


def encode_row(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """All columns in COLUMNS order; id and created_at filled in when missing."""
    values = [encode_value(name, row.get(name)) for name in COLUMNS]
    if values[0] is None:
        values[0] = uuid.uuid4().hex
    if values[1] is None:
        values[1] = utc_now_iso()
    return tuple(values)


def _decode_json_list(text: str | None) -> list[str]:
    if not text or text == "[]":
        return []
    decoded = json.loads(text)
    return decoded if isinstance(decoded, list) else []


def _decode_json_column(values: Sequence[str | None]) -> np.ndarray:
    """Path lists of many rows in one json.loads call (per-row calls cost 5x more)."""
    try:
        decoded = json.loads("[" + ",".join(v or "[]" for v in values) + "]")
    except json.JSONDecodeError:  # one bad cell: fall back to cell by cell
        decoded = [_decode_json_list_safe(v) for v in values]
    column = np.empty(len(values), dtype=object)
    column[:] = [v if isinstance(v, list) else [] for v in decoded]
    return column


def _decode_json_list_safe(text: str | None) -> list[str]:
    try:
        return _decode_json_list(text)
    except json.JSONDecodeError:
        return []


def decode_row(values: Sequence[Any], columns: Sequence[str] = COLUMNS) -> dict[str, Any]:
    """A stored row as plain Python values (bools as bool, path lists as lists)."""
    row: dict[str, Any] = {}
    for name, value in zip(columns, values, strict=True):
        kind = COLUMN_TYPES.get(name)
        if kind == "bool" and value is not None:
            value = bool(value)
        elif kind == "json":
            value = _decode_json_list_safe(value)
        row[name] = value
    return row


def to_frame(rows: list[tuple[Any, ...]], columns: Sequence[str] = COLUMNS) -> pd.DataFrame:
    """Typed frame from raw rows: built column by column, which is what keeps 10k rows fast."""
    data = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    out: dict[str, Any] = {}
    for name, values in zip(columns, data, strict=True):
        kind = COLUMN_TYPES.get(name, "text")
        if kind == "datetime":
            out[name] = pd.to_datetime(list(values), format="ISO8601", utc=True).as_unit("us")
        elif kind == "float":
            out[name] = np.array(values, dtype="float64")
        elif kind == "json":
            out[name] = _decode_json_column(values)
        elif kind == "bool":
            out[name] = _bool_column(values)
        elif kind == "text":
            # Python-backed strings: 3-5x quicker to build than Arrow-backed ones from
            # Python str objects, and the same "string" dtype with pd.NA for missing.
            out[name] = pd.array(list(values), dtype=_TEXT_DTYPE)
        else:
            out[name] = pd.array(list(values), dtype=pd.Int64Dtype())  # the int kind
    return pd.DataFrame(out, columns=list(columns))


_TEXT_DTYPE = pd.StringDtype("python")


def _bool_column(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    """0/1/NULL to a nullable boolean array via numpy (pd.array is slow on Python ints)."""
    try:
        numbers_ = np.array(values, dtype="float64")
    except (TypeError, ValueError):
        return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    missing = np.isnan(numbers_)
    return pd.arrays.BooleanArray((numbers_ != 0) & ~missing, missing)
