"""The session log: one SQLite row per request that left the app, read back as pandas frames.

Rows are written the moment a request ends, each in its own `BEGIN IMMEDIATE` transaction on a
WAL-mode file, so a crash loses at most the row being written and two app processes (or many
threads) sharing one data folder never lose each other's rows. Reading goes through SQL filters
so pages never load more than they show.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import re
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from components import paths

TABLE = "request_log"

# Column name -> kind. The order is the order of COLUMNS, of frames and of exports.
COLUMN_TYPES: dict[str, str] = {
    "id": "text",
    "created_at": "datetime",
    "session_id": "text",
    "group_id": "text",
    "group_label": "text",
    "backend": "text",
    "model": "text",
    "prompt": "text",
    "seed_requested": "int",
    "seed": "int",
    "aspect_ratio": "text",
    "raw": "bool",
    "safety_tolerance": "text",
    "output_format": "text",
    "num_images": "int",
    "enable_safety_checker": "bool",
    "status": "text",
    "error_type": "text",
    "error_message": "text",
    "http_status": "int",
    "request_id": "text",
    "attempts": "int",
    "request_s": "float",
    "download_s": "float",
    "total_s": "float",
    "width": "int",
    "height": "int",
    "nsfw": "bool",
    "credits_used": "float",
    "cost_usd": "float",
    "image_paths": "json",
    "thumb_paths": "json",
    "rating": "int",
    "note": "text",
}
COLUMNS: tuple[str, ...] = tuple(COLUMN_TYPES)

# pandas dtype per kind, as query() returns them.
KIND_DTYPES: dict[str, str] = {
    "text": "string",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "datetime": "datetime64[us, UTC]",
    "json": "object",
}
DTYPES: dict[str, str] = {name: KIND_DTYPES[kind] for name, kind in COLUMN_TYPES.items()}

# Ids end up in image file names, so they are held to the same strict alphabet everywhere.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
RATING_MIN, RATING_MAX = 0, 5
EXPORT_FORMATS = ("csv", "parquet", "json")
BUSY_TIMEOUT_S = 30

# Schema history: step N brings a file from user_version N-1 to N. Never edit a shipped step;
# a new column is one more appended step ("ALTER TABLE request_log ADD COLUMN x TYPE").
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""CREATE TABLE IF NOT EXISTS {TABLE} (
            id TEXT PRIMARY KEY NOT NULL,
            created_at TEXT NOT NULL,
            session_id TEXT,
            group_id TEXT,
            group_label TEXT,
            backend TEXT,
            model TEXT,
            prompt TEXT,
            seed_requested INTEGER,
            seed INTEGER,
            aspect_ratio TEXT,
            raw INTEGER,
            safety_tolerance TEXT,
            output_format TEXT,
            num_images INTEGER,
            enable_safety_checker INTEGER,
            status TEXT,
            error_type TEXT,
            error_message TEXT,
            http_status INTEGER,
            request_id TEXT,
            attempts INTEGER,
            request_s REAL,
            download_s REAL,
            total_s REAL,
            width INTEGER,
            height INTEGER,
            nsfw INTEGER,
            credits_used REAL,
            cost_usd REAL,
            image_paths TEXT,
            thumb_paths TEXT
        )""",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_created_at ON {TABLE}(created_at)",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_session_id ON {TABLE}(session_id)",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_group_id ON {TABLE}(group_id)",
        f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_status ON {TABLE}(status)",
    ),
    # 2: curation (the gallery's stars and notes).
    (
        f"ALTER TABLE {TABLE} ADD COLUMN rating INTEGER",
        f"ALTER TABLE {TABLE} ADD COLUMN note TEXT",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
_ADD_COLUMN = re.compile(r"\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)", re.IGNORECASE)

_SELECT_COLUMNS = ", ".join(COLUMNS)
_INSERT_SQL = f"INSERT INTO {TABLE} ({_SELECT_COLUMNS}) VALUES ({', '.join('?' for _ in COLUMNS)})"
_INSERT_IGNORE_SQL = _INSERT_SQL.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)


# --------------------------------------------------------------------------- values


def _is_missing(value: Any) -> bool:
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
    raise ValueError(f"not a date/time: {value!r}")


def _to_int(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError("a boolean is not a number")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = float(text)
            if math.isfinite(number) and number.is_integer():
                return int(number)
    raise ValueError(f"not a whole number: {value!r}")


def _to_float(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError("a boolean is not a number")
    if isinstance(value, (numbers.Real, str)):
        return float(value)
    raise ValueError(f"not a number: {value!r}")


_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}


def _to_bool(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        return int(bool(value))
    if isinstance(value, numbers.Real) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return 1
        if text in _FALSE:
            return 0
    raise ValueError(f"not true/false: {value!r}")


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (numbers.Number, np.generic)):
        return str(value.item() if isinstance(value, np.generic) else value)
    raise ValueError(f"not text: {value!r}")


def _to_json_list(value: Any) -> str:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"not a list: {value!r}")
    return json.dumps([_to_text(item) for item in value], ensure_ascii=False)


_ENCODERS = {
    "text": _to_text,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "datetime": to_utc_iso,
    "json": _to_json_list,
}


def encode_value(column: str, value: Any) -> Any:
    """The SQLite value for one column, or ValueError naming the column."""
    if _is_missing(value):
        return None
    try:
        encoded = _ENCODERS[COLUMN_TYPES[column]](value)
    except (TypeError, ValueError, OverflowError, json.JSONDecodeError) as exc:
        raise ValueError(f"{column}: {exc}") from None
    if column == "id" and not ID_PATTERN.fullmatch(encoded):
        raise ValueError(f"id: must be 1-64 characters of A-Z a-z 0-9 _ - (got {value!r})")
    if column == "rating" and not RATING_MIN <= encoded <= RATING_MAX:
        raise ValueError(f"rating: must be {RATING_MIN} to {RATING_MAX} (got {value!r})")
    return encoded


def _check_names(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(unknown)}")


def _encode_row(row: Mapping[str, Any]) -> tuple[Any, ...]:
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


def _decode_row(values: Sequence[Any], columns: Sequence[str] = COLUMNS) -> dict[str, Any]:
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


def _frame(rows: list[tuple[Any, ...]], columns: Sequence[str] = COLUMNS) -> pd.DataFrame:
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
            out[name] = pd.array(list(values), dtype=KIND_DTYPES[kind])
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


# --------------------------------------------------------------------------- filters


def _tuple_or_none(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class LogFilter:
    """Which rows a page wants; one object so pages can pass it around and cache on it.

    None means "no constraint". An empty `aspect_ratios` or `ids` matches nothing. `since` and
    `until` take datetimes, dates or ISO text (naive = UTC); a bare date as `until` includes
    that whole day.
    """

    text: str | None = None
    status: str | None = None
    since: datetime | date | str | None = None
    until: datetime | date | str | None = None
    aspect_ratios: tuple[str, ...] | None = None
    raw: bool | None = None
    backend: str | None = None
    session_id: str | None = None
    group_id: str | None = None
    min_rating: int | None = None
    ids: tuple[str, ...] | None = None
    errors_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "aspect_ratios", _tuple_or_none(self.aspect_ratios))
        object.__setattr__(self, "ids", _tuple_or_none(self.ids))

    def where(self) -> tuple[str, list[Any]]:
        """The SQL WHERE clause (may be empty) and its parameters; user text only as params."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.text:
            needle = self.text.casefold()
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("casefold(prompt) LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if self.status is not None:
            clauses.append("status = ?")
            params.append(self.status)
        if self.errors_only:
            clauses.append("status = 'error'")
        if self.since is not None:
            clauses.append("created_at >= ?")
            params.append(to_utc_iso(self.since))
        if self.until is not None:
            if isinstance(self.until, date) and not isinstance(self.until, datetime):
                clauses.append("created_at < ?")
                params.append(to_utc_iso(self.until + timedelta(days=1)))
            else:
                clauses.append("created_at <= ?")
                params.append(to_utc_iso(self.until))
        if self.aspect_ratios is not None:
            clauses.append("aspect_ratio IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(self.aspect_ratios)))
        if self.raw is not None:
            clauses.append("raw = ?")
            params.append(int(bool(self.raw)))
        for name in ("backend", "session_id", "group_id"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"{name} = ?")
                params.append(value)
        if self.min_rating is not None:
            clauses.append("rating >= ?")
            params.append(int(self.min_rating))
        if self.ids is not None:
            clauses.append("id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(self.ids)))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_FILTER_FIELDS = frozenset(f.name for f in fields(LogFilter))


def _make_filter(filt: LogFilter | None, kwargs: dict[str, Any]) -> LogFilter:
    unknown = sorted(set(kwargs) - _FILTER_FIELDS)
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(unknown)}")
    base = filt or LogFilter()
    if not kwargs:
        return base
    merged = {f: getattr(base, f) for f in _FILTER_FIELDS}
    merged.update(kwargs)
    return LogFilter(**merged)


# --------------------------------------------------------------------------- store


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows added, rows whose id was already there, rows refused."""

    added: int = 0
    already_present: int = 0
    rejected: int = 0
    problems: tuple[str, ...] = field(default_factory=tuple)


class LogFingerprint(NamedTuple):
    """The state of the whole log in a few numbers (see LogStore.fingerprint)."""

    rows: int
    last_rowid: int | None
    newest: str | None
    rating_weight: float  # sum of rating * rowid: moves when any row's rating changes
    rated: int
    note_chars: float
    notes: int


_INHERITED: list[sqlite3.Connection] = []


class _Handle:
    """One thread's connection; closed when the thread (and so its handle) goes away."""

    __slots__ = ("conn", "pid", "__weakref__")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn: sqlite3.Connection | None = conn
        self.pid = os.getpid()

    def close(self) -> None:
        if self.conn is not None:
            if self.pid == os.getpid():
                self.conn.close()
            else:
                # Inherited through fork: closing (even by garbage collection) could make
                # SQLite checkpoint and delete the parent's WAL, so keep it alive, unused.
                _INHERITED.append(self.conn)
        self.conn = None

    def __del__(self) -> None:
        with suppress(Exception):
            self.close()


def _resolve_path(path: str | Path | None) -> Path:
    if path is None:
        return paths.db_path()
    text = str(path)
    if text.startswith("sqlite:"):
        if not text.startswith("sqlite:///"):
            raise ValueError(f"expected sqlite:///<file>, got {text!r}")
        text = text[len("sqlite:///") :].split("?", 1)[0]
    if not text or text == ":memory:":
        raise ValueError("LogStore needs a file: an in-memory database is private to a thread")
    return Path(text).expanduser()


class LogStore:
    """The request log on one SQLite file; safe to share between threads and processes.

    Each thread gets its own connection (opening one per call would checkpoint and delete the
    WAL on every close, which costs more than the write itself).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = _resolve_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._handles: weakref.WeakSet[_Handle] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._migrate()

    # ---- connections and transactions

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.create_function("casefold", 1, _casefold, deterministic=True)
        return conn

    def _conn(self) -> sqlite3.Connection:
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is None or handle.conn is None or handle.pid != os.getpid():
            handle = _Handle(self._connect())
            self._local.handle = handle
            with self._lock:
                self._handles.add(handle)
        assert handle.conn is not None
        return handle.conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front (no upgrades
        that could fail half-way), waiting up to the busy timeout for other writers."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close every connection this store opened (in any thread); later calls reopen."""
        with self._lock:
            handles = list(self._handles)
        for handle in handles:
            handle.close()

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- schema

    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring the file up to SCHEMA_VERSION in place, under the write lock so two processes
        opening an old file at once apply each step exactly once."""
        if self.schema_version() < SCHEMA_VERSION:
            with self._write() as conn:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in step:
                        if not self._already_applied(conn, statement):
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {int(number)}")
        present = {r[1] for r in self._conn().execute(f"PRAGMA table_info({TABLE})")}
        missing = [name for name in COLUMNS if name not in present]
        if missing:
            raise RuntimeError(f"{self.path}: log table lacks column(s) {', '.join(missing)}")

    @staticmethod
    def _already_applied(conn: sqlite3.Connection, statement: str) -> bool:
        """ADD COLUMN steps are skipped when the column exists (a file patched by hand)."""
        match = _ADD_COLUMN.match(statement)
        if not match:
            return False
        table, column = match.groups()
        return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))

    # ---- rows

    def append(self, row: Mapping[str, Any]) -> str:
        """Insert one row now, committed before returning; returns its id."""
        _check_names(row)
        values = _encode_row(row)
        try:
            with self._write() as conn:
                conn.execute(_INSERT_SQL, values)
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"id {values[0]!r} is already in the log") from exc
        return values[0]

    def update(self, row_id: str, **fields: Any) -> bool:
        """Change columns of one row (rating, note, or any other but id); False if no such row."""
        _check_names(fields)
        if "id" in fields:
            raise ValueError("id cannot be changed")
        if not fields:
            return self.get(row_id) is not None
        names = list(fields)
        values = [encode_value(name, fields[name]) for name in names]
        if "created_at" in fields and values[names.index("created_at")] is None:
            raise ValueError("created_at cannot be empty")
        assignments = ", ".join(f"{name} = ?" for name in names)
        with self._write() as conn:
            cur = conn.execute(f"UPDATE {TABLE} SET {assignments} WHERE id = ?", [*values, row_id])
            return cur.rowcount > 0

    def get(self, row_id: str) -> dict[str, Any] | None:
        found = (
            self._conn()
            .execute(f"SELECT {_SELECT_COLUMNS} FROM {TABLE} WHERE id = ?", (row_id,))
            .fetchone()
        )
        return None if found is None else _decode_row(found)

    def delete(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Delete rows and return them as they were, so the caller can remove their files."""
        if not ids:
            return []
        id_list = json.dumps(list(ids))
        where = "WHERE id IN (SELECT value FROM json_each(?))"
        with self._write() as conn:
            found = conn.execute(f"SELECT {_SELECT_COLUMNS} FROM {TABLE} {where}", (id_list,))
            rows = [_decode_row(r) for r in found.fetchall()]
            conn.execute(f"DELETE FROM {TABLE} {where}", (id_list,))
        return rows

    # ---- reading

    def query(
        self,
        filt: LogFilter | None = None,
        limit: int | None = None,
        offset: int = 0,
        *,
        columns: Sequence[str] | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """Matching rows, newest first, as a typed frame (see DTYPES).

        `columns` narrows the frame to the ones a caller needs: statistics over 10,000 rows
        read a handful of columns several times faster than all of them.
        """
        names = COLUMNS if columns is None else tuple(dict.fromkeys(columns))
        _check_names(names)
        if not names:
            raise ValueError("columns: name at least one column")
        where, params = _make_filter(filt, filters).where()
        select = _SELECT_COLUMNS if columns is None else ", ".join(names)
        sql = f"SELECT {select} FROM {TABLE}{where} ORDER BY created_at DESC, rowid DESC"
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params += [-1 if limit is None else max(int(limit), 0), max(int(offset), 0)]
        rows = self._conn().execute(sql, params).fetchall()
        return _frame(rows, names)

    def fingerprint(self) -> LogFingerprint:
        """A cheap token (one scan, ~5 ms at 10,000 rows) that changes when rows are added,
        deleted or rated, so pages can cache what they compute from the log. Notes count only
        by number and length: nothing cached is computed from their text."""
        found = self._conn().execute(
            # rating * rowid: which row holds a rating matters, not only the sum of them.
            f"""SELECT COUNT(*), MAX(rowid), MAX(created_at), TOTAL(rating * rowid),
                       COUNT(rating), TOTAL(LENGTH(note)), COUNT(note) FROM {TABLE}"""
        )
        return LogFingerprint(*found.fetchone())

    def count(self, filt: LogFilter | None = None, **filters: Any) -> int:
        where, params = _make_filter(filt, filters).where()
        return int(
            self._conn().execute(f"SELECT COUNT(*) FROM {TABLE}{where}", params).fetchone()[0]
        )

    def groups(self, session_id: str | None = None) -> pd.DataFrame:
        """One row per comparison run: when it started, how many requests, how many failed,
        and the prompt of its first request; newest first."""
        where = "WHERE group_id IS NOT NULL"
        params: list[Any] = []
        if session_id is not None:
            where += " AND session_id = ?"
            params.append(session_id)
        # SQLite takes bare columns (prompt, session_id) from the row holding MIN(created_at).
        sql = f"""
            SELECT group_id, MIN(created_at) AS created_at, prompt, session_id,
                   COUNT(*) AS count, SUM(status = 'ok') AS ok, SUM(status = 'error') AS errors,
                   COUNT(DISTINCT group_label) AS labels
            FROM {TABLE} {where} GROUP BY group_id ORDER BY created_at DESC"""
        rows = self._conn().execute(sql, params).fetchall()
        names = [
            "group_id",
            "created_at",
            "prompt",
            "session_id",
            "count",
            "ok",
            "errors",
            "labels",
        ]
        data = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        out: dict[str, Any] = {}
        for name, values in zip(names, data, strict=True):
            if name == "created_at":
                out[name] = pd.to_datetime(list(values), format="ISO8601", utc=True).as_unit("us")
            elif name in ("count", "ok", "errors", "labels"):
                out[name] = pd.array(list(values), dtype="Int64")
            else:
                out[name] = pd.array(list(values), dtype="string")
        return pd.DataFrame(out, columns=names)

    # ---- export and import

    @staticmethod
    def export(df: pd.DataFrame, fmt: str) -> bytes:
        """A frame (from query(), possibly with columns dropped or added) as csv, parquet or
        json (records, ISO dates). Values round-trip exactly through import_rows(), except
        that CSV cannot tell an empty text from a missing one (both come back missing)."""
        fmt = fmt.lower()
        if fmt == "parquet":
            return _export_parquet(df)
        records = _records(df)
        if fmt == "json":
            return json.dumps(records, ensure_ascii=False, allow_nan=False).encode("utf-8")
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(list(df.columns))
            for record in records:
                writer.writerow([_csv_cell(v) for v in record.values()])
            return buffer.getvalue().encode("utf-8")
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")

    def import_rows(self, data: bytes, fmt: str) -> ImportReport:
        """Merge exported rows by id: new ids are added, known ids left alone, rows without a
        valid id (or with values that do not fit their column) refused. Unknown columns are
        ignored so files from newer versions still import."""
        records = _parse_records(data, fmt.lower())
        good: list[tuple[Any, ...]] = []
        problems: list[str] = []
        for number, record in enumerate(records, start=1):
            try:
                if not isinstance(record, Mapping):
                    raise ValueError("not a record")
                if _is_missing(record.get("id")) or not str(record.get("id")).strip():
                    raise ValueError("no id")
                known = {k: v for k, v in record.items() if k in COLUMN_TYPES}
                good.append(_encode_row(known))
            except ValueError as exc:
                if len(problems) < 20:
                    problems.append(f"row {number}: {exc}")
        rejected = len(records) - len(good)
        if not good:
            return ImportReport(0, 0, rejected, tuple(problems))
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(_INSERT_IGNORE_SQL, good)
            added = conn.total_changes - before
        return ImportReport(added, len(good) - added, rejected, tuple(problems))


def _casefold(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) else None


# --------------------------------------------------------------------------- file formats


def _plain(value: Any) -> Any:
    """A cell of a column the log does not know (or a list item) as a JSON-ready value."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if _is_missing(value):
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
        series = series.astype(KIND_DTYPES[kind])
    return [None if _is_missing(v) else v for v in series.astype(object).tolist()]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [str(c) for c in df.columns]
    data = [_column_values(df.iloc[:, i], COLUMN_TYPES.get(name)) for i, name in enumerate(columns)]
    return [dict(zip(columns, values, strict=True)) for values in zip(*data, strict=True)]


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return value


def _export_parquet(df: pd.DataFrame) -> bytes:
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
            out[name] = out[name].astype(KIND_DTYPES[kind])
    buffer = io.BytesIO()
    out.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _parse_records(data: bytes, fmt: str) -> list[Any]:
    """Rows of an exported file as dicts; ValueError when the file is not that format."""
    try:
        if fmt == "json":
            parsed = json.loads(data.decode("utf-8-sig"))
            if isinstance(parsed, dict) and isinstance(parsed.get("records"), list):
                parsed = parsed["records"]
            if not isinstance(parsed, list):
                raise ValueError("expected a JSON list of records")
            return parsed
        if fmt == "csv":
            reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
            return [
                {k: (None if v == "" else v) for k, v in row.items() if k is not None}
                for row in reader
            ]
        if fmt == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
            return _records(frame)
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise ValueError(f"not a readable {fmt} export: {exc}") from exc
    except Exception as exc:  # pyarrow raises its own error types for non-parquet bytes
        if fmt == "parquet":
            raise ValueError(f"not a readable parquet export: {exc}") from exc
        raise
    raise ValueError(f"unknown import format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
