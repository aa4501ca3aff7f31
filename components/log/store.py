"""The session log: one row per request that left the app, read back as pandas frames.

One code path over SQLAlchemy Core, on any database it speaks; the URL comes from
FLUX_STUDIO_DB_URL (default: the SQLite file `studio.db` in the data folder, in WAL mode with
synchronous=FULL). A row is written before its request leaves and completed when it ends, each
write in its own transaction that is on disk when it returns, so a crash or a power cut loses
at most the write under way, and several app processes (or many threads) sharing one database
never lose each other's rows. Reading goes through SQL filters so pages never load more than
they show.

Adding a table (settings, budgets, votes, presets, lineage...):
1. define it in `schema.py` on the same `metadata` (portable types only);
2. append a numbered step to `migrations.py` that creates it (`CreateTable`, `add_column`);
3. give this store (or a small store class beside it taking the same engine) methods that
   build their queries with Core expressions and write inside `self._write()`, so writes are
   transactions with the lock taken up front on SQLite;
4. test the step from the version before it (tests/log/test_migrations.py does it for each).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    delete,
    distinct,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import URL

from components import config
from components.images.store import ImageStore
from components.log import database, migrations
from components.log.codec import (
    check_names,
    decode_row,
    encode_row,
    encode_value,
    is_missing,
    to_frame,
)
from components.log.filter import LogFilter, make_filter
from components.log.formats import export_csv, export_parquet, frame_records, parse_records
from components.log.migrations import MIGRATIONS, SCHEMA_VERSION
from components.log.schema import (
    COLUMN_TYPES,
    COLUMNS,
    DTYPES,
    EXPORT_FORMATS,
    TABLE,
    RowStatus,
    log_revision,
    request_log,
    vote_items,
    votes,
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

# Ids per statement when deleting many rows: far below every database's parameter limit.
DELETE_CHUNK = 500
_LOG = request_log
_NEWEST_FIRST = (_LOG.c.created_at.desc(), _LOG.c.id.desc())


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
    added: int  # bumped by every insert, import and delete
    newest: str | None
    ratings: int  # bumped by every rating change
    rated: int
    notes_changed: int  # bumped by every note change
    notes: int
    edits: int  # bumped by any other change to a row


def to_url(where: str | Path | URL | None) -> URL:
    """What LogStore accepts: a database URL, a SQLite file path, or None for the setting."""
    if where is None:
        setting, _ = config.lookup(config.DB_URL)
        # The default is built from the path, not as text: a folder named "50%20off" or
        # "what?" must open exactly that folder's studio.db.
        where = setting if setting else config.db_path()
    if isinstance(where, URL):
        url = where
    elif "://" in str(where) or str(where).startswith("sqlite:"):
        url = database.parse(str(where))
    else:
        return URL.create("sqlite", database=str(Path(str(where)).expanduser()))
    if url.get_backend_name() == "sqlite" and (url.database or "").startswith("~"):
        url = url.set(database=str(Path(url.database or "").expanduser()))
    return url


class LogStore:
    """The request log on one database; safe to share between threads and processes."""

    def __init__(self, where: str | Path | URL | None = None) -> None:
        self.url = to_url(where)
        # For SQLite, the file (the data folder's panel and cache keys show it).
        self.path: Path | None = (
            Path(self.url.database).expanduser()
            if self.url.get_backend_name() == "sqlite" and self.url.database
            else None
        )
        self.name = str(self.path) if self.path else database.describe(self.url)
        self.engine: Engine = database.open_engine(self.url)
        # SQLite writes BEGIN IMMEDIATE (database.py); other databases lock a row once the
        # counters' table exists (after migrating).
        self._lock_rows = False
        self._pid = os.getpid()
        # Set only on the copies `scoped` makes: whose rows a viewer reads, and may change.
        self.read_scope: str | None = None
        self.write_scope: str | None = None
        self.hide_unrevealed = False
        try:
            self._migrate()
        except (sa_exc.SQLAlchemyError, RuntimeError) as err:
            self.engine.dispose()
            detail = getattr(err, "orig", None) or err
            reason = str(detail).strip().splitlines()[0] if str(detail).strip() else ""
            raise database.DatabaseURLError(
                f"{config.DB_URL}={database.describe(self.url)}: the log could not be opened "
                f"or upgraded ({database.scrub(reason, self.url) or type(err).__name__})."
            ) from None

    def scoped(
        self, *, read: str | None, write: str | None, hide_unrevealed: bool = True
    ) -> LogStore:
        """This store as one viewer sees it (same engine): reads limited to rows `made_by`
        `read` (None: every row) and changes to rows made by `write` (None: any row); rows
        in a vote not yet revealed are hidden (their prompts would give the vote away). The
        limit lives in the SQL, so no page can forget it; imports need an unscoped store."""
        view = copy.copy(self)
        view.read_scope, view.write_scope = read, write
        view.hide_unrevealed = hide_unrevealed
        return view

    def _reads(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.read_scope is not None:
            out.append(_LOG.c.made_by == self.read_scope)
        if self.hide_unrevealed:
            voted = (
                select(vote_items.c.row_id)
                .join(votes, votes.c.id == vote_items.c.vote_id)
                .where(votes.c.status != "revealed")
            )
            out.append(_LOG.c.id.not_in(voted))
        return out

    def _writes(self) -> list[ColumnElement[bool]]:
        return [] if self.write_scope is None else [_LOG.c.made_by == self.write_scope]

    def hidden_token(self) -> str:
        """Changes whenever the rows this view hides for votes change (a vote started or
        revealed), for cache keys: the log's fingerprint does not see votes."""
        if not self.hide_unrevealed:
            return ""
        with self._reader() as conn:
            ids = conn.execute(
                select(votes.c.id).where(votes.c.status != "revealed").order_by(votes.c.id)
            ).scalars()
            return ",".join(ids)

    def reader(self) -> Connection:
        """A connection for reading (the sharing tables use the log's database too)."""
        return self._reader()

    def transaction(self) -> AbstractContextManager[Connection]:
        """One write transaction, locked as every log write is (see `_write`)."""
        return self._write()

    def _reader(self) -> Connection:
        if database.after_fork(self.engine, self._pid):
            self._pid = os.getpid()
        return self.engine.connect()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite: the lock is taken up front,
        waiting up to the busy timeout for other writers, so it never fails half-way)."""
        if database.after_fork(self.engine, self._pid):
            self._pid = os.getpid()
        with (
            database.writer_lock(self.engine),
            self.engine.connect().execution_options(write=True) as conn,
            conn.begin(),
        ):
            if self._lock_rows:
                # Elsewhere than SQLite a transaction takes no lock up front: the counters' row
                # is the lock, so writers (and "which ids are new" in an import) go one at a
                # time there too.
                conn.execute(
                    select(log_revision.c.id).where(log_revision.c.id == 1).with_for_update()
                )
            yield conn

    def upload_notes(self) -> list[tuple[str, list[str]]]:
        """Rows whose images are not in the bucket yet (components/runner.py UPLOAD_PENDING),
        with their image and thumbnail paths."""
        query = select(_LOG.c.id, _LOG.c.image_paths, _LOG.c.thumb_paths).where(
            _LOG.c.error_message.like("Not in the bucket yet%")
        )
        with self._reader() as conn:
            rows = conn.execute(query).all()
        out = []
        for values in rows:
            row = decode_row(values, ("id", "image_paths", "thumb_paths"))
            paths = [*row["image_paths"], *row["thumb_paths"]]
            out.append((str(row["id"]), [str(p) for p in paths]))
        return out

    def close(self) -> None:
        """Close every pooled connection; later calls reopen."""
        self.engine.dispose()

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        with self._reader() as conn:
            return migrations.applied(conn)

    def _migrate(self) -> None:
        with self._reader() as conn:
            current = migrations.applied(conn)
        if current < SCHEMA_VERSION:
            with self._write() as conn:
                migrations.migrate(conn)
        self._lock_rows = self.engine.dialect.name != "sqlite"
        with self._reader() as conn:
            present = {c["name"] for c in sa_inspect(conn).get_columns(TABLE)}
        missing = [name for name in COLUMNS if name not in present]
        if missing:
            raise RuntimeError(f"{self.name}: log table lacks column(s) {', '.join(missing)}")

    @staticmethod
    def _bump(conn: Connection, **counters: bool) -> None:
        """Move the change counters named (rows, ratings, notes, edits) in this transaction."""
        moved = {name: log_revision.c[name] + 1 for name, on in counters.items() if on}
        if moved:
            conn.execute(update(log_revision).where(log_revision.c.id == 1).values(**moved))

    def append(self, row: Mapping[str, Any]) -> str:
        """Insert one row now, committed before returning; returns its id."""
        check_names(row)
        values = dict(zip(COLUMNS, encode_row(row), strict=True))
        if self.write_scope is not None:
            values["made_by"] = self.write_scope  # a viewer's rows are always theirs
        try:
            with self._write() as conn:
                conn.execute(insert(_LOG), values)
                self._bump(conn, rows=True)
        except sa_exc.IntegrityError as err:
            raise ValueError(f"id {values['id']!r} is already in the log") from err
        return values["id"]

    def update(self, row_id: str, **fields: Any) -> bool:
        """Change columns of one row (rating, note, or any other but id); False if no such row."""
        check_names(fields)
        if "id" in fields:
            raise ValueError("id cannot be changed")
        if "made_by" in fields and self.write_scope is not None:
            raise PermissionError("who made a row is not a viewer's to change")
        if not fields:
            return self.get(row_id) is not None
        values = {name: encode_value(name, value) for name, value in fields.items()}
        if "created_at" in values and values["created_at"] is None:
            raise ValueError("created_at cannot be empty")
        with self._write() as conn:
            found = conn.execute(
                update(_LOG).where(_LOG.c.id == row_id, *self._writes()).values(**values)
            )
            changed = found.rowcount > 0
            if changed:
                others = set(values) - {"rating", "note"}
                self._bump(
                    conn,
                    ratings="rating" in values,
                    notes="note" in values,
                    edits=bool(others),
                    rows="created_at" in values,
                )
        return changed

    def get(self, row_id: str) -> dict[str, Any] | None:
        with self._reader() as conn:
            found = conn.execute(select(_LOG).where(_LOG.c.id == row_id, *self._reads())).first()
        return None if found is None else decode_row(tuple(found))

    def delete(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Delete rows and return them as they were, so the caller can remove their files."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        rows: list[dict[str, Any]] = []
        if not wanted:
            return rows
        with self._write() as conn:
            for start in range(0, len(wanted), DELETE_CHUNK):
                chunk = wanted[start : start + DELETE_CHUNK]
                mine = (_LOG.c.id.in_(chunk), *self._writes())
                found = conn.execute(select(_LOG).where(*mine)).all()
                rows.extend(decode_row(tuple(r)) for r in found)
                conn.execute(delete(_LOG).where(*mine))
            self._bump(conn, rows=bool(rows))
        return rows

    def reusable(self, request_key: str, seed: int, limit: int = 5) -> list[dict[str, Any]]:
        """Earlier successful rows with this reuse key that used this seed, newest first
        (their files may be gone: the caller checks)."""
        stmt = (
            select(_LOG)
            .where(
                _LOG.c.request_key == request_key,
                _LOG.c.seed == int(seed),
                _LOG.c.status == RowStatus.OK.value,
                *self._reads(),
            )
            .order_by(*_NEWEST_FIRST)
            .limit(limit)
        )
        with self._reader() as conn:
            return [decode_row(tuple(r)) for r in conn.execute(stmt).all()]

    def lineage(
        self, row_id: str, columns: Sequence[str] = COLUMNS, max_rows: int = 1000
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A row's ancestors (its parent first, then the parent's parent...) and its
        descendants (breadth first, each with `_depth`), as far as this view may read."""
        names = tuple(dict.fromkeys(("id", "parent_id", *columns)))
        check_names(names)
        chosen = [_LOG.c[n] for n in names]
        ancestors: list[dict[str, Any]] = []
        seen = {row_id}
        with self._reader() as conn:
            current = conn.execute(
                select(_LOG.c.parent_id).where(_LOG.c.id == row_id, *self._reads())
            ).scalar()
            while current and current not in seen and len(ancestors) < 100:
                found = conn.execute(
                    select(*chosen).where(_LOG.c.id == current, *self._reads())
                ).first()
                if found is None:
                    break
                row = decode_row(tuple(found), names)
                ancestors.append(row)
                seen.add(current)
                current = row.get("parent_id")
            descendants: list[dict[str, Any]] = []
            frontier, depth = [row_id], 1
            while frontier and len(descendants) < max_rows:
                found_rows = conn.execute(
                    select(*chosen)
                    .where(_LOG.c.parent_id.in_(frontier), *self._reads())
                    .order_by(_LOG.c.created_at, _LOG.c.id)
                ).all()
                frontier = []
                for raw in found_rows:
                    row = decode_row(tuple(raw), names)
                    if row["id"] in seen:
                        continue  # a loop in hand-edited data: never twice
                    seen.add(row["id"])
                    descendants.append({**row, "_depth": depth})
                    frontier.append(row["id"])
                depth += 1
        return ancestors, descendants[:max_rows]

    def recent_prompts(self, limit: int = 50, scan: int = 1000) -> list[str]:
        """The last distinct prompts sent (that this view may read), newest first, from the
        newest `scan` rows: it runs on every rerun of Generate and Compare, so it walks the
        created_at index instead of grouping the whole log (about 6 ms at 10,000 rows)."""
        stmt = (
            select(_LOG.c.prompt)
            .where(_LOG.c.prompt.is_not(None), _LOG.c.prompt != "", *self._reads())
            .order_by(*_NEWEST_FIRST)
            .limit(scan)
        )
        with self._reader() as conn:
            prompts = conn.execute(stmt).scalars()
            return list(dict.fromkeys(str(p) for p in prompts))[:limit]

    def unused_paths(self, paths: Sequence[str]) -> list[str]:
        """The given image or thumbnail paths that no row names any more, so deleting rows
        removes only files nobody else uses (an imported row may name another row's file).
        Reads both path columns of every row: deleting is rare, and a text search in SQL
        could miss a path that JSON escapes differently."""
        wanted = list(dict.fromkeys(p for p in paths if p))
        if not wanted:
            return []
        canonical = ImageStore.canonical
        used: set[str] = set()
        with self._reader() as conn:
            found = conn.execute(select(_LOG.c.image_paths, _LOG.c.thumb_paths))
            for images, thumbs in found:
                row = decode_row((images, thumbs), ("image_paths", "thumb_paths"))
                used.update(canonical(p) for p in row["image_paths"])
                used.update(canonical(p) for p in row["thumb_paths"])
        return [p for p in wanted if canonical(p) not in used]

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
        stmt = (
            select(*(_LOG.c[n] for n in names))
            .where(*make_filter(filt, filters).conditions(_LOG), *self._reads())
            .order_by(*_NEWEST_FIRST)
        )
        if limit is not None:
            stmt = stmt.limit(max(int(limit), 0))
        if offset:
            stmt = stmt.offset(max(int(offset), 0))
        with self._reader() as conn:
            rows = conn.execute(stmt).all()
        return to_frame(rows, names)  # type: ignore[arg-type]  # Rows are tuples

    def fingerprint(self) -> LogFingerprint:
        """A cheap token that changes when rows are added, deleted, rated, annotated or edited,
        so pages can cache what they compute from the log. Notes count only by number and
        change: nothing cached is computed from their text."""
        counts = select(
            func.count(),
            func.max(_LOG.c.created_at),
            func.count(_LOG.c.rating),
            func.count(_LOG.c.note),
        )
        revision = select(
            log_revision.c.rows, log_revision.c.ratings, log_revision.c.notes, log_revision.c.edits
        ).where(log_revision.c.id == 1)
        with self._reader() as conn:
            rows, newest, rated, notes = conn.execute(counts).one()
            added, ratings, notes_changed, edits = conn.execute(revision).one()
        return LogFingerprint(
            int(rows),
            int(added),
            newest,
            int(ratings),
            int(rated),
            int(notes_changed),
            int(notes),
            int(edits),
        )

    def count(self, filt: LogFilter | None = None, **filters: Any) -> int:
        stmt = select(func.count()).select_from(_LOG)
        stmt = stmt.where(*make_filter(filt, filters).conditions(_LOG), *self._reads())
        with self._reader() as conn:
            return int(conn.execute(stmt).scalar_one())

    def groups(self, session_id: str | None = None) -> pd.DataFrame:
        """One row per comparison run: when it started, how many requests, how many failed,
        and the prompt of its first request; newest first."""
        where: list[ColumnElement[bool]] = [_LOG.c.group_id.is_not(None), *self._reads()]
        if session_id is not None:
            where.append(_LOG.c.session_id == session_id)
        first = (
            select(
                _LOG.c.group_id,
                _LOG.c.created_at,
                _LOG.c.prompt,
                _LOG.c.session_id,
                func.row_number()
                .over(partition_by=_LOG.c.group_id, order_by=(_LOG.c.created_at, _LOG.c.id))
                .label("place"),
            )
            .where(*where)
            .subquery()
        )
        totals = (
            select(
                _LOG.c.group_id,
                func.count().label("count"),
                func.sum(case((_LOG.c.status == RowStatus.OK.value, 1), else_=0)).label("ok"),
                func.sum(case((_LOG.c.status == RowStatus.ERROR.value, 1), else_=0)).label(
                    "errors"
                ),
                func.count(distinct(_LOG.c.group_label)).label("labels"),
            )
            .where(*where)
            .group_by(_LOG.c.group_id)
            .subquery()
        )
        stmt = (
            select(
                first.c.group_id,
                first.c.created_at,
                first.c.prompt,
                first.c.session_id,
                totals.c["count"],
                totals.c.ok,
                totals.c.errors,
                totals.c.labels,
            )
            .join_from(first, totals, and_(first.c.group_id == totals.c.group_id))
            .where(first.c.place == 1)
            .order_by(first.c.created_at.desc(), first.c.group_id)
        )
        with self._reader() as conn:
            rows = conn.execute(stmt).all()
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

    @staticmethod
    def export(df: pd.DataFrame, fmt: str) -> bytes:
        """A frame (from query(), possibly with columns dropped or added) as csv, parquet or
        json (records, ISO dates). Values round-trip exactly through import_rows(), except
        that CSV cannot tell an empty text from a missing one (both come back missing)."""
        fmt = fmt.lower()
        if fmt == "parquet":
            return export_parquet(df)
        if fmt == "csv":
            return export_csv(df)
        if fmt == "json":
            records = frame_records(df)
            return json.dumps(records, ensure_ascii=False, allow_nan=False).encode("utf-8")
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")

    def import_rows(self, data: bytes, fmt: str) -> ImportReport:
        """Merge exported rows by id: new ids are added, known ids left alone, rows without a
        valid id (or with values that do not fit their column) refused. Unknown columns are
        ignored so files from newer versions still import."""
        if self.write_scope is not None:
            raise PermissionError("importing rows is the presenter's")
        records = parse_records(data, fmt.lower())
        good: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        rejected = 0
        for number, record in enumerate(records, start=1):
            try:
                if not isinstance(record, Mapping):
                    raise ValueError("not a record")
                if is_missing(record.get("id")) or not str(record.get("id")).strip():
                    raise ValueError("no id")
                known = {k: v for k, v in record.items() if k in COLUMN_TYPES}
                values = dict(zip(COLUMNS, encode_row(known), strict=True))
                good.setdefault(values["id"], values)  # the first of repeated ids wins
            except ValueError as exc:
                rejected += 1
                if len(problems) < 20:
                    problems.append(f"row {number}: {exc}")
        valid = len(records) - rejected
        if not good:
            return ImportReport(0, valid, rejected, tuple(problems))
        with self._write() as conn:
            # Which ids are new is decided inside the write transaction, so no other writer
            # can add one of them in between.
            present: set[str] = set()
            ids = list(good)
            for start in range(0, len(ids), DELETE_CHUNK):
                chunk = ids[start : start + DELETE_CHUNK]
                present.update(
                    conn.execute(select(_LOG.c.id).where(_LOG.c.id.in_(chunk))).scalars()
                )
            fresh = [values for row_id, values in good.items() if row_id not in present]
            if fresh:
                conn.execute(insert(_LOG), fresh)
                self._bump(conn, rows=True)
        return ImportReport(len(fresh), valid - len(fresh), rejected, tuple(problems))
