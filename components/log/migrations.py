"""Numbered schema steps, each applied once and recorded in `studio_migrations`.

Our own numbered steps rather than Alembic: three short functions over SQLAlchemy Core, run on
open in one write transaction, with no env.py, ini file or script folder to ship, and the same
code on SQLite and PostgreSQL. Never edit a shipped step; append one.

A database made before this table existed (a log of an earlier release) is recognised by its
shape: the steps it already has are recorded as found, so nothing in it is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    insert,
    inspect,
    text,
)
from sqlalchemy.schema import CreateIndex, CreateTable

from components.log.schema import (
    COLUMNS,
    INDEXED,
    MADE_BY_INDEX,
    PARENT_INDEX,
    REQUEST_KEY_INDEX,
    SHARING_TABLES,
    TABLE,
    VOTE_TABLES,
    budget_deleted,
    log_columns,
    log_revision,
    presets,
    provider_leases,
    schema_migrations,
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    """The request log as the first release wrote it (no rating or note yet)."""
    shape = MetaData()
    first = COLUMNS[: COLUMNS.index("rating")]
    table = Table(TABLE, shape, *log_columns(first))
    for name in INDEXED:
        Index(f"ix_{TABLE}_{name}", table.c[name])
    shape.create_all(conn, checkfirst=True)


def add_column(conn: Connection, table: str, column: Column[Any]) -> None:
    """ALTER TABLE ... ADD COLUMN, with the type spelled by the connection's own dialect
    (Core has no ALTER construct); skipped when the column is already there."""
    if column.name in {c["name"] for c in inspect(conn).get_columns(table)}:
        return
    prep = conn.dialect.identifier_preparer
    kind = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(
        f"ALTER TABLE {prep.quote(table)} ADD COLUMN {prep.quote(column.name)} {kind}"
    )


def _v2(conn: Connection) -> None:
    """Curation: a star rating and a note per row."""
    add_column(conn, TABLE, Column("rating", Integer))
    add_column(conn, TABLE, Column("note", Text))


def _v3(conn: Connection) -> None:
    """Change counters, so pages can cache on one read (see schema.log_revision)."""
    if not inspect(conn).has_table(log_revision.name):
        conn.execute(CreateTable(log_revision))
        conn.execute(insert(log_revision).values(id=1, rows=0, ratings=0, notes=0, edits=0))


def _v4(conn: Connection) -> None:
    """The provider's inference id, to match a lost answer to its charge later."""
    add_column(conn, TABLE, Column("inference_id", Text))


def _v5(conn: Connection) -> None:
    """Sharing: who made each row, and the tables of presenter settings, budget holds,
    connected visitors and failed sign-ins."""
    add_column(conn, TABLE, Column("made_by", Text))
    names = inspect(conn)
    if MADE_BY_INDEX.name not in {i["name"] for i in names.get_indexes(TABLE)}:
        conn.execute(CreateIndex(MADE_BY_INDEX))
    for table in SHARING_TABLES:
        if not names.has_table(table.name):
            conn.execute(CreateTable(table))


def _v6(conn: Connection) -> None:
    """Votes: the votes, their images, voters and ballots."""
    names = inspect(conn)
    for table in VOTE_TABLES:
        if not names.has_table(table.name):
            conn.execute(CreateTable(table))


def _v7(conn: Connection) -> None:
    """Experiments: where a request went, its reuse key, its parent and how, money saved."""
    for name in ("base_url", "request_key", "parent_id", "lineage"):
        add_column(conn, TABLE, Column(name, Text))
    add_column(conn, TABLE, Column("saved_usd", Float))
    present = {i["name"] for i in inspect(conn).get_indexes(TABLE)}
    for index in (REQUEST_KEY_INDEX, PARENT_INDEX):
        if index.name not in present:
            conn.execute(CreateIndex(index))


def _v8(conn: Connection) -> None:
    """Presets: named, complete requests."""
    if not inspect(conn).has_table(presets.name):
        conn.execute(CreateTable(presets))


def _v9(conn: Connection) -> None:
    """The spending of deleted rows, kept for the day's budget."""
    if not inspect(conn).has_table(budget_deleted.name):
        conn.execute(CreateTable(budget_deleted))


def _v10(conn: Connection) -> None:
    """Provider slots shared by every app process on one database."""
    if not inspect(conn).has_table(provider_leases.name):
        conn.execute(CreateTable(provider_leases))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "request log", _v1),
    Migration(2, "rating and note", _v2),
    Migration(3, "change counters", _v3),
    Migration(4, "inference id", _v4),
    Migration(5, "sharing", _v5),
    Migration(6, "votes", _v6),
    Migration(7, "experiments", _v7),
    Migration(8, "presets", _v8),
    Migration(9, "spending of deleted rows", _v9),
    Migration(10, "shared provider slots", _v10),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
# The advisory lock's number: any constant of our own ("FLUXSTUD" read as 8 ASCII bytes).
MIGRATION_LOCK = int.from_bytes(b"FLUXSTUD", "big") >> 1


def _found_in_place(conn: Connection) -> int:
    """The last step a database made before `studio_migrations` existed already has."""
    names = inspect(conn)
    if not names.has_table(TABLE):
        return 0
    columns = {c["name"] for c in names.get_columns(TABLE)}
    return 2 if {"rating", "note"} <= columns else 1


def applied(conn: Connection) -> int:
    """The newest step recorded (0 for an empty database)."""
    if not inspect(conn).has_table(schema_migrations.name):
        return _found_in_place(conn)
    versions = conn.execute(schema_migrations.select()).all()
    return max((row.version for row in versions), default=0)


def migrate(conn: Connection, upto: int = SCHEMA_VERSION) -> list[int]:
    """Bring the database up to step `upto` inside the caller's write transaction (which
    holds the write lock, so two processes opening an old log at once apply each step once).
    Returns the steps applied now. Tests stop early with `upto` to make older shapes."""
    if conn.dialect.name == "postgresql":
        # A PostgreSQL transaction locks nothing up front: replicas starting together would
        # all create the same tables. This lock (held to the end of the transaction) makes
        # them take turns; the ones after the first find every step recorded.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    done = applied(conn)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if not inspect(conn).has_table(schema_migrations.name):
        conn.execute(CreateTable(schema_migrations))
        for step in MIGRATIONS[:done]:
            conn.execute(
                insert(schema_migrations).values(
                    version=step.version, name=f"{step.name} (found in place)", applied_at=now
                )
            )
    ran = []
    for step in MIGRATIONS[done:upto]:
        step.apply(conn)
        conn.execute(
            insert(schema_migrations).values(version=step.version, name=step.name, applied_at=now)
        )
        ran.append(step.version)
    return ran
