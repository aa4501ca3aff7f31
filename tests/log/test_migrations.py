"""Schema steps: each one from the version before it, and a log made by the previous release
opened and upgraded in place with nothing lost."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect

from components.log.migrations import MIGRATIONS, SCHEMA_VERSION, applied, migrate
from components.log.schema import COLUMNS, TABLE
from components.log.store import LogStore

FIXTURE = Path(__file__).parent / "fixtures" / "studio-v2.db"


def _made_up_to(url: str, version: int) -> None:
    """A database as the studio's own steps leave it at `version`."""
    engine = create_engine(url)
    with engine.begin() as conn:
        assert migrate(conn, upto=version) == list(range(1, version + 1))
    engine.dispose()


def _shape(url: str) -> tuple[list[str], set[str]]:
    engine = create_engine(url)
    names = inspect(engine)
    columns = [c["name"] for c in names.get_columns(TABLE)] if names.has_table(TABLE) else []
    tables = set(names.get_table_names())
    engine.dispose()
    return columns, tables


@pytest.mark.parametrize("step", [m.version for m in MIGRATIONS])
def test_each_step_from_the_version_before_it(empty_db_url: str, step: int) -> None:
    """On SQLite and on PostgreSQL: the step applies to what the step before left."""
    _made_up_to(empty_db_url, step - 1)
    engine = create_engine(empty_db_url)
    with engine.begin() as conn:
        assert applied(conn) == step - 1
        assert migrate(conn, upto=step) == [step]
        assert applied(conn) == step
        assert migrate(conn, upto=step) == []  # a second run finds nothing to do
    engine.dispose()
    columns, tables = _shape(empty_db_url)
    if step >= 1:
        assert columns[:3] == ["id", "created_at", "session_id"]
    assert ("rating" in columns) == (step >= 2)
    assert ("log_revision" in tables) == (step >= 3)
    assert ("inference_id" in columns) == (step >= 4)
    assert ("made_by" in columns) == (step >= 5)
    assert {"studio_policy", "budget_holds", "studio_visitors", "sign_in_failures"} <= set(
        tables
    ) or step < 5
    assert ({"votes", "vote_items", "vote_voters", "vote_ballots"} <= set(tables)) == (step >= 6)
    assert ("request_key" in columns and "saved_usd" in columns) == (step >= 7)
    assert ("presets" in tables) == (step >= 8)
    assert ("budget_deleted" in tables) == (step >= 9)
    assert ("provider_leases" in tables) == (step >= 10)


def test_every_step_leaves_a_log_the_store_opens(tmp_path: Path) -> None:
    for version in range(SCHEMA_VERSION + 1):
        url = f"sqlite:///{tmp_path / f'v{version}.db'}"
        _made_up_to(url, version)
        with LogStore(url) as store:
            assert store.schema_version() == SCHEMA_VERSION
            store.append({"prompt": f"after v{version}", "rating": 3})
            assert store.count() == 1
        assert _shape(url)[0] == list(COLUMNS)


def test_replicas_starting_at_once_migrate_once(empty_db_url: str) -> None:
    """Several processes opening one new database at the same moment (replicas starting
    together): each step is applied and recorded once, and every one of them opens it."""
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait()
            LogStore(empty_db_url).close()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    engine = create_engine(empty_db_url)
    with engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version FROM studio_migrations").scalars().all()
    engine.dispose()
    assert sorted(versions) == list(range(1, SCHEMA_VERSION + 1))


def test_a_log_from_the_previous_release_opens_in_place_with_nothing_lost(
    tmp_path: Path,
) -> None:
    """tests/log/fixtures/studio-v2.db was written by the sqlite3 store this one replaces
    (40 rows, a rating, a note, a comparison group, schema user_version 2)."""
    db = tmp_path / "studio.db"
    shutil.copy(FIXTURE, db)
    with sqlite3.connect(db) as conn:
        cursor = conn.execute(f"SELECT * FROM {TABLE} ORDER BY id")
        before = cursor.fetchall()
        names = ", ".join(d[0] for d in cursor.description)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    with LogStore(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        frame = store.query()
        assert len(frame) == 40 and store.count(status="error") == 8
        keeper = store.get("row001")
        assert keeper is not None
        assert keeper["rating"] == 4 and keeper["note"] == "the keeper"
        assert keeper["prompt"] == "a lighthouse at dusk, number 1 — café"
        assert keeper["image_paths"] == ["images/2026-10-01/row001_0.jpg"]
        assert keeper["raw"] is False and keeper["enable_safety_checker"] is True
        assert isinstance(frame["created_at"].dtype, pd.DatetimeTZDtype)
        groups = store.groups()
        assert groups["group_id"].tolist() == ["g1"] and int(groups["count"].iloc[0]) == 6
        assert store.count(text="CAFÉ") == 40  # Unicode case folding in SQL
        assert store.update("row002", rating=5)
    with sqlite3.connect(db) as conn:
        after = conn.execute(f"SELECT {names} FROM {TABLE} ORDER BY id").fetchall()
        recorded = conn.execute("SELECT version, name FROM studio_migrations").fetchall()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(after) == 40 and len(changed) == 1 and changed[0][1][0] == "row002"
    assert [v for v, _ in recorded] == list(range(1, SCHEMA_VERSION + 1))
    assert recorded[0][1].endswith("(found in place)") and recorded[1][1].endswith(
        "(found in place)"
    )
    assert "found" not in recorded[2][1]


def test_two_stores_opening_an_old_log_at_once_apply_each_step_once(tmp_path: Path) -> None:
    import threading

    db = tmp_path / "studio.db"
    shutil.copy(FIXTURE, db)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            LogStore(db).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with sqlite3.connect(db) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM studio_migrations")]
    assert sorted(versions) == list(range(1, SCHEMA_VERSION + 1))
