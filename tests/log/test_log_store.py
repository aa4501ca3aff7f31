"""The session log on real SQLite files: rows, filters, types, concurrency, crashes, migration."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect as sa_inspect

from components.log import store as log_store
from components.log.store import (
    COLUMNS,
    DTYPES,
    MIGRATIONS,
    SCHEMA_VERSION,
    ImportReport,
    LogFilter,
    LogStore,
)

ROOT = Path(__file__).resolve().parents[2]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def full_row(**over: object) -> dict[str, object]:
    """A row with every column set, the way the runner logs a successful request."""
    row: dict[str, object] = {
        "session_id": "sess-1",
        "group_id": "grp-1",
        "group_label": "seed=42",
        "backend": "offline",
        "model": "flux-pro/v1.1-ultra",
        "prompt": "a lighthouse at dusk",
        "seed_requested": 42,
        "seed": 42,
        "aspect_ratio": "16:9",
        "raw": False,
        "safety_tolerance": "2",
        "output_format": "jpeg",
        "num_images": 1,
        "enable_safety_checker": True,
        "status": "ok",
        "error_type": None,
        "error_message": None,
        "http_status": 200,
        "request_id": "req-abc",
        "attempts": 1,
        "request_s": 3.25,
        "download_s": 0.5,
        "total_s": 3.75,
        "width": 2752,
        "height": 1536,
        "nsfw": False,
        "credits_used": 120000.0,
        "cost_usd": 0.06,
        "image_paths": ["images/2026-11-26/abc_0.jpg"],
        "thumb_paths": ["thumbs/2026-11-26/abc_0.jpg"],
        "rating": None,
        "note": None,
        "inference_id": "inf-9f2c",
        "made_by": "viewer-3f2a9c1e",
        "base_url": "https://api.aimlapi.com",
        "request_key": "0f3c9a",
        "parent_id": "row000",
        "lineage": "vary",
        "saved_usd": 0.06,
    }
    row.update(over)
    return row


@pytest.fixture
def store(db_url: str):
    s = LogStore(db_url)
    yield s
    s.close()


def test_append_get_round_trip(store: LogStore) -> None:
    row_id = store.append(full_row())
    assert re.fullmatch(r"[0-9a-f]{32}", row_id)
    got = store.get(row_id)
    assert got is not None
    assert ISO_UTC.fullmatch(got.pop("created_at"))
    assert got.pop("id") == row_id
    assert got == full_row()
    assert list(store.get(row_id)) == list(COLUMNS)


def test_append_keeps_given_id_and_normalises_created_at(store: LogStore) -> None:
    row_id = store.append(
        {"id": "my-id_1", "created_at": "2026-11-26T13:06:16.123456+01:00", "prompt": "x"}
    )
    assert row_id == "my-id_1"
    got = store.get("my-id_1")
    assert got["created_at"] == "2026-11-26T12:06:16.123456+00:00"


def test_missing_columns_are_null(store: LogStore) -> None:
    got = store.get(store.append({"prompt": "only a prompt"}))
    assert got["prompt"] == "only a prompt"
    assert got["seed"] is None and got["raw"] is None and got["rating"] is None
    assert got["image_paths"] == [] and got["thumb_paths"] == []


def test_unknown_keys_rejected_by_name(store: LogStore) -> None:
    with pytest.raises(ValueError, match="bogus.*colour|colour.*bogus"):
        store.append({"prompt": "x", "bogus": 1, "colour": "red"})
    assert store.count() == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"rating": 9},
        {"seed": "not a number"},
        {"raw": "maybe"},
        {"id": "../../etc/passwd"},
        {"id": "has space"},
        {"created_at": "yesterday-ish"},
        {"image_paths": 5},
    ],
)
def test_bad_values_rejected(store: LogStore, bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        store.append(full_row(**bad))
    assert store.count() == 0


def test_duplicate_id_rejected(store: LogStore) -> None:
    store.append({"id": "same", "prompt": "a"})
    with pytest.raises(ValueError, match="already"):
        store.append({"id": "same", "prompt": "b"})
    assert store.get("same")["prompt"] == "a"


def test_update(store: LogStore) -> None:
    row_id = store.append(full_row())
    assert store.update(row_id, rating=4, note="keeper, 'quoted' \"too\"")
    got = store.get(row_id)
    assert got["rating"] == 4 and got["note"] == "keeper, 'quoted' \"too\""
    assert store.update(row_id, rating=None, nsfw=True, seed=7)
    got = store.get(row_id)
    assert got["rating"] is None and got["nsfw"] is True and got["seed"] == 7
    assert store.update("no-such-row", rating=1) is False
    with pytest.raises(ValueError, match="stars"):
        store.update(row_id, stars=5)
    with pytest.raises(ValueError, match="rating"):
        store.update(row_id, rating=6)
    with pytest.raises(ValueError, match="id"):
        store.update(row_id, id="other")


def test_sqlite_url_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "studio.db"
    with LogStore(f"sqlite:///{db}") as s:
        s.append({"prompt": "x"})
    assert db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert LogStore(db).count() == 1


def test_default_path_is_the_data_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLUX_STUDIO_DATA_DIR", str(tmp_path / "data"))
    s = LogStore()
    assert s.path == tmp_path / "data" / "studio.db"
    s.close()


def test_query_dtypes(store: LogStore) -> None:
    store.append(full_row())
    store.append({"prompt": "sparse"})
    df = store.query()
    assert list(df.columns) == list(COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == DTYPES
    assert str(df["created_at"].dtype).startswith("datetime64[") and "UTC" in str(
        df["created_at"].dtype
    )
    for name in ("seed_requested", "seed", "http_status", "attempts", "width", "height"):
        assert str(df[name].dtype) == "Int64"
    for name in ("num_images", "rating"):
        assert str(df[name].dtype) == "Int64"
    for name in ("raw", "enable_safety_checker", "nsfw"):
        assert str(df[name].dtype) == "boolean"
    for name in ("request_s", "download_s", "total_s", "credits_used", "cost_usd"):
        assert str(df[name].dtype) == "float64"
    assert df["image_paths"].tolist() == [[], ["images/2026-11-26/abc_0.jpg"]]
    assert df["seed"].isna().tolist() == [True, False]


def test_empty_query_keeps_dtypes(store: LogStore) -> None:
    df = store.query()
    assert df.empty and list(df.columns) == list(COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == DTYPES


def test_newest_first_and_paging(store: LogStore) -> None:
    base = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    order = [3, 0, 4, 1, 2]
    for n in order:
        store.append({"id": f"r{n}", "created_at": base + timedelta(minutes=n), "prompt": "p"})
    # Same moment: the later insert comes first.
    store.append({"id": "tie_a", "created_at": base + timedelta(minutes=9), "prompt": "p"})
    store.append({"id": "tie_b", "created_at": base + timedelta(minutes=9), "prompt": "p"})
    ids = store.query()["id"].tolist()
    assert ids == ["tie_b", "tie_a", "r4", "r3", "r2", "r1", "r0"]
    assert store.query(limit=2)["id"].tolist() == ["tie_b", "tie_a"]
    assert store.query(limit=2, offset=2)["id"].tolist() == ["r4", "r3"]
    assert store.query(offset=5)["id"].tolist() == ["r1", "r0"]
    assert store.count() == 7


@pytest.fixture
def filled(store: LogStore) -> LogStore:
    base = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    prompts = {
        "pct": "100% cat",
        "pct2": "100 percent cat",
        "und": "snake_case name",
        "und2": "snakeXcase name",
        "quo": "say \"hi\" it's O'Brien's; DROP TABLE request_log; --",
        "uni": "ÜNÏCODE Straße",
        "bsl": "back\\slash",
    }
    for day, (row_id, prompt) in enumerate(prompts.items()):
        store.append(
            full_row(
                id=row_id,
                prompt=prompt,
                created_at=base + timedelta(days=day),
                status="error" if day % 3 == 0 else "ok",
                aspect_ratio=["16:9", "1:1", "9:16"][day % 3],
                raw=day % 2 == 1,
                backend="aimlapi" if day < 2 else "offline",
                session_id=f"s{day % 2}",
                group_id=f"g{day // 3}",
                rating=day % 6 if day else None,
            )
        )
    return store


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"text": "100%"}, {"pct"}),
        ({"text": "e_c"}, {"und"}),
        ({"text": "CAT"}, {"pct", "pct2"}),
        ({"text": "\"hi\" it's o'brien"}, {"quo"}),
        ({"text": "drop table request_log;"}, {"quo"}),
        ({"text": "ünïcode STRASSE"}, {"uni"}),
        ({"text": "k\\s"}, {"bsl"}),
        ({"text": "%"}, {"pct"}),
        ({"text": "_"}, {"und", "quo"}),
        ({"text": "nothing like this"}, set()),
        ({"status": "error"}, {"pct", "und2", "bsl"}),
        ({"errors_only": True}, {"pct", "und2", "bsl"}),
        ({"status": "ok"}, {"pct2", "und", "quo", "uni"}),
        ({"since": "2026-11-24T12:00:00+00:00"}, {"quo", "uni", "bsl"}),
        ({"since": datetime(2026, 11, 24, 13, 0)}, {"uni", "bsl"}),
        ({"until": datetime(2026, 11, 21, 12, 0, tzinfo=UTC)}, {"pct", "pct2"}),
        ({"until": date(2026, 11, 21)}, {"pct", "pct2"}),
        ({"since": date(2026, 11, 22), "until": date(2026, 11, 23)}, {"und", "und2"}),
        ({"aspect_ratios": ["1:1", "9:16"]}, {"pct2", "und", "quo", "uni"}),
        ({"aspect_ratios": ["1:1"]}, {"pct2", "quo"}),
        ({"aspect_ratios": []}, set()),
        ({"raw": True}, {"pct2", "und2", "uni"}),
        ({"raw": False}, {"pct", "und", "quo", "bsl"}),
        ({"backend": "aimlapi"}, {"pct", "pct2"}),
        ({"session_id": "s1"}, {"pct2", "und2", "uni"}),
        ({"group_id": "g1"}, {"und2", "quo", "uni"}),
        ({"min_rating": 3}, {"und2", "quo", "uni"}),
        ({"min_rating": 0}, {"pct2", "und", "und2", "quo", "uni", "bsl"}),
        ({"ids": ["pct", "uni", "missing"]}, {"pct", "uni"}),
        ({"ids": []}, set()),
        ({"status": "ok", "raw": True, "backend": "offline"}, {"uni"}),
        ({}, {"pct", "pct2", "und", "und2", "quo", "uni", "bsl"}),
    ],
)
def test_filters(filled: LogStore, filters: dict[str, object], expected: set[str]) -> None:
    by_kwargs = filled.query(**filters)
    by_object = filled.query(LogFilter(**filters))
    assert set(by_kwargs["id"]) == expected
    assert by_object["id"].tolist() == by_kwargs["id"].tolist()
    assert filled.count(**filters) == len(expected)
    assert filled.count(LogFilter(**filters)) == len(expected)
    times = by_kwargs["created_at"].tolist()
    assert times == sorted(times, reverse=True)


def test_filter_object_merges_with_kwargs(filled: LogStore) -> None:
    filt = LogFilter(status="ok")
    assert set(filled.query(filt, raw=True)["id"]) == {"pct2", "uni"}
    assert filt == LogFilter(status="ok")  # untouched
    with pytest.raises(TypeError, match="colour"):
        filled.query(colour="red")
    assert hash(LogFilter(ids=["a", "b"])) == hash(LogFilter(ids=("a", "b")))


def test_groups(store: LogStore) -> None:
    base = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    for n, (group, status) in enumerate([("g1", "ok"), ("g1", "error"), ("g2", "ok")]):
        store.append(
            full_row(
                group_id=group,
                group_label=f"seed={n}",
                status=status,
                prompt=f"prompt {n}",
                created_at=base + timedelta(minutes=n),
                session_id="A" if group == "g1" else "B",
            )
        )
    store.append(full_row(group_id=None))
    g = store.groups()
    assert g["group_id"].tolist() == ["g2", "g1"]
    assert g["count"].tolist() == [1, 2]
    assert g["errors"].tolist() == [0, 1]
    assert g["prompt"].tolist() == ["prompt 2", "prompt 0"]
    assert str(g["created_at"].dtype) == "datetime64[us, UTC]"
    assert store.groups(session_id="A")["group_id"].tolist() == ["g1"]


def test_delete_returns_rows(store: LogStore) -> None:
    keep = store.append(full_row(prompt="keep"))
    gone = [store.append(full_row(prompt=f"gone {n}")) for n in range(3)]
    rows = store.delete([*gone, "not-there"])
    assert sorted(r["id"] for r in rows) == sorted(gone)
    assert all(r["image_paths"] == ["images/2026-11-26/abc_0.jpg"] for r in rows)
    assert store.query()["id"].tolist() == [keep]
    assert store.delete([]) == []
    assert store.delete(gone) == []


def _varied_rows() -> list[dict[str, object]]:
    base = datetime(2026, 11, 26, 11, 6, 16, 123456, tzinfo=UTC)
    return [
        full_row(created_at=base, rating=5, note="best one"),
        full_row(
            created_at=base + timedelta(seconds=1),
            prompt='multi\nline, "quoted", comma; ünïcode ✓ and 100% _under_',
            seed_requested=None,
            seed=2**53 - 1,
            raw=True,
            nsfw=None,
            enable_safety_checker=False,
            request_s=0.1 + 0.2,
            total_s=1e-7,
            image_paths=["images/a/x_0.png", "images/a/x_1.png"],
            thumb_paths=["thumbs/a/x_0.jpg", "thumbs/a/x_1.jpg"],
            rating=0,
        ),
        full_row(
            created_at=base + timedelta(seconds=2),
            status="error",
            error_type="rate_limit",
            error_message="429: slow down",
            http_status=429,
            attempts=3,
            seed=None,
            width=None,
            height=None,
            credits_used=None,
            cost_usd=None,
            download_s=None,
            image_paths=[],
            thumb_paths=[],
        ),
        {"prompt": "sparse row", "created_at": base + timedelta(seconds=3)},
    ]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_export_import_round_trip(tmp_path: Path, fmt: str) -> None:
    source = LogStore(tmp_path / "a.db")
    for row in _varied_rows():
        source.append(row)
    original = source.query()
    data = LogStore.export(original, fmt)
    assert isinstance(data, bytes) and data

    fresh = LogStore(tmp_path / "b.db")
    report = fresh.import_rows(data, fmt)
    assert report == ImportReport(added=4, already_present=0, rejected=0)
    pd.testing.assert_frame_equal(fresh.query(), original)
    for row_id in original["id"]:
        assert fresh.get(row_id) == source.get(row_id)

    again = fresh.import_rows(data, fmt)
    assert (again.added, again.already_present, again.rejected) == (0, 4, 0)
    assert fresh.count() == 4


def test_json_export_is_records_with_iso_dates(store: LogStore) -> None:
    store.append(full_row(created_at="2026-11-26T11:06:16.123456+00:00"))
    records = json.loads(LogStore.export(store.query(), "json"))
    assert records[0]["created_at"] == "2026-11-26T11:06:16.123456+00:00"
    assert records[0]["image_paths"] == ["images/2026-11-26/abc_0.jpg"]
    assert records[0]["raw"] is False and records[0]["rating"] is None


def test_export_of_a_subset_of_columns(tmp_path: Path, store: LogStore) -> None:
    store.append(full_row(rating=3))
    df = store.query()[["id", "created_at", "prompt", "rating"]]
    fresh = LogStore(tmp_path / "subset.db")
    assert fresh.import_rows(LogStore.export(df, "csv"), "csv").added == 1
    got = fresh.query()
    assert got["rating"].tolist() == [3] and got["seed"].isna().all()


def test_import_merges_rejects_and_ignores_unknown_columns(store: LogStore) -> None:
    store.append({"id": "known", "prompt": "already here"})
    records = [
        {"id": "known", "prompt": "changed?"},
        {"id": "new1", "prompt": "new", "future_column": {"nested": True}},
        {"prompt": "no id"},
        {"id": "", "prompt": "empty id"},
        {"id": "../escape", "prompt": "bad id"},
        {"id": "bad-rating", "rating": 11},
        "not even a record",
    ]
    report = store.import_rows(json.dumps(records).encode(), "json")
    assert (report.added, report.already_present, report.rejected) == (1, 1, 5)
    assert report.problems
    assert store.get("known")["prompt"] == "already here"
    assert store.get("new1")["prompt"] == "new"
    assert store.count() == 2


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_import_garbage_raises_value_error(store: LogStore, fmt: str) -> None:
    with pytest.raises(ValueError):
        store.import_rows(b"\x00\xff\xfe garbage \x89PNG", fmt)
    assert store.count() == 0


def test_unknown_formats(store: LogStore) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        LogStore.export(store.query(), "xlsx")
    with pytest.raises(ValueError, match="xlsx"):
        store.import_rows(b"[]", "xlsx")


def test_fresh_file_has_every_column_in_order(store: LogStore) -> None:
    with store.engine.connect() as conn:
        shape = sa_inspect(conn)
        cols = [c["name"] for c in shape.get_columns(log_store.TABLE)]
        indexes = {i["name"] for i in shape.get_indexes(log_store.TABLE)}
        steps = sorted(conn.exec_driver_sql("SELECT version FROM studio_migrations").scalars())
    assert cols == list(COLUMNS)
    assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    assert steps == list(range(1, SCHEMA_VERSION + 1))
    for name in ("created_at", "session_id", "group_id", "status"):
        assert f"ix_{log_store.TABLE}_{name}" in indexes


def test_opening_a_v1_file_upgrades_it_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # what version 1 of the app wrote, by hand
        conn.execute(
            """CREATE TABLE request_log (
                id TEXT PRIMARY KEY NOT NULL, created_at TEXT NOT NULL, session_id TEXT,
                group_id TEXT, group_label TEXT, backend TEXT, model TEXT, prompt TEXT,
                seed_requested INTEGER, seed INTEGER, aspect_ratio TEXT, raw INTEGER,
                safety_tolerance TEXT, output_format TEXT, num_images INTEGER,
                enable_safety_checker INTEGER, status TEXT, error_type TEXT, error_message TEXT,
                http_status INTEGER, request_id TEXT, attempts INTEGER, request_s REAL,
                download_s REAL, total_s REAL, width INTEGER, height INTEGER, nsfw INTEGER,
                credits_used REAL, cost_usd REAL, image_paths TEXT, thumb_paths TEXT)"""
        )
        conn.execute(
            "INSERT INTO request_log (id, created_at, session_id, prompt, seed, raw, status,"
            " image_paths) VALUES ('old1', '2025-01-02T03:04:05.000006+00:00', 's',"
            " 'from the old days', 7, 1, 'ok', '[\"images/2025-01-02/old1_0.jpg\"]')"
        )
        conn.execute("PRAGMA user_version = 1")
        cols = [r[1] for r in conn.execute("PRAGMA table_info(request_log)")]
    assert "rating" not in cols and "note" not in cols
    # Step 1 of today's history must not touch the old table; later steps add what is missing.
    store = LogStore(db)
    assert store.schema_version() == SCHEMA_VERSION
    got = store.get("old1")
    assert got is not None
    assert got["prompt"] == "from the old days" and got["seed"] == 7 and got["raw"] is True
    assert got["image_paths"] == ["images/2025-01-02/old1_0.jpg"]
    assert got["rating"] is None and got["note"] is None and got["width"] is None
    df = store.query()
    assert df["id"].tolist() == ["old1"] and str(df["rating"].dtype) == "Int64"
    assert store.update("old1", rating=5, note="rated after upgrade")
    store.append(full_row())
    assert store.count() == 2
    store.close()
    reopened = LogStore(db).get("old1")  # reopening is a no-op
    assert reopened is not None and reopened["rating"] == 5


def _append_worker(db: str, tag: str, count: int) -> None:
    """Runs in a spawned process: one app process logging requests."""
    store = LogStore(db)
    for n in range(count):
        store.append(full_row(session_id=tag, prompt=f"{tag} {n}"))
    store.close()


def _append_in_threads(db: Path, threads: int, per_thread: int) -> None:
    store = LogStore(db)
    errors: list[BaseException] = []

    def work(tag: str) -> None:
        try:
            for n in range(per_thread):
                store.append(full_row(session_id=tag, prompt=f"{tag} {n}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(f"t{k}",)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    store.close()
    assert not errors


def test_threads_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    _append_in_threads(db, threads=8, per_thread=200)
    df = LogStore(db).query()
    assert len(df) == 1600 and df["id"].is_unique
    assert df.groupby("session_id").size().to_dict() == {f"t{k}": 200 for k in range(8)}


def test_processes_and_threads_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    LogStore(db).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_worker, args=(str(db), f"p{k}", 200)) for k in range(2)]
    for p in procs:
        p.start()
    _append_in_threads(db, threads=8, per_thread=200)
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    df = LogStore(db).query()
    assert len(df) == 2 * 200 + 8 * 200
    assert df["id"].is_unique
    sizes = df.groupby("session_id").size().to_dict()
    assert sizes == {**{f"p{k}": 200 for k in range(2)}, **{f"t{k}": 200 for k in range(8)}}


_OPEN_TRANSACTION_SCRIPT = """
import sqlite3, sys, time
sys.path.insert(0, {root!r})
from components.log.store import LogStore
store = LogStore({db!r})
for n in range(50):
    store.append({{"prompt": f"committed {{n}}"}})
conn = sqlite3.connect({db!r}, isolation_level=None)
conn.execute("PRAGMA cache_size = 1")  # tiny cache: uncommitted pages spill into the WAL
conn.execute("BEGIN IMMEDIATE")
for n in range(3000):
    conn.execute(
        "INSERT INTO request_log (id, created_at, prompt) VALUES (?, ?, ?)",
        (f"uncommitted{{n}}", "2026-01-01T00:00:00.000000+00:00", "y" * 2000),
    )
print("ready", flush=True)
time.sleep(120)
"""

_BUSY_WRITER_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from components.log.store import LogStore
store = LogStore({db!r})
n = 0
while True:
    store.append({{"prompt": "x" * 3000, "note": str(n)}})
    n += 1
    print(n, flush=True)
"""


def _spawn(script: str, db: Path) -> subprocess.Popen[str]:
    code = script.format(root=str(ROOT), db=str(db))
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, bufsize=1
    )


def _assert_healthy(db: Path) -> LogStore:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = LogStore(db)
    store.append({"prompt": "after the crash"})  # the dead writer's lock is gone
    return store


def test_killed_writer_with_open_transaction_leaves_file_readable(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    proc = _spawn(_OPEN_TRANSACTION_SCRIPT, db)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        assert (tmp_path / "studio.db-wal").stat().st_size > 0
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    store = _assert_healthy(db)
    assert store.count() == 51
    assert store.count(text="uncommitted") == 0
    assert store.count(text="committed") == 50


def test_writer_killed_mid_stream_keeps_every_committed_row(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    proc = _spawn(_BUSY_WRITER_SCRIPT, db)
    last = 0
    try:
        assert proc.stdout is not None
        while last < 300:
            line = proc.stdout.readline()
            assert line, "writer died early"
            last = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    store = _assert_healthy(db)
    assert store.count() - 1 >= last  # every row reported as committed is there


def test_ten_thousand_rows_append_delete_and_load_whole(tmp_path: Path) -> None:
    """At 10,000 rows: appends, a delete by text and a full load keep every row. The times are
    figures for `python -m bench.engine` (append median, 10k-row load), not asserted here: a
    timed bound failed on a busy 2-core CI box (2.1 ms against 2.0)."""
    store = LogStore(tmp_path / "studio.db")
    for n in range(10_000):
        store.append(full_row(prompt=f"prompt number {n}", seed=n + 1))
    for n in range(200):
        store.append(full_row(prompt=f"timed {n}"))
    assert store.count() == 10_200
    store.delete(store.query(text="timed")["id"].tolist())
    df = store.query()
    assert len(df) == 10_000
    assert not df["prompt"].str.startswith("timed").any()


def test_modules_do_not_import_streamlit() -> None:
    code = (
        "import sys; import components.log.store, components.images.store; "
        "sys.exit('streamlit' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_unused_paths_keeps_files_another_row_still_names(store: LogStore) -> None:
    shared = "images/2026-11-26/abc_0.jpg"
    first = store.append(full_row(image_paths=[shared], thumb_paths=["thumbs/a_0.jpg"]))
    store.append(full_row(image_paths=[shared, "images/x_1.jpg"], thumb_paths=[]))
    gone = store.delete([first])
    assert gone[0]["image_paths"] == [shared]
    paths = [shared, "thumbs/a_0.jpg", "images/never-named.jpg"]
    assert store.unused_paths(paths) == ["thumbs/a_0.jpg", "images/never-named.jpg"]
    assert store.unused_paths([]) == []


def test_every_connection_writes_through_to_disk_on_commit(store: LogStore) -> None:
    """The docstring promises a committed row survives a power cut: WAL with synchronous=FULL
    (2) on every pooled connection, not only the first. (PostgreSQL's own default, fsync on
    commit, is the server's to keep.)"""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's per-connection durability setting")
    conns = [store.engine.connect() for _ in range(3)]
    try:
        for conn in conns:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        for conn in conns:
            conn.close()


def test_unused_paths_sees_another_spelling_of_the_same_file(store: LogStore) -> None:
    """An imported row may name a file as images//d/./x.jpg or with backslashes: still the
    same file, so deleting the original row must keep it."""
    original = "images/2026-11-26/abc_0.jpg"
    store.delete([store.append(full_row(image_paths=[original], thumb_paths=[]))])
    for alias in ("images//2026-11-26/./abc_0.jpg", "images\\2026-11-26\\abc_0.jpg"):
        other = store.append(full_row(image_paths=[alias], thumb_paths=[]))
        assert store.unused_paths([original]) == []
        store.delete([other])
    assert store.unused_paths([original]) == [original]
