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
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from components import config as paths
from components.log.codec import (
    check_names,
    decode_row,
    encode_row,
    encode_value,
    is_missing,
    to_frame,
)
from components.log.filter import LogFilter, make_filter
from components.log.formats import csv_cell, export_parquet, frame_records, parse_records
from components.log.schema import (
    ADD_COLUMN,
    BUSY_TIMEOUT_S,
    COLUMN_TYPES,
    COLUMNS,
    DTYPES,
    EXPORT_FORMATS,
    INSERT_IGNORE_SQL,
    INSERT_SQL,
    MIGRATIONS,
    SCHEMA_VERSION,
    SELECT_COLUMNS,
    TABLE,
)

__all__ = [
    "COLUMNS",
    "DTYPES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TABLE",
    "ImportReport",
    "LogFilter",
    "LogFingerprint",
    "LogStore",
]


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
        match = ADD_COLUMN.match(statement)
        if not match:
            return False
        table, column = match.groups()
        return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))

    # ---- rows

    def append(self, row: Mapping[str, Any]) -> str:
        """Insert one row now, committed before returning; returns its id."""
        check_names(row)
        values = encode_row(row)
        try:
            with self._write() as conn:
                conn.execute(INSERT_SQL, values)
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"id {values[0]!r} is already in the log") from exc
        return values[0]

    def update(self, row_id: str, **fields: Any) -> bool:
        """Change columns of one row (rating, note, or any other but id); False if no such row."""
        check_names(fields)
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
            .execute(f"SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE id = ?", (row_id,))
            .fetchone()
        )
        return None if found is None else decode_row(found)

    def delete(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Delete rows and return them as they were, so the caller can remove their files."""
        if not ids:
            return []
        id_list = json.dumps(list(ids))
        where = "WHERE id IN (SELECT value FROM json_each(?))"
        with self._write() as conn:
            found = conn.execute(f"SELECT {SELECT_COLUMNS} FROM {TABLE} {where}", (id_list,))
            rows = [decode_row(r) for r in found.fetchall()]
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
        check_names(names)
        if not names:
            raise ValueError("columns: name at least one column")
        where, params = make_filter(filt, filters).where()
        select = SELECT_COLUMNS if columns is None else ", ".join(names)
        sql = f"SELECT {select} FROM {TABLE}{where} ORDER BY created_at DESC, rowid DESC"
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params += [-1 if limit is None else max(int(limit), 0), max(int(offset), 0)]
        rows = self._conn().execute(sql, params).fetchall()
        return to_frame(rows, names)

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
        where, params = make_filter(filt, filters).where()
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
            return export_parquet(df)
        records = frame_records(df)
        if fmt == "json":
            return json.dumps(records, ensure_ascii=False, allow_nan=False).encode("utf-8")
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(list(df.columns))
            for record in records:
                writer.writerow([csv_cell(v) for v in record.values()])
            return buffer.getvalue().encode("utf-8")
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")

    def import_rows(self, data: bytes, fmt: str) -> ImportReport:
        """Merge exported rows by id: new ids are added, known ids left alone, rows without a
        valid id (or with values that do not fit their column) refused. Unknown columns are
        ignored so files from newer versions still import."""
        records = parse_records(data, fmt.lower())
        good: list[tuple[Any, ...]] = []
        problems: list[str] = []
        for number, record in enumerate(records, start=1):
            try:
                if not isinstance(record, Mapping):
                    raise ValueError("not a record")
                if is_missing(record.get("id")) or not str(record.get("id")).strip():
                    raise ValueError("no id")
                known = {k: v for k, v in record.items() if k in COLUMN_TYPES}
                good.append(encode_row(known))
            except ValueError as exc:
                if len(problems) < 20:
                    problems.append(f"row {number}: {exc}")
        rejected = len(records) - len(good)
        if not good:
            return ImportReport(0, 0, rejected, tuple(problems))
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(INSERT_IGNORE_SQL, good)
            added = conn.total_changes - before
        return ImportReport(added, len(good) - added, rejected, tuple(problems))


def _casefold(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) else None
