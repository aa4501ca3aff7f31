"""A database URL to a ready SQLAlchemy engine, or one clear error a person can act on.

The studio's tables work on any database SQLAlchemy speaks; only two things here know SQLite:
the default file URL (made in components/config.py) and the per-connection setup below (WAL,
busy timeout, write transactions that take the lock up front, Unicode case folding in SQL).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Text, create_engine, event, exc, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from components.config import DB_URL
from components.log.schema import BUSY_TIMEOUT_S

# Driver modules a URL may name and the package that brings each, for the "missing driver" hint.
DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
    "pymysql": "PyMySQL",
    "mysqldb": "mysqlclient",
}


class DatabaseURLError(RuntimeError):
    """A database URL the studio cannot use; the text names the setting, never a password."""


def describe(url: URL) -> str:
    """The URL as it may be shown: password replaced by ***."""
    return url.render_as_string(hide_password=True)


def scrub(message: str, url: URL) -> str:
    secret = url.password
    return message.replace(str(secret), "***") if secret else message


class casefold(GenericFunction[str]):
    """Unicode-aware lower case for prompt search: SQLite's own lower() is ASCII-only, so on
    SQLite it calls Python's str.casefold (registered per connection); on PostgreSQL, lower()
    and the two folds it lacks; elsewhere, lower()."""

    type = Text()
    inherit_cache = True


@compiles(casefold)
def _casefold_default(element: casefold, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(casefold, "postgresql")
def _casefold_postgresql(element: casefold, compiler: Any, **kw: Any) -> str:
    # lower() follows the database's locale for most letters; Python's casefold (the needle's)
    # also folds ß to ss and a final sigma to σ, which lower() leaves alone.
    inner = compiler.process(element.clauses, **kw)
    return f"replace(replace(lower({inner}), 'ß', 'ss'), 'ς', 'σ')"


@compiles(casefold, "sqlite")
def _casefold_sqlite(element: casefold, compiler: Any, **kw: Any) -> str:
    return f"casefold({compiler.process(element.clauses, **kw)})"


def _py_casefold(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) else None


def _wal(cursor: Any) -> None:
    """Switch to WAL. Switching an older file needs it to itself, and SQLite answers "locked"
    at once rather than waiting while another connection (a second process opening the same
    old log) holds a lock: try again for as long as the busy timeout would have waited."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The driver's own transaction handling would BEGIN DEFERRED lazily; take control so
        # writes can BEGIN IMMEDIATE (below).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _wal(cursor)
        # FULL: a row is on disk when its commit returns, as the store promises (NORMAL could
        # lose the last commits to a power cut); measured here at +0.13 ms per commit.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()
        dbapi_conn.create_function("casefold", 1, _py_casefold, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A write takes the write lock up front, waiting up to the busy timeout for other
        # writers, instead of failing half-way when a read lock cannot be upgraded.
        write = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def parse(raw: str) -> URL:
    try:
        return make_url(raw)
    except (exc.ArgumentError, ValueError):
        raise DatabaseURLError(
            f"{DB_URL} is not a database URL (expected something like "
            "sqlite:///path/to/studio.db or postgresql+psycopg://user@host/db)."
        ) from None


def open_engine(raw: str | URL) -> Engine:
    """An engine for the URL, checked by connecting once; DatabaseURLError otherwise."""
    url = parse(raw) if isinstance(raw, str) else raw
    shown = describe(url)
    sqlite = url.get_backend_name() == "sqlite"
    kwargs: dict[str, Any] = {}
    if sqlite:
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise DatabaseURLError(
                f"{DB_URL}={shown}: the log needs a file (sqlite:///path/to/studio.db); an "
                "in-memory database would be private to one connection."
            )
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DatabaseURLError(
                f"{DB_URL}={shown}: cannot make the folder for the database ({err.strerror})."
            ) from None
        # Runner threads and page threads share the pool; each checkout is one thread's.
        kwargs = {
            "connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
            "pool_size": 10,
            "max_overflow": 20,
        }
    try:
        engine = create_engine(url, **kwargs)
    except exc.NoSuchModuleError:
        raise DatabaseURLError(
            f"{DB_URL}={shown}: the studio does not know the database kind "
            f"{url.drivername!r}. Use sqlite:///path/to/studio.db (the default) or a URL "
            "SQLAlchemy supports, such as postgresql+psycopg://..."
        ) from None
    except ImportError as err:
        module = (err.name or url.get_driver_name() or "").split(".")[0]
        package = DRIVER_PACKAGES.get(module.lower(), module)
        raise DatabaseURLError(
            f"{DB_URL}={shown}: the driver {module!r} is not installed (pip install {package})."
        ) from None
    if sqlite:
        _sqlite_setup(engine)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except exc.DBAPIError as err:
        engine.dispose()
        reason = scrub(str(err.orig).strip().splitlines()[0] if err.orig else "", url)
        raise DatabaseURLError(
            f"{DB_URL}={shown}: cannot open the database ({reason or type(err).__name__})."
        ) from None
    return engine


# SQLite's busy handler sleeps in growing steps (1, 2, 5 ... 100 ms) while another connection
# holds the write lock, and does not wake when it is freed: four runner threads logging at once
# left the last one waiting 100 ms (measured with bench/latency.py traces), which a person sees
# as a late picture. Writers in one process queue on a lock instead and start the moment it is
# free; other processes still meet at SQLite's own lock.
_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def _forget_writers() -> None:
    # A fork's child must not inherit a lock some thread of the parent held.
    global _WRITERS_GUARD
    _WRITERS.clear()
    _WRITERS_GUARD = threading.Lock()


os.register_at_fork(after_in_child=_forget_writers)


@contextmanager
def _held(lock: threading.RLock) -> Iterator[None]:
    # As long as SQLite itself would wait: a writer stuck behind another process's lock must
    # not hold up this process's writers for longer than their own busy timeout.
    if not lock.acquire(timeout=BUSY_TIMEOUT_S):
        # What SQLAlchemy raises when SQLite's own wait runs out, so callers see one error.
        locked = sqlite3.OperationalError("database is locked")
        raise exc.OperationalError("BEGIN IMMEDIATE", None, locked)
    try:
        yield
    finally:
        lock.release()


@functools.lru_cache(maxsize=64)
def _file_key(database: str) -> str:
    # Resolved once per spelling, not on every write (resolving walks the path on disk).
    return str(Path(database).expanduser().resolve())


def writer_lock(engine: Engine) -> AbstractContextManager[Any]:
    """What a write transaction holds first: the file's in-process lock on SQLite, nothing
    elsewhere (PostgreSQL wakes a waiting writer itself)."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    name = _file_key(engine.url.database or "")
    with _WRITERS_GUARD:
        lock = _WRITERS.setdefault(name, threading.RLock())
    return _held(lock)


def after_fork(engine: Engine, pid: int) -> bool:
    """True (and the pool dropped without closing the parent's connections) when this process
    is a fork of the one that made the engine: a pooled connection must never cross a fork."""
    if pid == os.getpid():
        return False
    engine.dispose(close=False)
    return True
